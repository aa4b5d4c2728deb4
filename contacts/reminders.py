"""The "It's time to update your contact information" reminders.

reminders_send holds the rule once; the send_contact_reminders command (run by
cron) and the admin action both call it. An organization is reminded when its
contacts are stale and it has not been sent a reminder within
CONTACTS_REMINDER_INTERVAL_DAYS, so running it again sends only what is missing.

A run only queues: each batch of due organizations is locked, read again and
its reminders queued (log rows and delivery tasks, contacts.emails) in one
transaction; the workers send them. A queued, sending or sent reminder counts as
reminded, so a run killed at any point and run again queues each due reminder
exactly once. A failed one does not count: the next run queues it again.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format

from contacts.emails import absolute_url, email_prepare, emails_queue
from contacts.models import ROLE_PURPOSES, EmailLog, Organization, Role, required_roles

SUBJECT = "It's time to update your contact information"
# Organizations handled per batch (and per transaction): a lock, one SELECT of
# organizations, one of their roles, one INSERT of the logs, then their tasks.
BATCH_SIZE = 100
# Statuses of a reminder that is out or on its way.
PENDING = [EmailLog.Status.QUEUED, EmailLog.Status.SENDING]


class SkipReason(models.TextChoices):
    NOT_STALE = "not_stale", "contacts confirmed within the period"
    REMINDED = "reminded", "already reminded within the interval"
    QUEUED = "queued", "reminder queued, waiting for the worker"
    NO_PRIMARY = "no_primary", "no Primary Contact"
    BOUNCING = "bouncing", "the Primary Contact's email bounces"


@dataclass(frozen=True)
class Reminder:
    """One organization's reminder: queued, or due in a dry run."""

    organization_id: int
    organization_name: str
    provider_id: str
    to_email: str

    def __str__(self):
        return f"{self.organization_name} ({self.provider_id}) to {self.to_email}"


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
            SkipReason.QUEUED: f"reminder queued on {_day(self.on)}, waiting for the worker",
            SkipReason.NO_PRIMARY: "no Primary Contact",
            SkipReason.BOUNCING: f"the Primary Contact's email bounces (since {_day(self.on)})",
        }[self.reason]

    def __str__(self):
        return f"{self.organization_name} ({self.provider_id}): {self.detail}"


@dataclass
class ReminderResult:
    dry_run: bool
    due: list[Reminder] = field(default_factory=list)  # a dry run's "would be emailed"
    queued: list[Reminder] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[SkipReason, int]:
        counts = Counter(skip.reason for skip in self.skipped)
        return {reason: counts[reason] for reason in SkipReason if counts[reason]}

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {reason.label}" for reason, n in self.skipped_by_reason().items())
        skipped = f"{len(self.skipped)} skipped" + (f" ({reasons})" if reasons else "")
        if self.dry_run:
            return f"Dry run: {len(self.due)} would be emailed, {skipped}. Nothing was sent or logged."
        return f"{len(self.queued)} queued (the worker sends them within a minute), {skipped}."


def _day(moment) -> str:
    return date_format(moment, "F j, Y") if moment else "never"


def _local_date(moment) -> date | None:
    return timezone.localdate(moment) if moment else None


def _last_reminder(statuses, since):
    return (
        EmailLog.objects.filter(
            organization=OuterRef("pk"), kind=EmailLog.Kind.REMINDER, status__in=statuses, sent_at__gt=since
        )
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )


def _with_due(organizations, now):
    """Annotate what decides whether each organization is due, computed in the query: is_stale,
    reminded_at (its last reminder sent within the interval, or None) and queued_at (a
    reminder queued or being sent, or None)."""
    interval = timedelta(days=settings.CONTACTS_REMINDER_INTERVAL_DAYS)
    return organizations.annotate(
        is_stale=Exists(Organization.objects.stale().filter(pk=OuterRef("pk"))),
        reminded_at=Subquery(_last_reminder([EmailLog.Status.SENT], now - interval)),
        queued_at=Subquery(_last_reminder(PENDING, now - interval)),
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


def _batch(ids, now):
    """The due organizations with their rosters (two queries)."""
    return _with_due(Organization.objects.filter(pk__in=ids), now).select_related("contacts_confirmed_by").with_roster()


def _lock(ids) -> None:
    """Lock the batch's organizations; call inside a transaction, before reading them with _batch.

    The lock comes first, in its own query, so the annotations are read after
    any other run holding these organizations has committed: an organization
    that another run (or the admin) reminded meanwhile is not queued a second one.
    """
    list(
        Organization.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reminder_context(organization: Organization) -> dict:
    """What the reminder says about one organization; reads only its prefetched roster."""
    return {
        "profile_url": absolute_url(organization.get_absolute_url()),
        "confirmed_at": organization.contacts_confirmed_at,
        "confirmed_by": organization.contacts_confirmed_by,
        "period_days": settings.CONTACTS_CONFIRM_PERIOD_DAYS,
        "roles": [
            {
                "label": role.label,
                "purpose": ROLE_PURPOSES[role],
                "holders": organization.holders(role),
                "required": role in required_roles(),
            }
            for role in Role
        ],
    }


def reminders_send(*, organizations=None, stale_only: bool = True, dry_run: bool = False) -> ReminderResult:
    """Queue the update reminder to the Primary Contact of each organization that is due.

    Due: contacts stale (unless stale_only=False, as for staff who ask for it)
    and no reminder queued or sent within CONTACTS_REMINDER_INTERVAL_DAYS.
    organizations limits the run to a queryset; None means every organization.
    A dry run reads who is due and neither queues nor logs anything.
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
    for start in range(0, len(due_ids), BATCH_SIZE):
        ids = due_ids[start : start + BATCH_SIZE]
        if dry_run:  # reads only: no lock, no transaction
            for organization in _batch(ids, now):
                _reminder_prepare(organization, result, stale_only=stale_only, dry_run=True)
            continue
        with transaction.atomic():
            _lock(ids)
            logs = [_reminder_prepare(organization, result, stale_only=stale_only) for organization in _batch(ids, now)]
            emails_queue([log for log in logs if log])
    return result


def _reminder_prepare(organization, result, *, stale_only, dry_run=False) -> EmailLog | None:
    """The organization's reminder, written (and counted as queued); or None, with the skip (or a dry run's "due")."""
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
    reminder = Reminder(organization.pk, organization.name, organization.provider_id, primary.email)
    if primary.email_bouncing_since:
        bouncing = _local_date(primary.email_bouncing_since)
        result.skipped.append(
            Skip(organization.pk, organization.name, organization.provider_id, SkipReason.BOUNCING, bouncing)
        )
    elif dry_run:
        result.due.append(reminder)
        return None
    else:
        result.queued.append(reminder)
    if dry_run:
        return None
    # A bouncing address gets a suppressed log row, which says why (contacts.emails.BOUNCING).
    return email_prepare(
        kind=EmailLog.Kind.REMINDER,
        to=primary,
        subject=SUBJECT,
        template="reminder",
        context=reminder_context(organization),
        organization=organization,
    )
