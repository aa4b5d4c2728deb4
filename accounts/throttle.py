"""Who a failed sign-in counts against: the real client's address, and each email across every address.

django-axes counts failures per (email, client address) up to AXES_FAILURE_LIMIT. On its own
that lets an attacker who rotates addresses guess without end, so ThrottleHandler adds a
second, higher limit per email across all addresses (AXES_FAILURE_LIMIT_PER_EMAIL).
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE): what our outermost trusted proxy saw.

    Every proxy appends the address it received the connection from to X-Forwarded-For,
    so with TRUSTED_PROXY_COUNT proxies in front of gunicorn, the last that many entries
    are theirs and the client is the leftmost of them. Anything further left came from
    the client and may be forged; with no trusted proxy (the default) the header is
    ignored altogether and the address is the connection's.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count or not _is_address(hops[-count]):
        # Not through every proxy we trust (or a proxy wrote nonsense): the connection's address.
        return remote
    return hops[-count]


class ThrottleHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus a lock on an email once it fails too often from any addresses."""

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.email_locked(request, credentials)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and not request.axes_locked_out and self.email_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials

    @staticmethod
    def email_locked(request, credentials=None) -> bool:
        """True once the email's failures within the cool-off, from every address together, reach the limit."""
        username = get_client_username(request, credentials)
        if not username:
            return False
        failures = AccessAttempt.objects.filter(
            username=username, attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(total=Sum("failures_since_start"))["total"]
        return (failures or 0) >= settings.AXES_FAILURE_LIMIT_PER_EMAIL
