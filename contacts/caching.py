"""What the site caches, and why a cached page is never stale.

The public directory as an anonymous visitor sees it is cached per query string,
for DIRECTORY_CACHE_SECONDS, under the directory's version (Django's cache
framework: local memory by default, the shared cache of CACHE_URL in production,
so every web process sees one cache).

(The Profile tab's roster is not cached: it shows each invitation's delivery
status, which the email worker changes without a history row, and forms
carrying the session's CSRF token.)

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
of the history_date indexes): the open data's Last-Modified and ETag.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from contacts.models import ContactRole, Organization

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
