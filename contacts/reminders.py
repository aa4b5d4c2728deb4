"""The "It's time to update your contact information" reminders.

reminders_send holds the rule once; the send_contact_reminders command (run by
cron) and the admin action both call it. An organization is reminded when its
contacts are stale and it has not been sent a reminder within
CONTACTS_REMINDER_INTERVAL_DAYS, so running it again sends only what is missing.

The email log is an outbox (contacts.emails), written a batch at a time: the
batch's logs are saved queued and committed, the emails sent over the run's one
connection, then the outcomes (sent or failed) saved together. So a run works
outside any transaction: the cron command has none, and the admin's list runs
outside the request's (accounts.admin.StaffModelAdmin). Inside one, the queued
logs would not be committed before their emails go out, and a rollback would
take back the logs of emails already sent; reminders_send refuses instead.

Only a sent reminder counts as "reminded". A queued one younger than
QUEUED_HOLDS_FOR is being sent by another run, so this run leaves it alone; an
older one belongs to a run that stopped (a crash between saving the batch and
recording its outcomes) and no longer holds the organization back. The next run
then sends a new reminder: after a crash an organization may get a duplicate,
never no reminder at all.
"""

import smtplib
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format

from contacts.emails import OUTCOME_FIELDS, OutgoingEmail, absolute_url, email_deliver, email_prepare
from contacts.models import ROLE_PURPOSES, EmailLog, Organization, Role

SUBJECT = "It's time to update your contact information"
MAIL_SERVER_UNREACHABLE = "Could not connect to the mail server: {error}"
INSIDE_A_TRANSACTION = "reminders_send sends and logs batch by batch: call it outside any transaction."
# The error recorded on the emails of a batch that the run did not get to.
RUN_STOPPED = "Not sent: the run stopped before this email ({error})."
# Organizations handled per batch: one SELECT of organizations, one of their
# roles, one INSERT of the queued logs and one UPDATE of their outcomes (100
# logs x 9 columns, and 100 x 3 outcomes with their ids, stay under SQLite's 999
# parameters).
BATCH_SIZE = 100
# A batch's emails are sent within minutes; a reminder queued longer ago than
# this was left behind by a run that stopped, and does not hold back the next.
QUEUED_HOLDS_FOR = timedelta(minutes=10)


class SkipReason(models.TextChoices):
    NOT_STALE = "not_stale", "contacts confirmed within the period"
    REMINDED = "reminded", "already reminded within the interval"
    QUEUED = "queued", "reminder being sent by another run"
    NO_PRIMARY = "no_primary", "no Primary Contact"


class MailServerUnreachable(Exception):
    """The run could not reach the mail server; what it sent is logged, the rest waits for the next run."""


@dataclass(frozen=True)
class Reminder:
    """One organization's reminder: sent, failed (with its error), or due in a dry run."""

    organization_id: int
    organization_name: str
    provider_id: str
    to_email: str
    error: str = ""

    def __str__(self):
        text = f"{self.organization_name} ({self.provider_id}) to {self.to_email}"
        return f"{text}: {self.error}" if self.error else text


@dataclass(frozen=True)
class Skip:
    organization_id: int
    organization_name: str
    provider_id: str
    reason: SkipReason
    on: date | None = None

    @property
    def detail(self) -> str:
        """Why it is skipped, in words (the admin's confirmation page shows it in its own column)."""
        return {
            SkipReason.NOT_STALE: f"contacts confirmed on {_day(self.on)}",
            SkipReason.REMINDED: f"reminded on {_day(self.on)}",
            SkipReason.QUEUED: f"reminder queued on {_day(self.on)}, being sent by another run",
            SkipReason.NO_PRIMARY: "no Primary Contact",
        }[self.reason]

    def __str__(self):
        return f"{self.organization_name} ({self.provider_id}): {self.detail}"


@dataclass
class ReminderResult:
    dry_run: bool
    due: list[Reminder] = field(default_factory=list)  # a dry run's "would be emailed"
    sent: list[Reminder] = field(default_factory=list)
    failed: list[Reminder] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[SkipReason, int]:
        counts = Counter(skip.reason for skip in self.skipped)
        return {reason: counts[reason] for reason in SkipReason if counts[reason]}

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {reason.label}" for reason, n in self.skipped_by_reason().items())
        skipped = f"{len(self.skipped)} skipped" + (f" ({reasons})" if reasons else "")
        if self.dry_run:
            return f"Dry run: {len(self.due)} would be emailed, {skipped}. Nothing was sent or logged."
        return f"{len(self.sent)} sent, {skipped}, {len(self.failed)} failed."


def _day(moment) -> str:
    return date_format(moment, "F j, Y") if moment else "never"


def _local_date(moment) -> date | None:
    return timezone.localdate(moment) if moment else None


def _drops_connection(exc: Exception) -> bool:
    """True when the error left the SMTP connection unusable (not a refused address)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421  # "Service not available, closing transmission channel"
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPNotSupportedError):
        return False
    return isinstance(exc, OSError)  # SMTPServerDisconnected, timeouts, resets


class _RunConnection:
    """The run's one connection to the mail server, reopened only if the server drops it.

    email_send takes it as its connection: EmailMessage.send() only calls
    send_messages(). A refused address leaves the connection as it is.
    """

    def __init__(self, backend):
        self.backend = backend
        self.unreachable: Exception | None = None

    def open(self):
        try:
            self.backend.open()
        except OSError as exc:
            raise MailServerUnreachable(MAIL_SERVER_UNREACHABLE.format(error=exc)) from exc

    def close(self):
        with suppress(OSError):
            self.backend.close()

    def send_messages(self, email_messages):
        try:
            return self.backend.send_messages(email_messages)
        except Exception as exc:
            if _drops_connection(exc):
                self.close()
                try:
                    self.open()
                except MailServerUnreachable as unreachable:
                    self.unreachable = unreachable
            raise


def _last_reminder(status, since):
    return (
        EmailLog.objects.filter(
            organization=OuterRef("pk"), kind=EmailLog.Kind.REMINDER, status=status, sent_at__gt=since
        )
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )


def _with_due(organizations, now):
    """Annotate what decides whether each organization is due, computed in the query: is_stale,
    reminded_at (its last reminder sent within the interval, or None) and queued_at (a
    reminder queued by a run still sending it, or None)."""
    interval = timedelta(days=settings.CONTACTS_REMINDER_INTERVAL_DAYS)
    return organizations.annotate(
        is_stale=Exists(Organization.objects.stale().filter(pk=OuterRef("pk"))),
        reminded_at=Subquery(_last_reminder(EmailLog.Status.SENT, now - interval)),
        queued_at=Subquery(_last_reminder(EmailLog.Status.QUEUED, now - QUEUED_HOLDS_FOR)),
    ).order_by("name", "pk")


def _skip(pk, name, provider_id, confirmed_at, is_stale, reminded_at, queued_at, *, stale_only) -> Skip | None:
    """Why this organization is not due, or None when it is."""
    if stale_only and not is_stale:
        return Skip(pk, name, provider_id, SkipReason.NOT_STALE, _local_date(confirmed_at))
    if reminded_at:
        return Skip(pk, name, provider_id, SkipReason.REMINDED, _local_date(reminded_at))
    if queued_at:
        return Skip(pk, name, provider_id, SkipReason.QUEUED, _local_date(queued_at))
    return None


def _candidates(organizations, now):
    """Every organization in scope with what decides whether it is due, in one query."""
    scope = Organization.objects.all()
    if organizations is not None:
        scope = scope.filter(pk__in=organizations.values("pk"))
    return _with_due(scope, now).values_list(
        "pk", "name", "provider_id", "contacts_confirmed_at", "is_stale", "reminded_at", "queued_at"
    )


def _batches(ids, now):
    """The due organizations with their rosters, BATCH_SIZE at a time (two queries each).

    Each batch is annotated again when it is read, so an organization that
    another run (or the admin) reminded meanwhile is not sent a second one.
    """
    for start in range(0, len(ids), BATCH_SIZE):
        yield (
            _with_due(Organization.objects.filter(pk__in=ids[start : start + BATCH_SIZE]), now)
            .select_related("contacts_confirmed_by")
            .with_roster()
        )


def reminder_context(organization: Organization) -> dict:
    """What the reminder says about one organization; reads only its prefetched roster."""
    return {
        "profile_url": absolute_url(organization.get_absolute_url()),
        "confirmed_at": organization.contacts_confirmed_at,
        "confirmed_by": organization.contacts_confirmed_by,
        "period_days": settings.CONTACTS_CONFIRM_PERIOD_DAYS,
        "roles": [
            {"label": role.label, "purpose": ROLE_PURPOSES[role], "holders": organization.holders(role)}
            for role in Role
        ],
    }


def _refuse_inside_a_transaction():
    """A durable block cannot open inside a caller's transaction (a test's own is allowed)."""
    try:
        with transaction.atomic(durable=True, savepoint=False):
            pass
    except RuntimeError as exc:
        raise RuntimeError(INSIDE_A_TRANSACTION) from exc


def reminders_send(
    *, organizations=None, stale_only: bool = True, dry_run: bool = False, connection=None
) -> ReminderResult:
    """Email the update reminder to the Primary Contact of each organization that is due.

    Due: contacts stale (unless stale_only=False, as for staff who ask for it)
    and no reminder sent within CONTACTS_REMINDER_INTERVAL_DAYS. organizations
    limits the run to a queryset; None means every organization. A dry run
    reads who is due and neither sends nor logs anything.

    All emails go through one connection to the mail server. A refused address
    or an SMTP error is logged as failed and the run goes on; a failed attempt
    counts as not reminded, so the next run retries it. Raises
    MailServerUnreachable if the server cannot be reached at all, and
    RuntimeError if called inside a transaction (see the module's docstring).
    """
    now = timezone.now()
    result = ReminderResult(dry_run=dry_run)
    due_ids = []
    for candidate in _candidates(organizations, now):
        skip = _skip(*candidate, stale_only=stale_only)
        if skip:
            result.skipped.append(skip)
        else:
            due_ids.append(candidate[0])
    if not due_ids:
        return result

    run_connection = None
    if not dry_run:
        _refuse_inside_a_transaction()
        run_connection = _RunConnection(connection or get_connection())
        run_connection.open()
    try:
        for batch in _batches(due_ids, now):
            emails = [
                _reminder_prepare(organization, result, run_connection, stale_only=stale_only) for organization in batch
            ]
            _batch_send([email for email in emails if email], result, run_connection)
    finally:
        if run_connection and connection is None:
            run_connection.close()
    return result


def _reminder_prepare(organization, result, run_connection, *, stale_only) -> OutgoingEmail | None:
    """The organization's reminder, written; or None, with the skip (or a dry run's "due") in result."""
    skip = _skip(
        organization.pk,
        organization.name,
        organization.provider_id,
        organization.contacts_confirmed_at,
        organization.is_stale,
        organization.reminded_at,
        organization.queued_at,
        stale_only=stale_only,
    )
    primary = organization.primary_contact
    if not skip and primary is None:
        skip = Skip(organization.pk, organization.name, organization.provider_id, SkipReason.NO_PRIMARY)
    if skip:
        result.skipped.append(skip)
        return None
    if run_connection is None:
        result.due.append(Reminder(organization.pk, organization.name, organization.provider_id, primary.email))
        return None
    return email_prepare(
        kind=EmailLog.Kind.REMINDER,
        to=primary,
        subject=SUBJECT,
        template="reminder",
        context=reminder_context(organization),
        organization=organization,
        connection=run_connection,
    )


def _batch_send(emails: list[OutgoingEmail], result, run_connection):
    """Save the batch's logs queued, send each email, then save their outcomes: two queries.

    The queued logs are committed before the first email goes out, so no email
    is without its log. If the run stops midway (mail server gone, interrupted),
    the emails it did not get to are recorded as failed with the reason; one
    whose send was cut short stays queued, as nobody knows whether it went out.
    """
    EmailLog.objects.bulk_create([email.log for email in emails])
    tried = 0
    try:
        for email in emails:
            tried += 1
            email_deliver(email)
            log = email.log
            organization = log.organization
            reminder = Reminder(organization.pk, organization.name, organization.provider_id, log.to_email, log.error)
            (result.failed if log.status == EmailLog.Status.FAILED else result.sent).append(reminder)
            if run_connection.unreachable:
                raise run_connection.unreachable
    except BaseException as exc:
        for email in emails[tried:]:
            email.log.status = EmailLog.Status.FAILED
            email.log.error = RUN_STOPPED.format(error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        outcomes = [email.log for email in emails if email.log.status != EmailLog.Status.QUEUED]
        EmailLog.objects.bulk_update(outcomes, OUTCOME_FIELDS)
