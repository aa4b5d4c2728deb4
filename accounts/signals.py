import time

from django.contrib.auth import user_logged_in
from django.contrib.auth.models import update_last_login
from django_otp import user_has_device

from accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT, TWO_FACTOR_ENROLLED, session_limits


def last_login_update_without_history(sender, user, **kwargs):
    """Record the sign-in time without a history row: last_login is not history.

    Django's own receiver saves the user on every sign-in, which
    django-simple-history would record as a change of the person's details.
    """
    user.skip_history_when_saving = True
    try:
        update_last_login(sender, user, **kwargs)
    finally:
        del user.skip_history_when_saving


def session_start(sender, request, user, **kwargs):
    """Start the session's clocks (accounts.middleware) and note whether the person needs a second factor."""
    if request is None or not hasattr(request, "session"):
        return
    now = int(time.time())
    _, absolute = session_limits(user)
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now
    request.session[TWO_FACTOR_ENROLLED] = user.is_staff or user_has_device(user)
    # The cookie and the stored session outlive no session's absolute limit; the middleware
    # ends the session first (idle or absolute) and says so.
    request.session.set_expiry(absolute)


def connect():
    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    user_logged_in.connect(last_login_update_without_history, dispatch_uid="accounts_update_last_login")
    user_logged_in.connect(session_start, dispatch_uid="accounts_session_start")
