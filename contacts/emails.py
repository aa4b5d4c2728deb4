"""Sending email: every message the system sends goes through email_send and is logged."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

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
    """Send one text-and-HTML email to a person and record it in the email log.

    A failure to send is logged with its error, not raised: the change that
    caused the email stands, and the log shows who did not get it. With
    save=False the log is returned unsaved, for a caller that sends many
    emails and writes their logs together with bulk_create.
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
    try:
        message.send()
    except Exception as exc:  # SMTP errors, refused addresses, timeouts: all are logged alike.
        logger.warning("Email %s to %s failed: %s", kind, to.email, exc)
        log.status = EmailLog.Status.FAILED
        log.error = f"{type(exc).__name__}: {exc}"
    if save:
        log.save()
    return log
