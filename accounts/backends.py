import functools
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connections, router

from accounts.sessions import NOT_LOADED, loaded_person, person_pk
from contacts.models import ACCESS_ROLES, ContactRole
from pars.addresses import email_lookup_key


def _holds_an_access_role() -> tuple[str, list[str]]:
    """SQL and parameters: EXISTS (a role that grants access) for the person of the outer query."""
    roles = ContactRole._meta.db_table
    people = get_user_model()._meta.db_table
    placeholders = ", ".join(["%s"] * len(ACCESS_ROLES))
    return (
        f'EXISTS (SELECT 1 FROM "{roles}" WHERE "{roles}"."person_id" = "{people}"."id"'
        f' AND "{roles}"."role" IN ({placeholders}))',
        [str(role) for role in ACCESS_ROLES],
    )


@functools.cache
def person_and_access_columns() -> tuple[str, list[str]]:
    """The columns of the signed-in person's row and whether they hold an access role, with their parameters.

    Written out, not built with the ORM: this runs on every signed-in request
    (accounts.sessions reads it along with the session), and building and
    compiling the query cost more than running it (measured on PostgreSQL:
    0.71 ms per lookup through annotate().filter().first(), 0.33 ms written
    out; on SQLite 0.45 against 0.10). The row becomes a person through
    person_from_row.
    """
    people = get_user_model()._meta.db_table
    holds_role, params = _holds_an_access_role()
    columns = ", ".join(f'"{people}"."{field.column}"' for field in get_user_model()._meta.concrete_fields)
    return f'{columns}, {holds_role} AS "may_sign_in"', params


class _PersonRow(NamedTuple):
    """How a row of person_and_access_columns() becomes a person on one database: worked out once."""

    attnames: tuple[str, ...]
    pk_index: int
    converters: list[tuple[int, object, list]]  # (column index, its expression, the database's converters)


@functools.cache
def _person_row(alias: str) -> _PersonRow:
    """The person's field names in column order, where the primary key is, and for each column that needs
    them the converters the ORM's compiler applies to it (SQLite's text to datetime, for one)."""
    connection = connections[alias]
    model = get_user_model()
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, column, found))
    return _PersonRow(tuple(field.attname for field in fields), fields.index(model._meta.pk), converters)


def person_from_row(alias: str, row) -> object | None:
    """The person, with may_sign_in, from a row that starts with person_and_access_columns(); None when
    the row names nobody (a LEFT JOIN that found no person).

    Model.from_db, as the ORM builds a person, without raw()'s matching of
    columns to fields by name on every request (on SQLite, in process, it took
    0.13 ms of the 0.19 ms a signed-in request spent loading its session).
    """
    layout = _person_row(alias)
    if row[layout.pk_index] is None:
        return None
    values = list(row[: len(layout.attnames)])
    connection = connections[alias]
    for index, column, converters in layout.converters:
        for converter in converters:
            values[index] = converter(values[index], column, connection)
    person = get_user_model().from_db(alias, layout.attnames, values)
    person.may_sign_in = bool(row[len(layout.attnames)])
    return person


@functools.cache
def _person_sql() -> tuple[str, list[str]]:
    """The signed-in person by id, when the session did not read them along with itself."""
    columns, params = person_and_access_columns()
    people = get_user_model()._meta.db_table
    return f'SELECT {columns} FROM "{people}" WHERE "{people}"."id" = %s', params


class EmailBackend(ModelBackend):
    """Sign-in by email address, whatever its case, for people who may sign in.

    The person is found through get_by_natural_key, which matches the email's
    canonical form (pars.addresses); an unusable password never matches, so invited contacts
    who have not set a password cannot sign in. Beyond an active account, a
    person needs a role that grants access somewhere (every role but Billing
    and CEO), or to be CME staff: a former contact cannot sign in at all.

    The same rule holds on every later request, so a person removed from their
    last such role is signed out at once: get_user loads the signed-in person
    and answers the role question in one query, not two, or takes both as the
    session's own query read them (accounts.sessions).
    """

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        if user.is_staff:
            return True
        may_sign_in = getattr(user, "may_sign_in", None)
        if may_sign_in is not None:
            return bool(may_sign_in)
        return user.contact_roles.filter(role__in=ACCESS_ROLES).exists()

    def get_user(self, user_id):
        pk = person_pk(user_id)
        if pk is None:
            return None
        user = loaded_person(pk)
        if user is NOT_LOADED:
            sql, params = _person_sql()
            alias = router.db_for_read(get_user_model())
            with connections[alias].cursor() as cursor:
                cursor.execute(sql, [*params, pk])
                row = cursor.fetchone()
            user = person_from_row(alias, row) if row else None
        return user if user is not None and self.user_can_authenticate(user) else None


# django-axes stores the address in a column of 255 characters; PostgreSQL refuses a longer one.
THROTTLE_USERNAME_MAX_LENGTH = 255


def throttle_username(request, credentials=None) -> str:
    """The address django-axes counts failed sign-ins against: the one sign-in looks the account up by
    (its canonical form, so every spelling of one mailbox shares one allowance), at most 255 characters."""
    source = credentials or getattr(request, "POST", {})
    username = source.get("username")
    return email_lookup_key(username or "")[:THROTTLE_USERNAME_MAX_LENGTH]
