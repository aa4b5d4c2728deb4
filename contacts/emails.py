"""Sending email: every message the system sends goes through email_send and is logged.

An email describes a committed change, and no email goes out without its log
row: email_send sends once the caller's transaction commits, then writes the
log. A change that is rolled back sends nothing and logs nothing.
"""

import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from contacts.models import EmailLog

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_send(
    *,
    kind: str,
    to,
    subject: str,
    template: str,
    context: dict,
    organization=None,
    connection=None,
    save: bool = True,
) -> EmailLog:
    """Send one text-and-HTML email to a person once the transaction commits, and log it then.

    The message is written now, from the change as it stands; it is sent when
    the caller's transaction commits (at once when none is open, as in a
    management command), and its log row is saved right after, in its own
    transaction. The returned log is filled in and saved at that moment.

    A failure to send is logged with its error, not raised: the change that
    caused the email stands, and the log shows who did not get it.

    With save=False the email is sent at once and the log returned unsaved, for
    a caller that sends many emails and writes their logs together with
    bulk_create. That caller runs outside any transaction (see
    reminders.reminders_send), so its logs are committed as soon as it writes them.
    """
    context = {"person": to, "organization": organization, "SUPPORT_EMAIL": settings.SUPPORT_EMAIL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    log = EmailLog(kind=kind, to_email=to.email, recipient=to, organization=organization, subject=subject)
    if not save:
        _deliver(message, log)
        return log
    # robust: one email that cannot be delivered or logged does not stop the others of the commit.
    transaction.on_commit(partial(_deliver_and_log, message, log), robust=True)
    return log


def _deliver(message: EmailMultiAlternatives, log: EmailLog) -> None:
    """Send the message and record the outcome on its (unsaved) log."""
    log.sent_at = timezone.now()
    try:
        message.send()
    except Exception as exc:  # SMTP errors, refused addresses, timeouts: all are logged alike.
        logger.warning("Email %s to %s failed: %s", log.kind, log.to_email, exc)
        log.status = EmailLog.Status.FAILED
        log.error = f"{type(exc).__name__}: {exc}"


def _deliver_and_log(message: EmailMultiAlternatives, log: EmailLog) -> None:
    _deliver(message, log)
    log.save()
