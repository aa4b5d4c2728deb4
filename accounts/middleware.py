"""Two rules every request of a signed-in person passes: the session's time limits, then the second factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.middleware import get_user as django_get_user
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode

from accounts.sessions import person_from

SESSION_EXPIRED = "You were signed out: your session was idle too long or reached its time limit. Sign in again."

# Set at sign-in (accounts.signals): when the session began, when it was last used (both
# seconds since the epoch), and whether the person has a two-factor device.
SIGNED_IN_AT = "accounts_signed_in_at"
LAST_SEEN_AT = "accounts_last_seen_at"
TWO_FACTOR_ENROLLED = "accounts_two_factor_enrolled"
# The last-seen time is written at most this often, not on every request.
LAST_SEEN_GRANULARITY = 60


def get_user(request):
    """Django's (auth.get_user, once per request), allowed to take the person the session loaded with itself."""
    with person_from(request.session):
        return django_get_user(request)


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with request.user read through get_user above: one query for session and person, not two.

    Everything else, the session's auth-hash check included, is Django's auth.get_user.
    """

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))


def session_limits(person) -> tuple[int, int]:
    """(idle, absolute) lifetimes in seconds of this person's sessions: shorter for CME staff."""
    if person.is_staff:
        return settings.SESSION_IDLE_MINUTES_STAFF * 60, settings.SESSION_ABSOLUTE_HOURS_STAFF * 3600
    return settings.SESSION_IDLE_MINUTES * 60, settings.SESSION_ABSOLUTE_HOURS * 3600


class SessionLimitsMiddleware:
    """Sign a person out once their session was idle too long or began too long ago.

    A session from before these limits existed has no times: it counts from now.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            self.check(request)
        return self.get_response(request)

    @staticmethod
    def check(request):
        now = int(time.time())
        session = request.session
        idle, absolute = session_limits(request.user)
        signed_in_at = session.setdefault(SIGNED_IN_AT, now)
        last_seen_at = session.setdefault(LAST_SEEN_AT, now)
        if now - last_seen_at > idle or now - signed_in_at > absolute:
            logout(request)
            messages.info(request, SESSION_EXPIRED)
        elif now - last_seen_at >= LAST_SEEN_GRANULARITY:
            session[LAST_SEEN_AT] = now


def two_factor_required(request) -> bool:
    """CME staff always; a provider user once they have turned two-factor sign-in on."""
    user = request.user
    return user.is_authenticated and (user.is_staff or bool(request.session.get(TWO_FACTOR_ENROLLED)))


class TwoFactorRequiredMiddleware:
    """Until a person who needs a second factor has given it, every page sends them to give it.

    Only the two-factor pages themselves, signing out, static files and the health check
    stay open. The code page sends a CME staff member without a device on to enrolment.
    Must come after django-otp's OTPMiddleware, which tells whether the session is verified.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.open_paths = None

    def __call__(self, request):
        if two_factor_required(request) and not request.user.is_verified() and not self.is_open(request.path):
            target = reverse("accounts:two_factor_verify")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)

    def is_open(self, path: str) -> bool:
        if self.open_paths is None:
            self.open_paths = (
                reverse("accounts:two_factor_verify"),
                reverse("accounts:two_factor_setup"),
                reverse("accounts:logout"),
                reverse("admin:logout"),
                reverse("healthz"),
                settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}",
            )
        return path.startswith(self.open_paths)


def two_factor_context(request):
    """Template context: two_factor_pending, while a signed-in person still owes their second factor.

    The layout then offers only signing out: every other link would lead back to the code page.
    """
    user = getattr(request, "user", None)
    return {"two_factor_pending": bool(user and two_factor_required(request) and not user.is_verified())}
