"""Work the accounts pages hand to the worker (django-tasks), so that no page's time depends on who has an account."""

from django_tasks import task


@task()
def password_reset_request(email: str) -> str:
    """Email a reset link to whoever may sign in with this address; nobody when no one may."""
    from accounts.forms import LoggedPasswordResetForm

    form = LoggedPasswordResetForm({"email": email})
    if not form.is_valid():
        return "invalid address"
    form.send_links()
    return "done"
