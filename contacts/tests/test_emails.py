"""email_send: an email describes a committed change, and none goes out without its log row.

The log is an outbox: the row is written queued with the change and marked
sent or failed once the change commits and the email is handed over.
"""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from contacts import services
from contacts.emails import email_send
from contacts.models import EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import REVIEWERS, cme_staff

pytestmark = pytest.mark.django_db

QUEUED_AT = datetime(2025, 6, 15, 9, 0, tzinfo=UTC)
COMMITTED_AT = datetime(2025, 6, 15, 9, 0, 5, tzinfo=UTC)

BOUNCING_BACKEND = "contacts.tests.test_reminders.BouncingBackend"


class LaterStepFailed(Exception):
    pass


def test_invitation_of_a_change_rolled_back_is_neither_sent_nor_logged(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(LaterStepFailed),
        transaction.atomic(),
    ):
        contact_role = services.contact_add(
            organization=organization, email="nia@example.org", role=Role.STAFF, by=None
        )
        assert contact_role.invited, "the invitation was queued"
        assert EmailLog.objects.get().status == EmailLog.Status.QUEUED
        raise LaterStepFailed
    assert callbacks == []
    assert mailoutbox == []
    assert not EmailLog.objects.exists()
    assert not organization.roles.filter(role=Role.STAFF).exists()


def test_hand_over_rolled_back_by_a_refused_later_change_emails_nobody(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    previous, successor = organization.primary_contact, InvitedUserFactory()
    services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError), transaction.atomic():
        services.primary_contact_transfer(organization=organization, to=successor, by=previous)
        services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=previous)
    assert mailoutbox == []
    assert not EmailLog.objects.exists()
    assert organization.roles.get(role=Role.PRIMARY).person == previous


def test_email_is_logged_queued_with_the_change_and_sent_only_when_the_transaction_commits(
    mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(QUEUED_AT, tick=False)
    organization = OrganizationFactory()
    person = InvitedUserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            log = services.invitation_send(person=person, organization=organization, by=None)
            queued = EmailLog.objects.get()
            assert (queued.pk, queued.to_email, queued.status, queued.sent_at) == (
                log.pk,
                person.email,
                EmailLog.Status.QUEUED,
                QUEUED_AT,
            )
            assert mailoutbox == [], "nothing is sent before the commit"
        assert mailoutbox == [], "nor when only a savepoint is released"
        time_machine.move_to(COMMITTED_AT, tick=False)
    assert [message.to for message in mailoutbox] == [[person.email]]
    sent = EmailLog.objects.get()
    assert (sent.pk, sent.status, sent.sent_at, sent.error) == (log.pk, EmailLog.Status.SENT, COMMITTED_AT, "")
    assert (log.status, log.sent_at) == (EmailLog.Status.SENT, COMMITTED_AT), "the returned log is that row"


def test_process_stopping_between_the_commit_and_the_send_leaves_a_queued_row_and_no_email(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # committed; the callback never runs
        services.contact_add(organization=organization, email="nia@example.org", role=Role.STAFF, by=None)
    assert len(callbacks) == 1
    assert mailoutbox == []
    log = EmailLog.objects.get()
    assert (log.to_email, log.status, log.error) == ("nia@example.org", EmailLog.Status.QUEUED, "")

    client.force_login(cme_staff(REVIEWERS))
    changelist = reverse("admin:contacts_emaillog_changelist")
    response = client.get(changelist, {"status__exact": EmailLog.Status.QUEUED})
    assert [row.to_email for row in response.context["cl"].result_list] == ["nia@example.org"]
    assert f'<td class="field-status">{EmailLog.Status.QUEUED.label}</td>' in response.content.decode()
    assert list(client.get(changelist, {"status__exact": EmailLog.Status.SENT}).context["cl"].result_list) == []


def test_send_that_fails_at_commit_is_logged_as_failed_with_the_error(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    organization = OrganizationFactory()
    person = InvitedUserFactory(email="bounce@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    log = EmailLog.objects.get()  # the queued row, updated: not a second one
    assert (log.kind, log.to_email, log.status) == (EmailLog.Kind.INVITATION, "bounce@example.org", "failed")
    assert log.error.startswith("SMTPRecipientsRefused: ")
    assert "User unknown" in log.error
    assert mailoutbox == []


def test_one_email_that_fails_does_not_stop_the_others_of_the_same_commit(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    organization = OrganizationFactory(primary=UserFactory(email="bounce@example.org"))
    successor = UserFactory(email="next@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.primary_contact_transfer(organization=organization, to=successor, by=None)
    statuses = dict(EmailLog.objects.values_list("to_email", "status"))
    assert statuses == {"bounce@example.org": EmailLog.Status.FAILED, "next@example.org": EmailLog.Status.SENT}
    assert [message.to for message in mailoutbox] == [["next@example.org"]]


def test_send_that_raises_marks_the_row_failed_with_the_error(
    mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(message, fail_silently=False):
        raise TimeoutError("timed out")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        log = email_send(
            kind=EmailLog.Kind.INVITATION,
            to=InvitedUserFactory(email="slow@example.org"),
            subject="Welcome",
            template="invitation",
            context={"invitation_url": "https://example.org/set-password", "by": None},
        )
    saved = EmailLog.objects.get()
    assert (saved.pk, saved.status, saved.error) == (log.pk, EmailLog.Status.FAILED, "TimeoutError: timed out")
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_without_a_transaction_the_email_is_sent_and_logged_at_once(mailoutbox):
    person = InvitedUserFactory()
    log = email_send(
        kind=EmailLog.Kind.INVITATION,
        to=person,
        subject="Welcome",
        template="invitation",
        context={"invitation_url": "https://example.org/set-password", "by": None},
    )
    assert [message.to for message in mailoutbox] == [[person.email]]
    assert EmailLog.objects.get() == log
    assert EmailLog.objects.get().status == log.status == EmailLog.Status.SENT
