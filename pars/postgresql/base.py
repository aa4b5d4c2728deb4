"""PostgreSQL, with a connection health check that costs no round trip while a connection is in use.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every
request that reuses a persistent connection: a round trip on every request,
measured in `make loadtest` as about 7 % of the signed-in floor page's
throughput. This backend sends it only when there is reason to doubt the
connection, the rule PgBouncer applies to its server connections
(server_check_delay):

- the connection last served a request without error more than
  CONN_HEALTH_CHECK_IDLE_SECONDS ago (or never has), so a connection a firewall
  or the server dropped while it sat idle is tested, and replaced, before use;
- or the server has written to it while it was idle: that is how PostgreSQL
  ends a connection (a restart, pg_terminate_backend, idle_session_timeout
  send a FATAL message, then close the socket), seen with a zero-timeout poll.

What it gives up: a connection that dies silently (no message, no close: a
failover to another machine) within that many seconds of its last good
request fails that request's first query, as it would with no health check at
all; Django then finds it unusable at the end of the request and the next
request gets a new connection.
"""

import select
import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # When the connection was last known to work: made, passed a check, or served a request without error.
    known_good_at = None

    def connect(self):
        super().connect()
        self.known_good_at = time.monotonic()

    def is_usable(self):
        usable = super().is_usable()
        if usable:
            self.known_good_at = time.monotonic()
        return usable

    def close_if_health_check_failed(self):
        checking = self.health_check_enabled and not self.health_check_done and not self.pool
        if checking and self.connection is not None and self.trusted_without_a_check():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def trusted_without_a_check(self) -> bool:
        idle_limit = self.settings_dict.get("CONN_HEALTH_CHECK_IDLE_SECONDS", 0)
        if self.known_good_at is None or time.monotonic() - self.known_good_at > idle_limit:
            return False
        return not self.server_has_written()

    def server_has_written(self) -> bool:
        """Whether the idle connection's socket has anything to read (a message, or the server's close)."""
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        except (OSError, ValueError, self.Database.Error):
            return True

    def close_if_unusable_or_obsolete(self):
        # health_check_done: this request used the connection; errors_occurred: and something failed.
        served = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if served and self.connection is not None:
            self.known_good_at = time.monotonic()
