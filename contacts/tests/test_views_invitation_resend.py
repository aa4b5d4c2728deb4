"""The Profile tab tells the truth about each pending contact's invitation, and sends a new one on request."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from contacts import services
from contacts.emails import OVER_LIMIT
from contacts.models import EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.views import INVITATION_QUEUED_AGAIN, INVITATION_SUPPRESSED
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 19, 0, tzinfo=UTC)


@pytest.fixture
def organization(time_machine):
    time_machine.move_to(NOW, tick=False)
    return OrganizationFactory(primary=UserFactory(first_name="Jane", last_name="Doe"))


def add_pending(organization, email="nia@example.org"):
    role = services.contact_add(
        organization=organization, email=email, role=Role.STAFF, by=organization.primary_contact, first_name="Nia"
    )
    return role.person


def profile(client, organization):
    client.force_login(organization.primary_contact)
    return client.get(reverse("contacts:profile", args=[organization.pk])).content.decode()


def status_of(html):
    return " ".join(html.split('class="mb-0 small invitation-status">')[1].split("</p>")[0].split())


def resend(client, organization, person):
    client.force_login(organization.primary_contact)
    url = reverse("contacts:invitation_resend", args=[organization.pk, person.pk])
    return client.post(url, follow=True)


def test_profile_says_the_invitation_is_queued_then_sent(client, organization):
    add_pending(organization)
    assert status_of(profile(client, organization)) == "Invitation queued at 12:00 p.m. on June 15, 2025."
    run_email_worker()
    assert status_of(profile(client, organization)) == "Invitation sent at 12:00 p.m. on June 15, 2025."


def test_profile_shows_a_failed_invitation_with_the_button_to_send_it_again(client, organization, settings):
    settings.EMAIL_BACKEND = "contacts.tests.test_reminders.BouncingBackend"
    person = add_pending(organization, email="bounce@example.org")
    run_email_worker()
    html = profile(client, organization)
    assert status_of(html).startswith('<span class="text-danger fw-semibold">Invitation failed</span>')
    assert reverse("contacts:invitation_resend", args=[organization.pk, person.pk]) in html
    assert "Send the invitation again" in html


def test_send_again_queues_a_new_invitation_with_a_fresh_link(client, organization):
    person = add_pending(organization)
    run_email_worker()
    response = resend(client, organization, person)
    assert [str(m) for m in response.context["messages"]] == [INVITATION_QUEUED_AGAIN.format(email=person.email)]
    second = run_email_worker()[1]
    assert second.to == [person.email]
    assert EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION, recipient=person).count() == 2
    assert "/accounts/invitation/" in second.body


def test_send_again_past_the_limit_is_suppressed_with_the_reason_not_an_error(client, organization, settings):
    settings.EMAIL_LIMITS = {"invitation": (2, 86400)}
    person = add_pending(organization)
    resend(client, organization, person)
    response = resend(client, organization, person)
    assert response.status_code == 200
    reason = OVER_LIMIT.format(count=2, kind="system access granted", window="1\xa0day")
    assert [str(m) for m in response.context["messages"]] == [
        INVITATION_SUPPRESSED.format(email=person.email, reason=reason)
    ]
    assert status_of(profile(client, organization)) == " ".join(f"Invitation not sent: {reason}".split())
    assert len(run_email_worker()) == 2


def test_person_who_set_a_password_is_not_sent_an_invitation(client, organization):
    person = UserFactory()
    services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    response = resend(client, organization, person)
    assert [str(m) for m in response.context["messages"]] == [services.NOT_PENDING.format(person=person)]
    assert run_email_worker() == []


def test_send_again_is_404_for_someone_not_on_this_roster(client, organization):
    stranger = InvitedUserFactory()
    OrganizationFactory(primary=stranger)
    client.force_login(organization.primary_contact)
    url = reverse("contacts:invitation_resend", args=[organization.pk, stranger.pk])
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405


def test_stranger_gets_404_on_send_again(client, organization):
    person = add_pending(organization)
    client.force_login(OrganizationFactory().primary_contact)  # a provider user of another organization
    assert client.post(reverse("contacts:invitation_resend", args=[organization.pk, person.pk])).status_code == 404
