"""What the site caches, and why a cached page is never stale.

The public directory as an anonymous visitor sees it is cached per query string,
for DIRECTORY_CACHE_SECONDS, under the directory's version (Django's cache
framework: local memory by default, the shared cache of CACHE_URL in production,
so every web process sees one cache).

The Profile tab's roster is cached under a digest of the data it is drawn from
(roster_fragment_key), not a version: it shows each invitation's delivery, which
the email worker changes without a history row. Its forms take the request's
CSRF field after the cache.

A version is read from the database, not bumped by the writers: every save and
delete of an organization, a role or a person writes a history row
(django-simple-history), so the newest history ids are a version that every
change moves, whoever makes it (each service, the admin's forms, the account
pages, a password set from an invitation, a service another issue adds), with
nothing to remember to call. It moves in the writer's transaction, so a reader
sees the new version only together with the new rows: a page drawn from old
rows is never stored under a new version, and no concurrent request can serve
one. A write that makes no history row (QuerySet.update, bulk_create) is not
seen: use simple-history's bulk helpers there.

The directory's version is the newest history id of any organization, role or
person: three index probes, the one query a cached page costs (cheap to plan,
which matters more than running it). A fresh page reads the version first, then
its rows, so its rows are never older than the key it is stored under. The query
of accreditors (contacts.public_views.directory_state) carries the version too,
with the time the newest of those history rows was written (three more probes,
of the history_date indexes): the open data's Last-Modified and ETag. A page not
served whole from the cache takes the accreditors kept under the same version
(contacts.public_views.directory_accreditors_under) instead of that query.
"""

import functools
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from contacts.models import ContactRole, Organization
from pars.context_processors import site_context
from pars.fragments import CSRF_SLOT, csrf_filled

HistoricalContactRole = ContactRole.history.model
HistoricalOrganization = Organization.history.model


def _newest(table: str) -> str:
    """MAX(history_id) of a history table, as SQL for a scalar subquery: one probe of its primary key."""
    return f'(SELECT MAX("history_id") FROM "{table}")'


def _people_history() -> str:
    return get_user_model().history.model._meta.db_table


def _history_tables() -> tuple[str, str, str]:
    return (HistoricalOrganization._meta.db_table, HistoricalContactRole._meta.db_table, _people_history())


def directory_version_columns() -> str:
    """SQL for three columns: the newest history id of every organization, role and person.

    Any change to them moves one, so together they are the directory's version;
    contacts.public_views reads them in the query it needs anyway (the accreditors).
    """
    return ", ".join(_newest(table) for table in _history_tables())


def directory_changed_at_column() -> str:
    """SQL for one column: when the newest history row of any organization, role or person was written.

    The open data's Last-Modified (contacts.open_data). One probe of each history
    table's history_date index, read in the same query as the version.
    """
    newest = " UNION ALL ".join(f'SELECT MAX("history_date") AS "at" FROM "{table}"' for table in _history_tables())
    return f'(SELECT MAX("at") FROM ({newest}) "newest")'


def directory_page_shared(request) -> bool:
    """Whether this request's directory page is the shared, cached one.

    Only an anonymous visitor's page is shared (a signed-in person's layout names
    them), and not while a message waits to be shown on it.
    """
    if settings.DIRECTORY_CACHE_SECONDS <= 0 or request.user.is_authenticated:
        return False
    return not len(get_messages(request))


def directory_page_key(request, version: str) -> str:
    """The cache key of the shared directory page for this request's query string, under this version."""
    query = hashlib.sha256(request.META.get("QUERY_STRING", "").encode()).hexdigest()
    return f"directory:{version}:{query}"


def _fields(instance) -> tuple:
    """Every loaded value of a model instance but a password hash (whether it is usable stands in for it).

    A field the query deferred is left out, not loaded: the page cannot show it either.
    """
    loaded = instance.__dict__
    values = [
        (field.attname, loaded[field.attname])
        for field in instance._meta.concrete_fields
        if field.attname in loaded and field.name != "password"
    ]
    if hasattr(instance, "has_usable_password"):
        values.append(instance.has_usable_password())
    return tuple(values)


ROSTER_TEMPLATE = "contacts/includes/roster.html"


@functools.cache
def _roster_template_digest() -> str:
    """The fragment template's own source, in the key: a deploy that changes it never serves the old drawing."""
    return hashlib.sha256(get_template(ROSTER_TEMPLATE).template.source.encode()).hexdigest()[:16]


def roster_fragment_key(organization, rows, invitations, viewer) -> str:
    """The cache key of an organization's roster as one person sees it: a digest of everything it is drawn from.

    Not a version the writers bump: the key is the data the page has just read
    (every stored field of each role and holder, each pending invitation's
    delivery, which the email worker changes without a history row, the
    vacancies and the viewer, who is marked "You"), so a change of any of
    it, by any writer, gives another key. The cache saves the drawing, which
    is most of the page's time: 11 ms of a 40-person roster's 18 (measured in
    process on the load test's database), against well under 1 ms for the digest.
    """
    parts = [
        _roster_template_digest(),
        organization.pk,
        viewer.pk,
        *site_context().values(),
        timezone.get_current_timezone_name(),
        get_language(),
    ]
    for row in rows:
        parts.append((row["role"].value, row["needed"], row["vacancy"]))
        parts.extend((_fields(held), _fields(held.person)) for held in row["holders"])
    parts.extend((pk, _fields(log)) for pk, log in sorted(invitations.items()))
    return "roster:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def roster_fragment(request, organization, rows, invitations) -> str:
    """The Profile tab's roster (contacts/includes/roster.html), from the cache when nothing it shows changed.

    Drawn without the request, so it is the same for every request with the same
    data; the request's CSRF field goes into its slot afterwards.
    """
    key = roster_fragment_key(organization, rows, invitations, request.user)
    html = cache.get(key) if settings.ROSTER_CACHE_SECONDS > 0 else None
    if html is None:
        html = render_to_string(
            ROSTER_TEMPLATE,
            {
                "organization": organization,
                "roster": rows,
                "invitations": invitations,
                "viewer_pk": request.user.pk,
                **site_context(),
                "csrf_input": mark_safe(CSRF_SLOT),
            },
        )
        if settings.ROSTER_CACHE_SECONDS > 0:
            cache.set(key, html, settings.ROSTER_CACHE_SECONDS)
    return csrf_filled(request, html)
