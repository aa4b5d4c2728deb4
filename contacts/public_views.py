"""The public directory ("Find a CME Provider"): no sign-in.

Only listed, accredited providers appear, and of the people at each only the
published contact (the Website Contact, else the Primary Contact): name with
credentials, phone and email. The prefetch loads no one else, so no other
person can leak into a page.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Prefetch
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.views.generic import DetailView, ListView, View

from contacts import open_data
from contacts.caching import (
    directory_changed_at_column,
    directory_page_key,
    directory_page_shared,
    directory_version_columns,
)
from contacts.models import ContactRole, Organization, Role
from contacts.public_forms import DirectorySearchForm
from pars.pagination import page_number

PUBLISHED_ROLES = [Role.WEBSITE, Role.PRIMARY]
PUBLISHED_PERSON_FIELDS = ["first_name", "last_name", "credentials", "phone", "email"]


def directory_organizations():
    """Listed, accredited providers with only the holders of the published roles loaded.

    Organization.published_contact() reads self.roles.all(), which this
    prefetch fills in one query, whatever the number of providers.
    """
    published = (
        ContactRole.objects.filter(role__in=PUBLISHED_ROLES)
        .select_related("person")
        .only("organization", "role", "person", *(f"person__{name}" for name in PUBLISHED_PERSON_FIELDS))
        .order_by()
    )
    return Organization.objects.in_directory().prefetch_related(Prefetch("roles", queryset=published))


def directory_accreditors() -> list[str]:
    """The distinct accreditors of the listed providers, for the filter, in one query."""
    return directory_state().accreditors


def directory_accreditors_under(version: str) -> list[str]:
    """The accreditors for the filter, kept in the cache under the directory's version (contacts.caching).

    Every page not served whole from the cache needs them, signed-in visitors'
    included, and they change only when the version does. Read after the version,
    so a list is never older than the version it is kept under. On SQLite the
    query that finds them sorts the listed providers (15 ms at 10,000 providers):
    its partial index is PostgreSQL's only.
    """
    key = f"directory:accreditors:{version}"
    accreditors = cache.get(key)
    if accreditors is None:
        accreditors = directory_accreditors()
        cache.set(key, accreditors, settings.DIRECTORY_CACHE_SECONDS)
    return accreditors


@functools.cache
def _accreditors_and_version_sql() -> tuple[str, tuple]:
    """The query of directory_state, compiled once: it is the same on every visit."""
    listed = Organization.objects.in_directory().order_by("accreditor").values_list("accreditor")
    first, first_params = listed[:1].query.sql_with_params()
    after, after_params = listed.filter(accreditor__gt=RawSQL("previous.name", ()))[:1].query.sql_with_params()
    sql = (
        f"WITH RECURSIVE previous(name) AS (SELECT ({first})"
        f" UNION ALL SELECT ({after}) FROM previous WHERE previous.name IS NOT NULL)"
        f" SELECT previous.name, {directory_changed_at_column()}, {directory_version_columns()}"
        " FROM (SELECT 1) one LEFT JOIN previous ON previous.name IS NOT NULL ORDER BY previous.name"
    )
    return sql, (*first_params, *after_params)


@dataclass(frozen=True)
class DirectoryState:
    """What one query tells about the directory: its accreditors, its cache version, and when it last changed."""

    accreditors: list[str]
    version: str
    changed_at: datetime | None  # None before anything was ever saved


@functools.cache
def _version_sql() -> str:
    return f"SELECT {directory_version_columns()}"


def directory_version() -> str:
    """The directory's cache version alone (contacts.caching): the one query a cached page costs.

    Three probes of the history tables' primary keys. PostgreSQL plans it in a
    fifth of the time of directory_state's query (0.1 ms against 0.5, measured
    with EXPLAIN ANALYZE at 10,000 providers), and planning was most of a cached
    page's cost.
    """
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        return _version_text(cursor.fetchone())


def _version_text(newest_ids) -> str:
    """The version as keys and ETags carry it: the three newest history ids, dotted."""
    return ".".join(str(part) for part in newest_ids)


def directory_state() -> DirectoryState:
    """The accreditors of the listed providers, the directory's cache version and its last change, in one query.

    A plain DISTINCT reads every listed provider (tens of milliseconds at
    100,000). This recursive query asks instead for the first accreditor, then
    for the first one after it, and so on: one probe of the accreditor index
    (migration 0004) per distinct value, a handful in all. The version and the
    time of the last change (contacts.caching) ride along, on every row, or
    alone when none is listed.
    """
    with connection.cursor() as cursor:
        cursor.execute(*_accreditors_and_version_sql())
        rows = cursor.fetchall()
    changed_at, *version = rows[0][1:]
    return DirectoryState(
        accreditors=[name for name, *_ in rows if name is not None],
        version=_version_text(version),
        changed_at=_as_datetime(changed_at),
    )


def _as_datetime(value) -> datetime | None:
    """A timestamp read by raw SQL: PostgreSQL gives a datetime, SQLite the text of one in UTC."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def directory_search(form: DirectorySearchForm):
    """The listed providers a valid search finds, in the directory's order.

    The page shows them a page at a time and the open data (contacts.open_data)
    all at once: both list exactly these, through directory_organizations().
    """
    organizations = directory_organizations()
    # Every word must match, in the name or the city, whatever its case or accents.
    for word in form.search_words():
        organizations = organizations.filter(search_text__contains=word)
    if status := form.cleaned_data["status"]:
        organizations = organizations.filter(accreditation_status=status)
    if accreditor := form.cleaned_data["accreditor"]:
        organizations = organizations.filter(accreditor=accreditor)
    return organizations.order_by("name", "pk")


# The directory counts and pages through at most this many providers: a search that finds more is refined.
RESULTS_CAP = 1000
MORE_THAN_CAP = "More than {cap:,} providers"
REFINE_SEARCH = "Only the first {cap:,} are listed: add a word or a city, or choose a status or an accreditor, to narrow the search."


class CappedPaginator(Paginator):
    """Pages through the first `cap` results only, and counts no further than one past them.

    A count of every match of a short term reads most of the table at 100,000
    providers, and a page deep into the list reads every entry before it. Both
    stop at the cap: a search past it shows "more than 1,000" and asks for a
    narrower one.
    """

    cap = RESULTS_CAP

    @cached_property
    def count(self) -> int:
        # Unordered, so the database may stop as soon as it has found one row past the cap.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        return -(-min(self.count, self.cap) // self.per_page) or 1


class DirectoryView(ListView):
    """Anyone, signed in or not: search the listed, accredited providers.

    A bookmarkable GET form. Input that does not fit (an unknown status, a
    page past the end, page=abc) shows a message or the nearest page, never
    an error page. An anonymous visitor's page is cached per query string
    until any listed organization or person changes (contacts.caching).
    """

    template_name = "contacts/directory.html"
    context_object_name = "organizations"
    paginate_by = 20
    paginator_class = CappedPaginator

    def get(self, request, *args, **kwargs):
        # The version is read before the rows the page is drawn from, so a page is
        # never stored under a newer version than its rows (contacts.caching).
        version = directory_version() if settings.DIRECTORY_CACHE_SECONDS > 0 else None
        key = directory_page_key(request, version) if version and directory_page_shared(request) else None
        if key is not None and (page := cache.get(key)) is not None:
            return HttpResponse(page)
        accreditors = directory_accreditors_under(version) if version else directory_accreditors()
        self.form = DirectorySearchForm(request.GET, accreditors=accreditors)
        response = super().get(request, *args, **kwargs)
        if key is not None:
            response.add_post_render_callback(
                lambda rendered: cache.set(key, rendered.content, settings.DIRECTORY_CACHE_SECONDS)
            )
        return response

    def get_queryset(self):
        if not self.form.is_valid():
            return Organization.objects.none()
        return directory_search(self.form)

    def paginate_queryset(self, queryset, page_size):
        """Like ListView's, but page=abc gives the first page and page=9999 the last (within the cap), not a 404."""
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(page_number(self.request, self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(form=self.form, **kwargs)
        page = context["page_obj"]
        context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        context["searched"] = self.form.is_bound and any(self.form.data.get(key) for key in self.form.fields)
        # The downloads list the same search, every page of it.
        query = self.request.GET.copy()
        query.pop(self.page_kwarg, None)
        context["download_query"] = f"?{query.urlencode()}" if query else ""
        if page.paginator.capped:
            context["more_than_cap"] = MORE_THAN_CAP.format(cap=page.paginator.cap)
            context["refine_search"] = REFINE_SEARCH.format(cap=page.paginator.cap)
        return context


class ProviderDetailView(DetailView):
    """Anyone: one listed, accredited provider and its published contact.

    An unlisted or unaccredited provider answers 404, like one that does not exist.
    """

    template_name = "contacts/provider.html"
    context_object_name = "organization"

    def get_queryset(self):
        return directory_organizations()


class DirectoryDownloadView(View):
    """Anyone: the directory's current result, every page of it, as open data (contacts.open_data).

    The same search and filters as the page, in the same query string; a search
    the page would correct answers 400 with the page's messages.
    """

    kind = "csv"

    def get(self, request):
        state = directory_state()
        form = DirectorySearchForm(request.GET, accreditors=state.accreditors)
        if not form.is_valid():
            errors = {field: list(messages) for field, messages in form.errors.items()}
            return open_data.refused_response(self.kind, errors)
        export = open_data.Export(
            organizations=directory_search(form),
            query={name: form.cleaned_data[name] or None for name in ("q", "status", "accreditor")},
            version=state.version,
            changed_at=state.changed_at,
        )
        return open_data.export_response(request, kind=self.kind, export=export)
