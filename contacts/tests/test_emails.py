"""The email queue: an email describes a committed change, none goes out without its log row, and a worker sends it.

The log is the outbox: the row and its delivery task are written queued with
the change; a worker (db_worker's loop, run in-process by run_email_worker)
claims the row, sends it and records the outcome, retrying transient failures.
"""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from contacts import services
from contacts.admin import EMAILS_RESENT, NOT_FAILED_NOT_RESENT
from contacts.emails import OVER_LIMIT, RESENT, WORKER_STOPPED, email_attempt, email_send, emails_resend, is_transient
from contacts.models import EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

QUEUED_AT = datetime(2025, 6, 15, 9, 0, tzinfo=UTC)
WORKER_RAN_AT = datetime(2025, 6, 15, 9, 0, 5, tzinfo=UTC)

BOUNCING_BACKEND = "contacts.tests.test_reminders.BouncingBackend"


class LaterStepFailed(Exception):
    pass


def invitation(to, **kwargs):
    return email_send(
        kind=EmailLog.Kind.INVITATION,
        to=to,
        subject="Welcome",
        template="invitation",
        context={"invitation_url": "https://example.org/set-password", "by": None},
        **kwargs,
    )


def failing_send(monkeypatch, exc):
    calls = []

    def send(message, fail_silently=False):
        calls.append(message.to)
        raise exc

    monkeypatch.setattr("django.core.mail.EmailMessage.send", send)
    return calls


def test_invitation_of_a_change_rolled_back_is_neither_queued_nor_logged_nor_sent():
    organization = OrganizationFactory()
    with pytest.raises(LaterStepFailed), transaction.atomic():
        contact_role = services.contact_add(
            organization=organization, email="nia@example.org", role=Role.STAFF, by=None
        )
        assert contact_role.invited, "the invitation was queued"
        assert EmailLog.objects.get().status == EmailLog.Status.QUEUED
        assert DBTaskResult.objects.exists(), "its task is written in the same transaction"
        raise LaterStepFailed
    assert not EmailLog.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert run_email_worker() == []
    assert not organization.roles.filter(role=Role.STAFF).exists()


def test_hand_over_rolled_back_by_a_refused_later_change_emails_nobody():
    organization = OrganizationFactory()
    previous, successor = organization.primary_contact, InvitedUserFactory()
    services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    with pytest.raises(ValidationError), transaction.atomic():
        services.primary_contact_transfer(organization=organization, to=successor, by=previous)
        services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=previous)
    assert run_email_worker() == []
    assert not EmailLog.objects.exists()
    assert organization.roles.get(role=Role.PRIMARY).person == previous


def test_email_is_logged_queued_with_the_change_and_sent_by_the_worker(time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    organization = OrganizationFactory()
    person = InvitedUserFactory()
    log = services.invitation_send(person=person, organization=organization, by=None)
    queued = EmailLog.objects.get()
    assert (queued.pk, queued.to_email, queued.status, queued.queued_at, queued.attempts) == (
        log.pk,
        person.email,
        EmailLog.Status.QUEUED,
        QUEUED_AT,
        0,
    )
    time_machine.move_to(WORKER_RAN_AT, tick=False)
    assert [message.to for message in run_email_worker()] == [[person.email]]
    sent = EmailLog.objects.get()
    assert (sent.pk, sent.status, sent.sent_at, sent.error, sent.attempts) == (
        log.pk,
        EmailLog.Status.SENT,
        WORKER_RAN_AT,
        "",
        1,
    )
    assert sent.claimed_until is None and sent.next_attempt_at is None


def test_the_worker_sends_the_message_written_with_the_change_in_text_and_html():
    person = InvitedUserFactory(first_name="Nia")
    invitation(person)
    [message] = run_email_worker()
    assert message.subject == "Welcome"
    assert "Nia" in message.body
    assert "https://example.org/set-password" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "https://example.org/set-password" in html


def test_email_the_worker_has_not_run_for_stays_queued_and_the_admin_lists_it_queued(client):
    organization = OrganizationFactory()
    services.contact_add(organization=organization, email="nia@example.org", role=Role.STAFF, by=None)
    log = EmailLog.objects.get()
    assert (log.to_email, log.status, log.error) == ("nia@example.org", EmailLog.Status.QUEUED, "")

    client.force_login(cme_staff(REVIEWERS))
    changelist = reverse("admin:contacts_emaillog_changelist")
    response = client.get(changelist, {"status__exact": EmailLog.Status.QUEUED})
    assert [row.to_email for row in response.context["cl"].result_list] == ["nia@example.org"]
    assert f'<td class="field-status">{EmailLog.Status.QUEUED.label}</td>' in response.content.decode()
    assert list(client.get(changelist, {"status__exact": EmailLog.Status.SENT}).context["cl"].result_list) == []


def test_recipient_refused_for_good_fails_at_once_and_is_not_retried(settings, time_machine):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    organization = OrganizationFactory()
    person = InvitedUserFactory(email="bounce@example.org")
    services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    assert run_email_worker() == []
    log = EmailLog.objects.get()  # the queued row, updated: not a second one
    assert (log.kind, log.to_email, log.status, log.attempts) == (
        EmailLog.Kind.INVITATION,
        "bounce@example.org",
        EmailLog.Status.FAILED,
        1,
    )
    assert log.error.startswith("SMTPRecipientsRefused: ")
    assert "User unknown" in log.error
    time_machine.move_to(log.sent_at + timedelta(days=2))
    run_email_worker()
    assert EmailLog.objects.get().attempts == 1, "a permanent refusal is not tried again"


def test_one_email_that_fails_does_not_stop_the_others_of_the_same_change(settings):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    organization = OrganizationFactory(primary=UserFactory(email="bounce@example.org"))
    successor = UserFactory(email="next@example.org")
    services.primary_contact_transfer(organization=organization, to=successor, by=None)
    assert [message.to for message in run_email_worker()] == [["next@example.org"]]
    statuses = dict(EmailLog.objects.values_list("to_email", "status"))
    assert statuses == {"bounce@example.org": EmailLog.Status.FAILED, "next@example.org": EmailLog.Status.SENT}


def test_timeout_is_retried_after_the_first_delay_and_then_sent(settings, monkeypatch, time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    settings.EMAIL_RETRY_DELAYS = [60, 300]
    with monkeypatch.context() as patched:
        calls = failing_send(patched, TimeoutError("timed out"))
        log = invitation(InvitedUserFactory(email="slow@example.org"))
        run_email_worker()
    waiting = EmailLog.objects.get()
    assert (waiting.pk, waiting.status, waiting.attempts, waiting.error, waiting.next_attempt_at) == (
        log.pk,
        EmailLog.Status.QUEUED,
        1,
        "TimeoutError: timed out",
        QUEUED_AT + timedelta(seconds=60),
    )
    assert calls == [["slow@example.org"]]
    time_machine.move_to(QUEUED_AT + timedelta(seconds=59), tick=False)
    assert run_email_worker() == [], "not before its next attempt"
    time_machine.move_to(QUEUED_AT + timedelta(seconds=61), tick=False)
    assert [message.to for message in run_email_worker()] == [["slow@example.org"]]
    sent = EmailLog.objects.get()
    assert (sent.status, sent.attempts, sent.error) == (EmailLog.Status.SENT, 2, "")


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError("timed out"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"4.2.1 Mailbox busy")}),
        smtplib.SMTPDataError(451, b"4.3.0 Try again later"),
        smtplib.SMTPResponseException(421, b"Service not available"),
    ],
)
def test_timeouts_refused_connections_and_4xx_replies_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 User unknown")}),
        smtplib.SMTPDataError(554, b"5.7.1 Message rejected"),
        ValueError("Header values can't contain newlines"),
    ],
)
def test_5xx_refusals_of_the_recipient_or_the_message_are_permanent(exc):
    assert not is_transient(exc)


def test_after_the_last_attempt_the_email_fails_for_good(settings, monkeypatch, time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    settings.EMAIL_RETRY_DELAYS = [60, 300]
    calls = failing_send(monkeypatch, ConnectionRefusedError(111, "Connection refused"))
    invitation(InvitedUserFactory(email="slow@example.org"))
    for minutes in (0, 2, 8, 60, 600):
        time_machine.move_to(QUEUED_AT + timedelta(minutes=minutes), tick=False)
        run_email_worker()
    log = EmailLog.objects.get()
    assert (log.status, log.attempts, log.next_attempt_at) == (EmailLog.Status.FAILED, 3, None)
    assert log.error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert len(calls) == 3, "one first attempt and one per retry delay"


def test_an_email_being_sent_is_not_taken_by_a_second_worker(monkeypatch):
    log = invitation(InvitedUserFactory())
    seen = []

    def send(message, fail_silently=False):
        seen.append(email_attempt(log.pk))  # a second worker, while the first is sending

    monkeypatch.setattr("django.core.mail.EmailMessage.send", send)
    run_email_worker()
    assert seen == ["not due"]
    assert EmailLog.objects.get().attempts == 1


def test_email_whose_worker_died_while_sending_is_sent_again_once_the_lease_expires(settings, time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    log = invitation(InvitedUserFactory(email="nia@example.org"))
    # A worker claimed it and was killed (SIGKILL, lost machine) before recording anything.
    EmailLog.objects.filter(pk=log.pk).update(
        status=EmailLog.Status.SENDING, attempts=1, claimed_until=QUEUED_AT + timedelta(seconds=300)
    )
    DBTaskResult.objects.filter(run_after__lte=QUEUED_AT).update(status="RUNNING")  # its task, never finished
    time_machine.move_to(QUEUED_AT + timedelta(seconds=200), tick=False)
    assert run_email_worker() == [], "the lease still holds"
    time_machine.move_to(QUEUED_AT + timedelta(seconds=302), tick=False)
    assert [message.to for message in run_email_worker()] == [["nia@example.org"]]
    sent = EmailLog.objects.get()
    assert (sent.status, sent.attempts) == (EmailLog.Status.SENT, 2)


def test_email_whose_task_was_lost_before_the_claim_is_sent_by_its_guard(time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    invitation(InvitedUserFactory(email="nia@example.org"))
    # The worker took the task and died before claiming the email.
    DBTaskResult.objects.filter(run_after__lte=QUEUED_AT).update(status="RUNNING")
    time_machine.move_to(QUEUED_AT + timedelta(seconds=301), tick=False)
    assert [message.to for message in run_email_worker()] == [["nia@example.org"]]


def test_worker_stopped_in_the_middle_of_a_send_releases_the_email(monkeypatch):
    failing_send(monkeypatch, SystemExit(1))  # db_worker's second SIGTERM
    log = invitation(InvitedUserFactory())
    with pytest.raises(SystemExit):
        email_attempt(log.pk)
    released = EmailLog.objects.get()
    assert (released.status, released.claimed_until, released.error) == (EmailLog.Status.QUEUED, None, WORKER_STOPPED)
    monkeypatch.undo()
    assert len(run_email_worker()) == 1


def test_reset_emails_past_the_limit_are_suppressed_with_the_reason_and_not_sent(settings):
    settings.EMAIL_LIMITS = {"password_reset": (3, 3600)}
    person = UserFactory(email="jane@example.org")
    logs = [
        email_send(
            kind=EmailLog.Kind.PASSWORD_RESET,
            to=person,
            subject="Reset",
            template="password_reset",
            context={"reset_url": "https://example.org/r", "user": person},
        )
        for _ in range(5)
    ]
    assert [log.status for log in logs] == ["queued"] * 3 + ["suppressed"] * 2
    assert logs[-1].error == OVER_LIMIT.format(count=3, kind="password reset", window="1\xa0hour")
    assert len(run_email_worker()) == 3


def test_the_limit_counts_per_kind_and_address_within_the_window(settings, time_machine):
    time_machine.move_to(QUEUED_AT, tick=False)
    settings.EMAIL_LIMITS = {"invitation": (1, 86400)}
    jane, john = InvitedUserFactory(), InvitedUserFactory()
    assert invitation(jane).status == EmailLog.Status.QUEUED
    assert invitation(john).status == EmailLog.Status.QUEUED, "another address"
    assert invitation(jane).status == EmailLog.Status.SUPPRESSED
    time_machine.move_to(QUEUED_AT + timedelta(days=1, seconds=1), tick=False)
    assert invitation(jane).status == EmailLog.Status.QUEUED, "a new window"


def test_editor_resends_a_failed_email_which_the_worker_then_sends(settings):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    log = invitation(InvitedUserFactory(email="bounce@example.org"))
    run_email_worker()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    editor = cme_staff(EDITORS)
    [resent] = emails_resend(logs=[log], by=editor)
    assert (resent.status, resent.attempts, resent.error) == (EmailLog.Status.QUEUED, 0, RESENT.format(by=editor))
    assert [message.to for message in run_email_worker()] == [["bounce@example.org"]]
    assert EmailLog.objects.get().status == EmailLog.Status.SENT
    assert emails_resend(logs=[log], by=editor) == [], "a sent email is not sent again"


def test_an_email_being_sent_without_a_lease_is_refused_by_the_database():
    log = invitation(InvitedUserFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.SENDING, claimed_until=None)


def test_an_email_being_sent_with_a_lease_is_allowed():
    log = invitation(InvitedUserFactory())
    EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.SENDING, claimed_until=QUEUED_AT)
    assert EmailLog.objects.get().status == EmailLog.Status.SENDING


def test_a_queued_email_without_a_next_attempt_is_refused_by_the_database():
    log = invitation(InvitedUserFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailLog.objects.filter(pk=log.pk).update(next_attempt_at=None)


def test_a_finished_email_without_a_next_attempt_is_allowed():
    log = invitation(InvitedUserFactory())
    EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.FAILED, next_attempt_at=None)
    assert EmailLog.objects.get().next_attempt_at is None


def test_a_status_outside_the_five_is_refused_by_the_database():
    log = invitation(InvitedUserFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailLog.objects.filter(pk=log.pk).update(status="bounced")


def test_subject_with_a_line_break_is_made_one_line_and_the_email_is_sent():
    organization = OrganizationFactory()
    # Written past validation, as a row saved before the validator existed could be.
    type(organization).objects.filter(pk=organization.pk).update(name="Acme\r\nBcc: victim@example.org")
    organization.refresh_from_db()
    successor = UserFactory()
    services.primary_contact_transfer(organization=organization, to=successor, by=None)
    messages = run_email_worker()
    assert len(messages) == 2
    assert {message.subject for message in messages} == {"Primary Contact for Acme Bcc: victim@example.org changed"}
    assert set(EmailLog.objects.values_list("status", flat=True)) == {EmailLog.Status.SENT}


def resend_action(client, logs):
    return client.post(
        reverse("admin:contacts_emaillog_changelist"),
        {"action": "resend_failed_emails", "_selected_action": [log.pk for log in logs], "index": "0"},
        follow=True,
    )


def test_editor_sends_a_failed_email_again_from_the_email_log(client, settings):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    failed = invitation(InvitedUserFactory(email="bounce@example.org"))
    sent = invitation(InvitedUserFactory(email="fine@example.org"))
    run_email_worker()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the address was fixed
    client.force_login(cme_staff(EDITORS))
    response = resend_action(client, [failed, sent])
    assert [str(m) for m in response.context["messages"]] == [
        EMAILS_RESENT.format(count=1),
        NOT_FAILED_NOT_RESENT.format(count=1),
    ]
    assert [message.to for message in run_email_worker()[1:]] == [["bounce@example.org"]]
    assert EmailLog.objects.get(pk=failed.pk).status == EmailLog.Status.SENT


def test_reviewer_is_not_offered_the_resend_action(client, settings):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    failed = invitation(InvitedUserFactory(email="bounce@example.org"))
    run_email_worker()
    client.force_login(cme_staff(REVIEWERS))
    changelist = client.get(reverse("admin:contacts_emaillog_changelist"))
    assert changelist.context["action_form"] is None
    resend_action(client, [failed])
    assert EmailLog.objects.get(pk=failed.pk).status == EmailLog.Status.FAILED


def test_the_email_logs_admin_page_never_shows_a_live_set_password_link(client):
    person = UserFactory()
    log = email_send(
        kind=EmailLog.Kind.PASSWORD_RESET,
        to=person,
        subject="Reset",
        template="password_reset",
        context={"reset_url": "https://example.org/reset/live-token/", "user": person},
    )
    assert "live-token" in log.body_text
    client.force_login(cme_staff(REVIEWERS))
    page = client.get(reverse("admin:contacts_emaillog_change", args=[log.pk]))
    assert page.status_code == 200
    assert "live-token" not in page.content.decode()
