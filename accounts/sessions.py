"""The site's session engine: Django's database sessions, loaded together with the signed-in person.

Every signed-in request loads its session, then its person: two queries, each a
round trip. Here the session row (accounts.models.Session) names its person,
so `load()` reads both in one written-out query: the session's data, and the
person's row with "holds an access role" exactly as accounts.backends asks it.
AuthenticationMiddleware (accounts.middleware) lets EmailBackend.get_user take
that person instead of querying again, only when it is the person the
session's own data names. Everything else (saving, rotating the key, expiry,
clearsessions) is Django's.
"""

import functools
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

# The session whose person get_user may take: set only while auth.get_user runs for a request.
_session_of_request = ContextVar("session_of_request", default=None)
NOT_LOADED = object()


class SessionStore(db.SessionStore):
    # (the session row's person id, that person or None), once load() has run.
    person_loaded = None

    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        instance.person_id = person_pk(data.get(SESSION_KEY))
        return instance

    def load(self):
        """The session's data, or {} (and no key, so a new one is made) when it is missing or expired."""
        if self.session_key is None:
            return {}
        from accounts.backends import person_from_row

        alias = router.db_for_read(self.model)
        connection = connections[alias]
        sql, params = _session_and_person_sql()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        *person_row, session_data, person_id = row
        self.person_loaded = (person_id, person_from_row(alias, person_row))
        return self.decode(session_data)


@functools.cache
def _session_and_person_sql() -> tuple[str, list[str]]:
    """The one query of load(), with its parameters before the key and the time: the same on every request."""
    from accounts.backends import person_and_access_columns
    from accounts.models import Session

    columns, params = person_and_access_columns()
    sessions, people = Session._meta.db_table, get_user_model()._meta.db_table
    sql = (
        f'SELECT {columns}, "{sessions}"."session_data", "{sessions}"."person_id"'
        f' FROM "{sessions}" LEFT JOIN "{people}" ON "{people}"."id" = "{sessions}"."person_id"'
        f' WHERE "{sessions}"."session_key" = %s AND "{sessions}"."expire_date" > %s'
    )
    return sql, params


def person_pk(value) -> int | None:
    """The primary key a session's user id names, or None when it is not one (it names nobody)."""
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


@contextmanager
def person_from(session):
    """While this runs, loaded_person() answers from this session (accounts.middleware's get_user)."""
    token = _session_of_request.set(session)
    try:
        yield
    finally:
        _session_of_request.reset(token)


def loaded_person(pk):
    """The person with this pk as the current request's session loaded it, or NOT_LOADED."""
    loaded = getattr(_session_of_request.get(), "person_loaded", None)
    if loaded is None or loaded[0] is None or loaded[0] != pk:
        return NOT_LOADED
    return loaded[1]
