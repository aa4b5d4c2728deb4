"""Sending email: every message goes through the email log (the outbox) and a worker.

No page waits on the mail server. email_send writes the message and its log row
queued, and enqueues its delivery task (django-tasks, database backend), all in
the caller's transaction: a change that is rolled back leaves neither a row nor
a task. A worker (manage.py db_worker) runs email_deliver, which

- claims the row with one conditional UPDATE (queued and due, or sending with
  an expired lease), so two workers never both send it;
- hands it to the mail server with its own connection (EMAIL_TIMEOUT bounds it);
- marks it sent; or, after a transient failure (timeout, refused connection,
  4xx reply), queued again for EMAIL_RETRY_DELAYS later; or failed, after a
  permanent one (a 5xx refusal of the recipient or the message) or the last
  attempt.

Crash safety comes from the framework's own deferred tasks. Each time an email
is scheduled, a second "guard" task is enqueued a lease later, and each claim
enqueues one for when the lease ends. A worker killed while sending leaves the
row sending; the guard finds the lease expired and sends it again. So delivery
is at-least-once: the one email in flight when a worker dies may go out twice.
A worker told to stop (SIGTERM) finishes the email in hand (db_worker's graceful
stop); told twice, it releases the email (queued again) and exits.

email_send also applies EMAIL_LIMITS: past the limit for its kind and address,
the email is logged suppressed, with the reason, and not sent.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timesince
from django_tasks import task

from contacts.models import EmailLog
from pars.validators import single_line

logger = logging.getLogger(__name__)

Status = EmailLog.Status

OVER_LIMIT = "Not sent: this address already had {count} {kind} emails within {window}, the limit."
WORKER_STOPPED = "The worker stopped while sending; it will be tried again."
RESENT = "Queued again by {by}."
BOUNCING = "Not sent: email to this address bounces (since {since}); waiting for the address to be corrected."
# Reminders and notices skip a bouncing address. Invitations and password resets are asked for by a person
# (or CME staff) about that very address, so they still go.
SKIPPED_WHEN_BOUNCING = {
    EmailLog.Kind.REMINDER,
    EmailLog.Kind.PRIMARY_HANDOVER,
    EmailLog.Kind.ROLE_ADDED,
    EmailLog.Kind.ROLE_REMOVED,
    EmailLog.Kind.DETAILS_CHANGED,
}


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_prepare(
    *, kind: str, to, subject: str, template: str, context: dict, organization=None, to_email: str | None = None
) -> EmailLog:
    """Write the text-and-HTML email to a person from the change as it stands, on an unsaved queued log row.

    The subject is made one line: a line break in an organization's name must
    not break the email (BadHeaderError) or forge a header. to_email: another
    address of the person than the one they sign in with (a new address to
    confirm, or the one just replaced); its bounce flag is not the person's.
    """
    context = {"person": to, "organization": organization, "SUPPORT_EMAIL": settings.SUPPORT_EMAIL, **context}
    now = timezone.now()
    log = EmailLog(
        kind=kind,
        to_email=to_email or to.email,
        recipient=to,
        organization=organization,
        subject=single_line(subject)[:255],
        body_text=render_to_string(f"emails/{template}.txt", context),
        body_html=render_to_string(f"emails/{template}.html", context),
        status=Status.QUEUED,
        queued_at=now,
        next_attempt_at=now,
        sent_at=now,
    )
    bouncing = None if to_email else getattr(to, "email_bouncing_since", None)
    if bouncing and kind in SKIPPED_WHEN_BOUNCING:
        log.status, log.next_attempt_at = Status.SUPPRESSED, None
        log.error = BOUNCING.format(since=timezone.localdate(bouncing).isoformat())
    return log


def recipients_lock(people) -> None:
    """Lock the rows of everyone a change is about to email, all at once and in id order.

    The per-address limits lock each recipient's row as its email is queued. A
    change that emails several people (the hand-over: the new and the previous
    primary) takes their locks first, in one order, so that two changes emailing
    the same two people in opposite roles wait for each other instead of
    deadlocking (seen on PostgreSQL in make soak).
    """
    ids = sorted({person.pk for person in people if person is not None and person.pk})
    list(
        get_user_model()
        .objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _over_limit(log: EmailLog) -> str:
    """The reason this email would exceed EMAIL_LIMITS for its kind and address, or ""."""
    limit = settings.EMAIL_LIMITS.get(log.kind)
    if not limit:
        return ""
    count, seconds = limit
    if log.recipient_id:
        # Serialize the emails to one person, so two requests at once cannot both pass the count.
        get_user_model().objects.select_for_update(no_key=True).filter(pk=log.recipient_id).first()
    recent = EmailLog.objects.filter(
        to_email__iexact=log.to_email, kind=log.kind, queued_at__gt=log.queued_at - timedelta(seconds=seconds)
    ).exclude(status=Status.SUPPRESSED)
    if recent.count() < count:
        return ""
    window = timesince(log.queued_at - timedelta(seconds=seconds), log.queued_at)
    return OVER_LIMIT.format(count=count, kind=log.get_kind_display().lower(), window=window)


def email_send(
    *, kind: str, to, subject: str, template: str, context: dict, organization=None, to_email: str | None = None
) -> EmailLog:
    """Queue one email in the caller's transaction (or its own): the log row and its delivery task.

    Returns the saved log: queued, or suppressed (with the reason) when over
    the limit for its kind and address. to_email: as for email_prepare.
    """
    log = email_prepare(
        kind=kind,
        to=to,
        subject=subject,
        template=template,
        context=context,
        organization=organization,
        to_email=to_email,
    )
    if log.status == Status.SUPPRESSED:
        log.save()
        logger.info("Email %s to %s suppressed: %s", kind, log.to_email, log.error)
        return log
    with transaction.atomic():
        reason = _over_limit(log)
        if reason:
            log.status, log.error, log.next_attempt_at = Status.SUPPRESSED, reason, None
            log.save()
            logger.info("Email %s to %s suppressed: %s", kind, log.to_email, reason)
            return log
        log.save()
        _schedule(log.pk, at=log.next_attempt_at)
    return log


def emails_queue(logs: list[EmailLog]) -> None:
    """Queue many prepared emails at once (the reminders), in the caller's transaction; no limits apply."""
    EmailLog.objects.bulk_create(logs)
    for log in logs:
        if log.status == Status.QUEUED:
            _schedule(log.pk, at=log.next_attempt_at)


def _lease() -> timedelta:
    return timedelta(seconds=settings.EMAIL_LEASE_SECONDS)


def _schedule(log_id: int, *, at) -> None:
    """Enqueue the delivery at `at`, and a guard a lease later in case the worker running it dies."""
    if at <= timezone.now():
        email_deliver.enqueue(log_id)
    else:
        email_deliver.using(run_after=at).enqueue(log_id)
    email_deliver.using(run_after=at + _lease()).enqueue(log_id)


@task()
def email_deliver(log_id: int) -> str:
    """Deliver one queued email if it is due and nobody holds it; the outcome, in a word, for the task's result."""
    return email_attempt(log_id)


@dataclass(frozen=True)
class _Claim:
    log: EmailLog
    attempt: int


def _claim(log_id: int) -> _Claim | None:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(status=Status.SENDING, claimed_until__lt=now)
    with transaction.atomic():
        claimed = (
            EmailLog.objects.filter(claimable, pk=log_id)
            .order_by()
            .update(status=Status.SENDING, claimed_until=now + _lease(), attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        # If this worker dies while sending, this guard takes the email over when the lease ends.
        email_deliver.using(run_after=now + _lease() + timedelta(seconds=1)).enqueue(log_id)
    log = EmailLog.objects.get(pk=log_id)
    return _Claim(log, log.attempts)


def email_message(log: EmailLog) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=log.subject, body=log.body_text, to=[log.to_email])
    if log.body_html:
        message.attach_alternative(log.body_html, "text/html")
    return message


def email_attempt(log_id: int) -> str:
    """Claim the email, hand it to the mail server and record what happened."""
    claim = _claim(log_id)
    if claim is None:
        return "not due"
    try:
        email_message(claim.log).send()
    except Exception as exc:  # SMTP errors, refused addresses, timeouts, bad headers: each is classified.
        return _record_failure(claim, exc)
    except BaseException:
        # The worker is being stopped (a second SIGTERM or Ctrl-C): let another take the email now.
        _release(claim)
        raise
    _finish(claim, status=Status.SENT, sent_at=timezone.now(), error="", next_attempt_at=None)
    return "sent"


def _release(claim: _Claim) -> None:
    now = timezone.now()
    with transaction.atomic():
        if _finish(claim, status=Status.QUEUED, next_attempt_at=now, error=WORKER_STOPPED):
            _schedule(claim.log.pk, at=now)


def is_transient(exc: Exception) -> bool:
    """True for a failure worth trying again: the server or the network, not the recipient or the message.

    A 5xx refusal of every recipient, or of the message, is permanent; so is an
    email Python cannot even write (a bad header). A 4xx reply, a timeout, a
    refused or dropped connection, and server-level refusals (authentication,
    greeting) are transient: they may work later, or once the settings are fixed.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, OSError)  # every other SMTP error, socket errors and timeouts


def _record_failure(claim: _Claim, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    delays = settings.EMAIL_RETRY_DELAYS
    now = timezone.now()
    if is_transient(exc) and claim.attempt <= len(delays):
        retry_at = now + timedelta(seconds=delays[claim.attempt - 1])
        logger.warning(
            "Email %s to %s failed (attempt %s), retrying: %s", claim.log.pk, claim.log.to_email, claim.attempt, error
        )
        with transaction.atomic():
            if _finish(claim, status=Status.QUEUED, next_attempt_at=retry_at, error=error, sent_at=now):
                _schedule(claim.log.pk, at=retry_at)
        return "retry"
    logger.warning("Email %s to %s failed for good: %s", claim.log.pk, claim.log.to_email, error)
    _finish(claim, status=Status.FAILED, error=error, sent_at=now, next_attempt_at=None)
    return "failed"


def _finish(claim: _Claim, **outcome) -> bool:
    """Record the outcome of this claim; False when the lease was lost to another worker meanwhile."""
    return bool(
        EmailLog.objects.filter(pk=claim.log.pk, status=Status.SENDING, attempts=claim.attempt)
        .order_by()
        .update(claimed_until=None, **outcome)
    )


def emails_resend(*, logs, by) -> list[EmailLog]:
    """Queue failed emails again, each with a fresh set of attempts; the others are left as they are.

    Returns the emails queued again.
    """
    now = timezone.now()
    resent = []
    with transaction.atomic():
        for log in EmailLog.objects.select_for_update().filter(pk__in=[log.pk for log in logs], status=Status.FAILED):
            log.status, log.attempts, log.next_attempt_at = Status.QUEUED, 0, now
            log.error = RESENT.format(by=by)
            log.save(update_fields=["status", "attempts", "next_attempt_at", "error"])
            _schedule(log.pk, at=now)
            resent.append(log)
    return resent


def oldest_queued_age(now=None) -> timedelta | None:
    """How long the oldest email due now has waited for a worker; None when none waits."""
    now = now or timezone.now()
    oldest = (
        EmailLog.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return now - oldest if oldest else None


def invitations_latest(people_ids) -> dict[int, EmailLog]:
    """Each person's latest invitation email (any organization), in one query: for the Profile tab's roster."""
    latest = {}
    logs = EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION, recipient__in=people_ids).order_by(
        "-queued_at", "-pk"
    )
    for log in logs.only("recipient_id", "status", "sent_at", "queued_at", "attempts", "error"):
        latest.setdefault(log.recipient_id, log)
    return latest
