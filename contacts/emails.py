"""Sending email: every message the system sends goes through the email log, an outbox.

No email goes out without its log row, and a row never claims more than
happened. email_send writes the row queued in the caller's transaction and
sends once that commits, then marks the row sent or failed. A change that is
rolled back takes its row with it and sends nothing. A row left queued (the
process stopped between the commit and the send, or before the outcome was
written) says the email was not confirmed sent.

Callers that send many emails at once (reminders.reminders_send) use the
steps themselves: email_prepare, save the logs together, email_deliver each,
then save the outcomes together.
"""

import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from contacts.models import EmailLog

logger = logging.getLogger(__name__)

# The fields email_deliver fills in, for save(update_fields=...) and bulk_update.
OUTCOME_FIELDS = ["status", "sent_at", "error"]


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


@dataclass(frozen=True)
class OutgoingEmail:
    """A message written and not sent yet, with its queued (unsaved) log row."""

    message: EmailMultiAlternatives
    log: EmailLog


def email_prepare(
    *, kind: str, to, subject: str, template: str, context: dict, organization=None, connection=None
) -> OutgoingEmail:
    """Write the text-and-HTML email to a person from the change as it stands; nothing is sent or saved."""
    context = {"person": to, "organization": organization, "SUPPORT_EMAIL": settings.SUPPORT_EMAIL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    log = EmailLog(
        kind=kind,
        to_email=to.email,
        recipient=to,
        organization=organization,
        subject=subject,
        status=EmailLog.Status.QUEUED,
    )
    return OutgoingEmail(message, log)


def email_deliver(outgoing: OutgoingEmail) -> None:
    """Hand the message to the mail server and record the outcome on its log (not saved).

    A failure to send is recorded with its error, not raised: the change that
    caused the email stands, and the log shows who did not get it.
    """
    log = outgoing.log
    log.sent_at = timezone.now()
    try:
        outgoing.message.send()
    except Exception as exc:  # SMTP errors, refused addresses, timeouts: all are logged alike.
        logger.warning("Email %s to %s failed: %s", log.kind, log.to_email, exc)
        log.status = EmailLog.Status.FAILED
        log.error = f"{type(exc).__name__}: {exc}"
    else:
        log.status = EmailLog.Status.SENT
        log.error = ""


def email_send(
    *, kind: str, to, subject: str, template: str, context: dict, organization=None, connection=None
) -> EmailLog:
    """Log one email as queued now, in the caller's transaction; send it once that commits.

    The message is written now, from the change as it stands, and its log row
    saved queued. When the transaction commits (at once when none is open, as
    in a management command or the admin's lists) the email is sent and the
    row, which is the returned log, updated to sent or failed.
    """
    outgoing = email_prepare(
        kind=kind,
        to=to,
        subject=subject,
        template=template,
        context=context,
        organization=organization,
        connection=connection,
    )
    outgoing.log.save()
    # robust: one email that cannot be delivered or recorded does not stop the others of the commit.
    transaction.on_commit(partial(_deliver_and_record, outgoing), robust=True)
    return outgoing.log


def _deliver_and_record(outgoing: OutgoingEmail) -> None:
    email_deliver(outgoing)
    outgoing.log.save(update_fields=OUTCOME_FIELDS)
