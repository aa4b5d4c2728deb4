"""The public directory as open data: its current result as CSV and as JSON (format version 1).

"The current result" is every provider the directory page lists for the same
search and filters, on every page (the page parameter is ignored), in the
page's order, up to EXPORT_CAP providers. README "Open data" documents the JSON.

Nothing private can appear. The rows come from the page's own query
(public_views.directory_search, which reads directory_organizations(): only the
published roles are loaded, and of their holders only PUBLISHED_PERSON_FIELDS),
and the published contact is chosen by the page's own method
(Organization.published_contact). Of the organization only
PUBLISHED_ORGANIZATION_FIELDS are loaded: reading another field here would cost
a query per provider, which the pinned query counts would catch.

Validators are cheap and never stale in the way a timestamp alone is: the ETag
is the directory's cache version (contacts.caching), and Last-Modified the time
of the newest history row, rounded up to the whole second (so a second change
within the same second still moves it), never later than now. Both are read by
the one query the directory makes anyway, so a 304 costs that query alone.
"""

import csv
import hashlib
import io
import json
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag

from contacts.exports import spreadsheet_cell
from contacts.models import AccreditationStatus, Organization

FORMAT_VERSION = 1
# At most this many providers in one download: the whole directory of 10,000 organizations, under a second of
# a web worker (make bench BENCH_ARGS=open_data; about 100 µs per provider, half of it the ORM's prefetch). A larger result is cut there and says so
# ("truncated" in the JSON, the X-Truncated header on both); a search or a filter narrows it.
EXPORT_CAP = 10_000
# Providers read per round trip: the published contacts of each chunk come in one more query.
EXPORT_CHUNK = 2_000
PUBLISHED_ORGANIZATION_FIELDS = ["name", "accreditor", "accreditation_status", "city", "state", "website"]

CSV_COLUMNS = [
    "Name",
    "Accreditor",
    "Status",
    "City",
    "State",
    "Website",
    "Contact name",
    "Contact phone",
    "Contact email",
]
TRUNCATED_HEADER = "X-Truncated"
REFUSED = "The search cannot be downloaded: {errors}"


@dataclass(frozen=True)
class PublishedContact:
    name: str  # with credentials, as the page prints it: "Jane Doe, MD"
    phone: str
    email: str


@dataclass(frozen=True)
class Listing:
    """One provider as the directory page shows it, and nothing more."""

    name: str
    accreditor: str
    status: str
    city: str
    state: str
    website: str
    contact: PublishedContact | None

    @classmethod
    def of(cls, organization: Organization) -> "Listing":
        person, _is_fallback = organization.published_contact()
        contact = person and PublishedContact(name=person.display_name, phone=person.phone, email=person.email)
        return cls(
            name=organization.name,
            accreditor=organization.accreditor,
            status=organization.accreditation_status,
            city=organization.city,
            state=organization.state,
            website=organization.website,
            contact=contact,
        )

    @property
    def status_label(self) -> str:
        return AccreditationStatus(self.status).label

    def as_json(self) -> dict:
        """Format version 1: every key always present; an empty text is null."""
        contact = self.contact
        return {
            "name": self.name,
            "accreditor": self.accreditor,
            "status": self.status,
            "status_label": self.status_label,
            "city": self.city or None,
            "state": self.state or None,
            "website": self.website or None,
            "contact": contact and {"name": contact.name, "phone": contact.phone or None, "email": contact.email},
        }

    def as_csv_row(self) -> list[str]:
        contact = self.contact or PublishedContact(name="", phone="", email="")
        values = [self.name, self.accreditor, self.status_label, self.city, self.state, self.website]
        return [spreadsheet_cell(value) for value in [*values, contact.name, contact.phone, contact.email]]


@dataclass(frozen=True)
class Export:
    """A search the directory accepted, ready to be listed: its providers and what it asked for."""

    organizations: QuerySet  # public_views.directory_search
    query: dict[str, str | None]
    version: str
    changed_at: datetime | None  # None before anything was ever saved

    @property
    def last_modified(self) -> int | None:
        """The newest change in seconds since the epoch, rounded up to the whole second HTTP dates carry."""
        return None if self.changed_at is None else math.ceil(self.changed_at.timestamp())

    def listings(self, count: int) -> Iterator[Listing]:
        """The first `count` providers, read EXPORT_CHUNK at a time (a server-side cursor on PostgreSQL)."""
        organizations = self.organizations.only(*PUBLISHED_ORGANIZATION_FIELDS)[:count]
        for organization in organizations.iterator(chunk_size=EXPORT_CHUNK):
            yield Listing.of(organization)

    def count(self) -> int:
        """How many providers the download holds, counting no further than one past the cap."""
        return self.organizations.order_by()[: EXPORT_CAP + 1].count()


def _etag(kind: str, export: Export) -> str:
    digest = hashlib.sha256(f"{FORMAT_VERSION}:{kind}:{export.version}".encode()).hexdigest()[:32]
    return quote_etag(digest)


def export_response(request, *, kind: str, export: Export):
    """The download of `kind` ("csv" or "json"), or 304 when the client's copy is current.

    The 304 is decided before anything is counted or read: it costs no query
    beyond the one that gave `export` its version.
    """
    response = StreamingHttpResponse(content_type=CONTENT_TYPES[kind])
    response["ETag"] = _etag(kind, export)
    if export.last_modified is not None:
        response["Last-Modified"] = http_date(min(export.last_modified, int(time.time())))
    # Anyone may keep a copy, and asks again each time: the answer is usually this cheap 304.
    patch_cache_control(response, public=True, no_cache=True)
    conditional = get_conditional_response(
        request, etag=response["ETag"], last_modified=export.last_modified, response=response
    )
    if conditional is not response:
        return conditional
    count = export.count()
    truncated = count > EXPORT_CAP
    count = min(count, EXPORT_CAP)
    response[TRUNCATED_HEADER] = "true" if truncated else "false"
    if kind == "csv":
        response["Content-Disposition"] = 'attachment; filename="cme-providers.csv"'
    # A HEAD gets the headers alone: no provider is read (the WSGI server would read them all to discard them).
    if request.method != "HEAD":
        response.streaming_content = _stream(kind, export, count=count, truncated=truncated)
    return response


def _stream(kind: str, export: Export, *, count: int, truncated: bool) -> Iterator[bytes]:
    if kind == "csv":
        return _csv_stream(export.listings(count))
    header = {"version": FORMAT_VERSION, "query": export.query, "count": count, "truncated": truncated}
    return _json_stream(header, export.listings(count))


def _batches(listings: Iterable[Listing], size: int = 500) -> Iterator[list[Listing]]:
    batch = []
    for listing in listings:
        batch.append(listing)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_stream(listings: Iterable[Listing]) -> Iterator[bytes]:
    """A header row, then the providers; with a byte-order mark so that spreadsheets read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    for batch in _batches(listings):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(listing.as_csv_row() for listing in batch)
        yield buffer.getvalue().encode()


def _json_stream(header: dict, listings: Iterable[Listing]) -> Iterator[bytes]:
    """{"version": 1, ..., "providers": [...]}, written a batch at a time."""
    yield (json.dumps(header, ensure_ascii=False)[:-1] + ', "providers": [').encode()
    separator = "\n"
    for batch in _batches(listings):
        yield (separator + ",\n".join(json.dumps(listing.as_json(), ensure_ascii=False) for listing in batch)).encode()
        separator = ",\n"
    yield b"\n]}\n"


def refused_response(kind: str, errors: dict[str, list[str]]) -> HttpResponse:
    """400: the search's own messages (the page shows the same ones), in the asked-for format."""
    if kind == "json":
        body = json.dumps({"version": FORMAT_VERSION, "errors": errors}, ensure_ascii=False)
    else:
        body = REFUSED.format(errors=" ".join(message for messages in errors.values() for message in messages))
    return HttpResponse(body, status=400, content_type=ERROR_CONTENT_TYPES[kind])


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
ERROR_CONTENT_TYPES = {"csv": "text/plain; charset=utf-8", "json": "application/json"}
