"""The site's session engine: Django's database sessions, loaded with one written-out query.

Every signed-in request loads its session first. Django's engine builds, compiles
and runs `Session.objects.get(session_key=..., expire_date__gt=now)` to read one
column; this one sends the same SQL, written once. Everything else (saving,
rotating the key, expiry, clearsessions) is Django's, on the same table.
"""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def load(self):
        """The session's data, or {} (and no key, so a new one is made) when it is missing or expired."""
        if self.session_key is None:
            return {}
        connection = connections[router.db_for_read(self.model)]
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "session_data" FROM {table} WHERE "session_key" = %s AND "expire_date" > %s',
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])
