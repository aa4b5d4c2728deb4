from django.contrib.auth import user_logged_in
from django.contrib.auth.models import update_last_login


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


def connect():
    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    user_logged_in.connect(last_login_update_without_history, dispatch_uid="accounts_update_last_login")
