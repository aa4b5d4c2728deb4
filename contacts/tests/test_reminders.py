"""The "It's time to update your contact information" reminders: who gets one, what it says, how it scales."""

import math
import smtplib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from contacts import reminders, services
from contacts.emails import absolute_url
from contacts.management.commands.send_contact_reminders import UNKNOWN_PROVIDER_IDS
from contacts.models import ROLE_PURPOSES, ContactRole, EmailLog, Organization, Role
from contacts.reminder_action import NOBODY_DUE, REMINDERS_QUEUED
from contacts.reminders import SUBJECT, SkipReason, reminders_send
from contacts.tests.factories import OrganizationFactory, StaffUserFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 19, 0, tzinfo=UTC)
BACKENDS = "contacts.tests.test_reminders"


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def backend_events():
    """What the test email backends did: "init", "open", "close", in order."""
    CountingBackend.events = []
    yield CountingBackend.events


class CountingBackend(locmem.EmailBackend):
    """The locmem backend, recording each connection made and opened."""

    events: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.append("init")

    def open(self):
        self.events.append("open")
        return True

    def close(self):
        self.events.append("close")


class BouncingBackend(CountingBackend):
    """A mail server that refuses every address containing "bounce"."""

    def send_messages(self, email_messages):
        for message in email_messages:
            refused = [address for address in message.recipients() if "bounce" in address]
            if refused:
                raise smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 User unknown") for address in refused})
        return super().send_messages(email_messages)


class DroppingBackend(CountingBackend):
    """A mail server that drops the connection while sending to an address containing "drop"."""

    def send_messages(self, email_messages):
        if any("drop" in address for message in email_messages for address in message.recipients()):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)


class UnreachableBackend(CountingBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


class GoneAfterDropBackend(DroppingBackend):
    """A mail server that drops the connection at an address containing "drop" and then cannot be reached."""

    def open(self):
        if "close" in self.events:
            raise ConnectionRefusedError(111, "Connection refused")
        return super().open()


class ProcessKilled(BaseException):
    """The process stopping in the middle of a send (a kill, a deploy), which no except Exception catches."""


class KilledWhileSendingBackend(CountingBackend):
    """The process stops while handing over the email to an address containing "killed"."""

    def send_messages(self, email_messages):
        if any("killed" in address for message in email_messages for address in message.recipients()):
            raise ProcessKilled
        return super().send_messages(email_messages)


class StatusRecordingBackend(CountingBackend):
    """Records the email log's statuses as the mail server receives each email."""

    statuses: list = []

    def send_messages(self, email_messages):
        self.statuses.append(sorted(EmailLog.objects.values_list("status", flat=True)))
        return super().send_messages(email_messages)


def days_ago(days):
    return NOW - timedelta(days=days)


def stale_organization(**fields):
    return OrganizationFactory(contacts_confirmed_at=days_ago(400), **fields)


def reminded(organization, *, days=0, status=EmailLog.Status.SENT, at=None):
    return EmailLog.objects.create(
        kind=EmailLog.Kind.REMINDER,
        to_email=organization.primary_contact.email,
        recipient=organization.primary_contact,
        organization=organization,
        subject=SUBJECT,
        status=status,
        sent_at=at or days_ago(days),
        claimed_until=NOW if status == EmailLog.Status.SENDING else None,
    )


def statuses():
    return dict(EmailLog.objects.values_list("to_email", "status"))


def recipients():
    """Everyone emailed so far, once the worker has sent what is due."""
    return sorted(address for message in run_email_worker() for address in message.to)


def run_command(*args):
    out, err = StringIO(), StringIO()
    call_command("send_contact_reminders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# Who gets a reminder


def test_organization_never_confirmed_is_reminded():
    organization = OrganizationFactory(contacts_confirmed_at=None)

    result = reminders_send()

    assert recipients() == [organization.primary_contact.email]
    assert [reminder.organization_id for reminder in result.queued] == [organization.pk]


@pytest.mark.parametrize(("confirmed_days_ago", "is_reminded"), [(364, False), (366, True)])
def test_organization_is_reminded_only_once_its_confirmation_is_older_than_the_period(confirmed_days_ago, is_reminded):
    organization = OrganizationFactory(contacts_confirmed_at=days_ago(confirmed_days_ago))

    result = reminders_send()

    assert recipients() == ([organization.primary_contact.email] if is_reminded else [])
    if not is_reminded:
        assert [(skip.organization_id, skip.reason) for skip in result.skipped] == [
            (organization.pk, SkipReason.NOT_STALE)
        ]


@pytest.mark.parametrize(("reminded_days_ago", "is_reminded"), [(29, False), (31, True)])
def test_no_second_reminder_within_the_interval(reminded_days_ago, is_reminded):
    organization = stale_organization()
    reminded(organization, days=reminded_days_ago)

    result = reminders_send()

    assert recipients() == ([organization.primary_contact.email] if is_reminded else [])
    if not is_reminded:
        assert [str(skip) for skip in result.skipped] == [
            f"{organization.name} ({organization.provider_id}): reminded on May 17, 2025"
        ]


def test_organization_reminded_meanwhile_by_another_run_is_not_sent_a_second(monkeypatch):
    monkeypatch.setattr(reminders, "BATCH_SIZE", 1)  # "Meanwhile" is read after the first batch is queued
    first = stale_organization(name="First")
    meanwhile = stale_organization(name="Meanwhile")
    queue = reminders.emails_queue

    def queue_then_another_run_reminds_meanwhile(logs):
        queue(logs)
        if not EmailLog.objects.filter(organization=meanwhile).exists():
            reminded(meanwhile, days=0)

    monkeypatch.setattr(reminders, "emails_queue", queue_then_another_run_reminds_meanwhile)

    result = reminders_send()

    assert recipients() == [first.primary_contact.email]
    assert [(skip.organization_id, skip.reason) for skip in result.skipped] == [(meanwhile.pk, SkipReason.REMINDED)]


@pytest.mark.parametrize("status", [EmailLog.Status.QUEUED, EmailLog.Status.SENDING])
def test_reminder_queued_or_being_sent_counts_as_reminded(status):
    organization = stale_organization()
    reminded(organization, status=status, at=NOW - timedelta(days=2))

    result = reminders_send()

    assert [str(skip) for skip in result.skipped] == [
        f"{organization.name} ({organization.provider_id}): reminder queued on June 13, 2025, waiting for the worker"
    ]
    assert result.summary() == (
        "0 queued (the worker sends them within a minute), 1 skipped (1 reminder queued, waiting for the worker)."
    )
    assert EmailLog.objects.count() == 1


def test_run_killed_midway_and_run_again_queues_each_due_reminder_exactly_once(monkeypatch):
    """The fault: a run stopped mid-batch, run again, sent 42 duplicate reminders."""
    monkeypatch.setattr(reminders, "BATCH_SIZE", 2)
    organizations = [stale_organization(name=f"Org {n}") for n in range(5)]
    queue, batches = reminders.emails_queue, []

    def killed_after_two_batches(logs):
        if len(batches) == 2:
            raise ProcessKilled
        batches.append(logs)
        queue(logs)

    with monkeypatch.context() as patched:
        patched.setattr(reminders, "emails_queue", killed_after_two_batches)
        with pytest.raises(ProcessKilled):
            reminders_send()
    assert EmailLog.objects.count() == 4, "the third batch was rolled back whole"
    run_email_worker()  # the workers send what was queued
    again = reminders_send()
    assert [reminder.organization_id for reminder in again.queued] == [organizations[4].pk]
    assert recipients() == sorted(organization.primary_contact.email for organization in organizations)
    assert len(mail.outbox) == 5, "nobody got two"


def test_a_failed_reminder_does_not_count_as_reminded():
    organization = stale_organization()
    reminded(organization, days=2, status=EmailLog.Status.FAILED)

    reminders_send()

    assert recipients() == [organization.primary_contact.email]


def test_running_again_sends_no_second_reminder():
    organization = stale_organization()

    reminders_send()
    run_email_worker()
    second = reminders_send()

    assert recipients() == [organization.primary_contact.email]
    assert second.queued == []
    assert [skip.reason for skip in second.skipped] == [SkipReason.REMINDED]


def test_every_reminder_is_in_the_email_log():
    organization = stale_organization()

    reminders_send()
    run_email_worker()

    log = EmailLog.objects.get()
    assert (log.kind, log.status, log.organization, log.recipient, log.subject) == (
        EmailLog.Kind.REMINDER,
        EmailLog.Status.SENT,
        organization,
        organization.primary_contact,
        SUBJECT,
    )
    assert log.sent_at == NOW


def test_a_run_only_queues_and_the_worker_sends(settings, backend_events):
    settings.EMAIL_BACKEND = f"{BACKENDS}.StatusRecordingBackend"
    StatusRecordingBackend.statuses = []
    stale_organization()
    stale_organization()

    reminders_send()

    assert backend_events == [], "the run never talks to the mail server"
    queued, sending = EmailLog.Status.QUEUED, EmailLog.Status.SENDING
    assert list(EmailLog.objects.values_list("status", flat=True)) == [queued] * 2
    run_email_worker()
    assert StatusRecordingBackend.statuses == [sorted([queued, sending]), sorted([EmailLog.Status.SENT, sending])]
    assert list(EmailLog.objects.values_list("status", flat=True)) == [EmailLog.Status.SENT] * 2


def test_organization_without_a_primary_is_skipped_not_an_error():
    # The roster invariants forbid this; a reminder run still must not crash on it.
    organization = stale_organization()
    primary = ContactRole.objects.get(organization=organization)
    ContactRole.objects.filter(pk=primary.pk).delete()

    result = reminders_send()

    assert mail.outbox == []
    assert [skip.reason for skip in result.skipped] == [SkipReason.NO_PRIMARY]
    primary.save()  # PostgreSQL's deferred "exactly one primary" check runs when the test ends


# The email


def test_reminder_is_addressed_to_the_primary_not_the_billing_contact():
    primary = UserFactory(first_name="Jane", last_name="Primary")
    billing = UserFactory(first_name="Bill", last_name="Payer")
    organization = stale_organization(primary=primary, name="Sierra CME Institute")
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)

    reminders_send()

    [message] = run_email_worker()
    assert message.to == [primary.email]
    assert message.subject == "It's time to update your contact information"
    assert message.body.startswith("Hello Jane,\n")  # every email greets its reader the same way
    assert "Sierra CME Institute (provider ID" in message.body
    assert "Billing Contact: Bill Payer" in message.body


def test_reminder_links_to_the_organizations_profile_tab_in_text_and_html():
    organization = stale_organization()
    other = stale_organization()
    profile_url = absolute_url(f"/organizations/{organization.pk}/")
    assert profile_url == absolute_url(organization.get_absolute_url())

    reminders_send(organizations=Organization.objects.filter(pk=organization.pk))

    [message] = run_email_worker()
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert profile_url in message.body
    assert f'href="{profile_url}"' in html
    assert absolute_url(other.get_absolute_url()) not in message.body


def test_reminder_explains_every_role_and_gives_the_support_address(settings):
    settings.SUPPORT_EMAIL = "help@example.org"
    stale_organization()

    reminders_send()

    [message] = run_email_worker()
    html = message.alternatives[0][0]
    for role in Role:
        assert role.label in message.body
        assert ROLE_PURPOSES[role] in message.body
        assert ROLE_PURPOSES[role] in html
    assert "help@example.org" in message.body
    assert 'href="mailto:help@example.org"' in html
    assert "Confirm contacts are current" in message.body


def test_reminder_says_when_the_contacts_were_last_confirmed():
    confirmer = UserFactory(first_name="Carla", last_name="Confirmer")
    stale_organization(contacts_confirmed_by=confirmer)
    OrganizationFactory(contacts_confirmed_at=None)

    reminders_send()

    bodies = sorted(message.body for message in run_email_worker())
    assert any("last confirmed as current on May 11, 2024 by Carla Confirmer" in body for body in bodies)
    assert any("have never been confirmed as current" in body for body in bodies)


# Failures


def test_refused_address_is_logged_as_failed_and_the_others_are_still_sent(settings, backend_events):
    settings.EMAIL_BACKEND = f"{BACKENDS}.BouncingBackend"
    first = stale_organization(name="A First", primary=UserFactory(email="a@example.org"))
    bouncing = stale_organization(name="B Bouncing", primary=UserFactory(email="bounce@example.org"))
    last = stale_organization(name="C Last", primary=UserFactory(email="c@example.org"))

    reminders_send()

    assert recipients() == ["a@example.org", "c@example.org"]
    failed = EmailLog.objects.get(status=EmailLog.Status.FAILED)
    assert (failed.organization, failed.to_email) == (bouncing, "bounce@example.org")
    assert "SMTPRecipientsRefused" in failed.error
    assert set(EmailLog.objects.filter(status=EmailLog.Status.SENT).values_list("organization", flat=True)) == {
        first.pk,
        last.pk,
    }


def test_running_again_after_a_failure_sends_only_the_failed_one(settings, backend_events):
    settings.EMAIL_BACKEND = f"{BACKENDS}.BouncingBackend"
    stale_organization(primary=UserFactory(email="a@example.org"))
    stale_organization(primary=UserFactory(email="bounce@example.org"))
    reminders_send()
    run_email_worker()
    run_email_worker().clear()
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"  # the address works again

    result = reminders_send()

    assert recipients() == ["bounce@example.org"]
    assert len(result.queued) == 1


def test_mail_server_gone_queues_every_reminder_and_the_worker_sends_them_once_it_is_back(settings, backend_events):
    settings.EMAIL_BACKEND = f"{BACKENDS}.UnreachableBackend"
    stale_organization(name="A", primary=UserFactory(email="a@example.org"))
    stale_organization(name="B", primary=UserFactory(email="b@example.org"))

    out, err = run_command()

    assert out.strip().endswith("2 queued (the worker sends them within a minute), 0 skipped.")
    assert (recipients(), err) == ([], "")
    assert set(statuses().values()) == {EmailLog.Status.QUEUED}, "waiting for their next attempt"
    assert set(EmailLog.objects.values_list("error", flat=True)) == {
        "ConnectionRefusedError: [Errno 111] Connection refused"
    }
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    run_command()  # a run meanwhile queues nothing twice
    assert recipients() == [], "not before the next attempt"
    EmailLog.objects.update(next_attempt_at=NOW)  # the retry delay has passed
    for task in DBTaskResult.objects.filter(status="READY"):
        task.run_after = NOW
        task.save(update_fields=["run_after"])
    assert recipients() == ["a@example.org", "b@example.org"]


def test_a_run_inside_a_transaction_is_rolled_back_with_it(settings, backend_events):
    stale_organization()

    with pytest.raises(ProcessKilled), transaction.atomic():
        reminders_send()
        raise ProcessKilled

    assert recipients() == []
    assert not EmailLog.objects.exists()


# Scale


# candidates, then per batch of BATCH_SIZE: the lock, organizations, their roles, one INSERT of
# the queued logs (and a savepoint around them), then two INSERTs of tasks per reminder (its
# delivery and its guard): the framework enqueues one task at a time.
def expected_queries(organizations):
    return 1 + 6 * math.ceil(organizations / reminders.BATCH_SIZE) + 2 * organizations


@pytest.mark.parametrize("count", [5, 50])
def test_query_count_does_not_grow_with_the_organizations_reminded(count):
    organizations = OrganizationFactory.create_batch(count)
    for organization in organizations[::2]:  # rosters of different sizes cost nothing more
        services.contact_add(
            organization=organization, email=f"staff{organization.pk}@example.org", role=Role.STAFF, by=None
        )
    run_email_worker().clear()

    with CaptureQueriesContext(connection) as queries:
        result = reminders_send()

    assert len(result.queued) == count
    assert len(queries) == expected_queries(count) == 7 + 2 * count


def test_query_count_grows_per_batch_not_per_organization(monkeypatch):
    monkeypatch.setattr(reminders, "BATCH_SIZE", 4)
    OrganizationFactory.create_batch(10)

    with CaptureQueriesContext(connection) as queries:
        result = reminders_send()

    assert len(result.queued) == 10
    assert len(queries) == expected_queries(10) == 1 + 6 * 3 + 20
    run_email_worker()
    assert EmailLog.objects.filter(status=EmailLog.Status.SENT).count() == 10
    assert not EmailLog.objects.exclude(status=EmailLog.Status.SENT).exists()


# The command


def test_command_prints_a_summary_with_skip_reasons_counted():
    stale_organization()
    stale_organization()
    OrganizationFactory(contacts_confirmed_at=days_ago(10))
    reminded(stale_organization(), days=3)

    out, err = run_command()

    assert out.strip().splitlines()[-1] == (
        "2 queued (the worker sends them within a minute), "
        "2 skipped (1 contacts confirmed within the period, 1 already reminded within the interval)."
    )
    assert err == ""


def test_command_dry_run_lists_who_would_be_emailed_and_sends_and_logs_nothing():
    organization = stale_organization(name="Sierra CME Institute", provider_id="CA12345")
    OrganizationFactory(contacts_confirmed_at=days_ago(10))

    out, _err = run_command("--dry-run")

    assert f"Would email Sierra CME Institute (CA12345) to {organization.primary_contact.email}" in out
    assert "Dry run: 1 would be emailed, 1 skipped" in out
    assert recipients() == []
    assert not EmailLog.objects.exists()


def test_command_limited_to_one_organization():
    wanted = stale_organization(provider_id="CA00042")
    stale_organization()

    run_command("--organization", "CA00042")

    assert recipients() == [wanted.primary_contact.email]


def test_command_refuses_an_unknown_provider_id():
    stale_organization(provider_id="CA00042")

    with pytest.raises(CommandError, match=UNKNOWN_PROVIDER_IDS.format(ids="CA77777")):
        run_command("--organization", "CA00042", "--organization", "CA77777")
    assert recipients() == []


# The admin action


def admin_signed_in(client, group):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)


def run_admin_action(client, organizations, *, confirm=True):
    """The action's first POST (the confirmation page) and, with confirm, the POST that sends."""
    data = {
        "action": "send_update_reminder_action",
        "_selected_action": [organization.pk for organization in organizations],
        "index": "0",
        "select_across": "0",
    }
    url = reverse("admin:contacts_organization_changelist")
    response = client.post(url, data)
    if not confirm or response.status_code != 200 or "preview" not in (response.context or {}):
        return response
    return client.post(url, {**data, "post": "yes"}, follow=True)


def test_admin_action_first_lists_who_will_be_emailed_and_who_is_skipped_and_sends_nothing(
    client, django_assert_max_num_queries
):
    admin_signed_in(client, "CME editors")
    fresh = OrganizationFactory(name="Fresh", contacts_confirmed_at=days_ago(10))
    recent = stale_organization(name="Recent")
    reminded(recent, days=3)
    due = stale_organization(name="Stale")

    # Session, user, its second factor, groups and permissions, the savepoints, the selection, and the dry run's reads.
    with django_assert_max_num_queries(12):
        response = run_admin_action(client, [fresh, recent, due], confirm=False)

    assert response.status_code == 200
    preview = response.context["preview"]
    assert [reminder.to_email for reminder in preview.due] == [due.primary_contact.email]
    assert [str(skip) for skip in preview.skipped] == [
        f"Fresh ({fresh.provider_id}): contacts confirmed on June 5, 2025",
        f"Recent ({recent.provider_id}): reminded on June 12, 2025",
    ]
    html = response.content.decode()
    assert "Will be emailed (1)" in html
    assert due.primary_contact.email in html
    assert "Contacts confirmed on June 5, 2025" in html
    assert 'name="post" value="yes"' in html
    assert mail.outbox == []
    assert EmailLog.objects.count() == 1  # only the earlier reminder


def test_admin_action_sends_only_to_the_stale_organizations_after_confirming_and_not_twice(client):
    admin_signed_in(client, "CME editors")
    fresh = OrganizationFactory(name="Fresh", contacts_confirmed_at=days_ago(10))
    recent = stale_organization(name="Recent")
    reminded(recent, days=3)
    due = stale_organization(name="Stale")
    not_selected = stale_organization(name="Not selected")

    response = run_admin_action(client, [fresh, recent, due])

    assert recipients() == [due.primary_contact.email]
    assert not_selected.primary_contact.email not in recipients()
    assert [str(message) for message in response.context["messages"]] == [
        REMINDERS_QUEUED.format(count=1, names=f"Stale ({due.provider_id}) to {due.primary_contact.email}"),
        f"Skipped 2: Fresh ({fresh.provider_id}): contacts confirmed on June 5, 2025, "
        f"Recent ({recent.provider_id}): reminded on June 12, 2025.",
    ]
    assert EmailLog.objects.filter(organization=due, kind=EmailLog.Kind.REMINDER).count() == 1
    assert not EmailLog.objects.filter(organization=fresh).exists()


def test_admin_action_with_nobody_due_offers_no_send_button(client):
    admin_signed_in(client, "CME editors")
    fresh = OrganizationFactory(name="Fresh", contacts_confirmed_at=days_ago(10))

    response = run_admin_action(client, [fresh], confirm=False)

    html = response.content.decode()
    assert NOBODY_DUE in html
    assert 'name="post"' not in html
    assert mail.outbox == []


def test_cme_reviewer_cannot_send_reminders(client):
    admin_signed_in(client, "CME reviewers")
    organization = stale_organization()

    run_admin_action(client, [organization])

    assert recipients() == []
    assert not EmailLog.objects.exists()
