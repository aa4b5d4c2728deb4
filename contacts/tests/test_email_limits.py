"""Limits per kind and address: what goes over is logged suppressed, with the reason, never an error page.

The faults: 20 password-reset emails to one address in a few seconds, and five
invitations to an outside address by adding and removing the same person.
"""

import pytest
from django.urls import reverse

from contacts import services
from contacts.emails import OVER_LIMIT
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db


def test_twenty_reset_requests_send_three_emails_and_every_page_answers_the_same(client, settings):
    settings.EMAIL_LIMITS = {"password_reset": (3, 3600)}
    person = UserFactory(email="jane@example.org")
    OrganizationFactory(primary=person)
    responses = [client.post(reverse("accounts:password_reset"), {"email": "jane@example.org"}) for _ in range(20)]
    assert {(response.status_code, response.url) for response in responses} == {
        (302, reverse("accounts:password_reset_done"))
    }
    assert [message.to for message in run_email_worker()] == [["jane@example.org"]] * 3
    statuses = list(EmailLog.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [EmailLog.Status.SENT] * 3 + [EmailLog.Status.SUPPRESSED] * 17
    reason = OVER_LIMIT.format(count=3, kind="password reset", window="1\xa0hour")
    assert set(EmailLog.objects.filter(status=EmailLog.Status.SUPPRESSED).values_list("error", flat=True)) == {reason}


def test_adding_and_removing_the_same_outsider_five_times_invites_them_three_times(client, settings):
    settings.EMAIL_LIMITS = {"invitation": (3, 86400)}
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    for _ in range(5):
        response = client.post(
            reverse("contacts:contact_add", args=[organization.pk]),
            {
                "email": "outsider@example.org",
                "role": Role.STAFF,
                "first_name": "Out",
                "last_name": "Sider",
                "confirm": "1",
            },
        )
        assert response.status_code == 302
        role = organization.roles.get(person__email="outsider@example.org")
        services.role_remove(contact_role=role, by=organization.primary_contact)
    invitations = [message for message in run_email_worker() if "set your password" in message.subject]
    assert [message.to for message in invitations] == [["outsider@example.org"]] * 3
    assert EmailLog.objects.filter(status=EmailLog.Status.SUPPRESSED).count() == 2


def test_the_page_does_not_claim_an_invitation_the_limit_held_back(client, settings):
    settings.EMAIL_LIMITS = {"invitation": (0, 86400)}
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    response = client.post(
        reverse("contacts:contact_add", args=[organization.pk]),
        {"email": "nia@example.org", "role": Role.STAFF, "first_name": "Nia", "last_name": "Long", "confirm": "1"},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert "invitation" not in message.lower()
    assert EmailLog.objects.get().status == EmailLog.Status.SUPPRESSED
