"""email_send: an email describes a committed change, and none goes out without its log row."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.tests.factories import InvitedUserFactory, UserFactory
from contacts import services
from contacts.emails import email_send
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

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


def test_email_goes_out_and_is_logged_only_when_the_transaction_commits(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            log = services.invitation_send(person=InvitedUserFactory(), organization=organization, by=None)
            assert (mailoutbox, log.pk) == ([], None), "nothing is sent before the commit"
        assert mailoutbox == [], "nor when only a savepoint is released"
    assert len(mailoutbox) == 1
    assert EmailLog.objects.get() == log
    assert log.status == EmailLog.Status.SENT


def test_send_that_fails_at_commit_is_logged_as_failed_with_the_error(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = BOUNCING_BACKEND
    organization = OrganizationFactory()
    person = InvitedUserFactory(email="bounce@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    log = EmailLog.objects.get()
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
