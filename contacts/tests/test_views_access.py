"""The access rule on every organization URL, for each kind of user."""

import pytest
from django.conf import settings
from django.urls import reverse

from contacts import services
from contacts.models import Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

# Every organization page, with the status its affiliated user gets on GET.
ORGANIZATION_URLS = [
    ("profile", 200),
    ("organization_edit", 200),
    ("contact_add", 200),
    ("role_assign", 200),
    ("role_remove", 200),
    ("primary_transfer", 200),
    ("contacts_confirm", 405),
    ("history", 200),
    ("person_edit", 200),
    ("invitation_resend", 405),
]


@pytest.fixture
def organization():
    return OrganizationFactory()


@pytest.fixture
def roster(organization):
    """An organization with a staff member (who may sign in) and an invited Technical Contact."""
    primary = organization.primary_contact
    staff = UserFactory()
    invited = InvitedUserFactory()
    services.role_assign(organization=organization, person=staff, role=Role.STAFF, by=primary)
    technical = services.role_assign(
        organization=organization, person=invited, role=Role.TECHNICAL, by=primary
    ).contact_role
    return {"staff": staff, "invited": invited, "technical": technical}


def organization_url(name, organization, roster):
    args = {
        "role_assign": [organization.pk, "billing"],
        "role_remove": [organization.pk, roster["technical"].pk],
        "person_edit": [organization.pk, roster["invited"].pk],
        "invitation_resend": [organization.pk, roster["invited"].pk],
    }.get(name, [organization.pk])
    return reverse(f"contacts:{name}", args=args)


def stranger():
    """Signed in: the Primary Contact of another organization."""
    return OrganizationFactory().primary_contact


def holder_without_access(role):
    """A stranger who holds only a role without access (Billing, CEO) here."""

    def make(organization):
        person = stranger()
        services.role_assign(organization=organization, person=person, role=role, by=None)
        return person

    return make


def former_staff(organization):
    """A stranger who was Staff here until their role was removed."""
    person = stranger()
    contact_role = services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None).contact_role
    services.role_remove(contact_role=contact_role, by=None)
    return person


OUTSIDERS = {
    "stranger": lambda organization: stranger(),
    "billing_only": holder_without_access(Role.BILLING),
    "ceo_only": holder_without_access(Role.CEO),
    "former_staff": former_staff,
    "cme_staff": lambda organization: StaffUserFactory(is_superuser=True),
}


@pytest.mark.parametrize(("name", "status"), ORGANIZATION_URLS)
def test_staff_member_may_open_every_organization_page(client, organization, roster, name, status):
    client.force_login(roster["staff"])
    response = client.get(organization_url(name, organization, roster))
    assert response.status_code == status


@pytest.mark.parametrize("outsider", OUTSIDERS)
@pytest.mark.parametrize(("name", "status"), ORGANIZATION_URLS)
def test_outsider_gets_404_on_every_organization_page(client, organization, roster, name, status, outsider):
    client.force_login(OUTSIDERS[outsider](organization))
    assert client.get(organization_url(name, organization, roster)).status_code == 404
    assert client.post(organization_url(name, organization, roster)).status_code == 404


@pytest.mark.parametrize(("name", "status"), ORGANIZATION_URLS)
def test_anonymous_visitor_is_sent_to_sign_in_from_every_organization_page(client, organization, roster, name, status):
    url = organization_url(name, organization, roster)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response.url == f"{reverse(settings.LOGIN_URL)}?next={url}"


def test_anonymous_visitor_is_sent_to_sign_in_from_the_dashboard(client):
    response = client.get(reverse("contacts:dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


def test_outsider_post_changes_nothing(client, organization, roster):
    client.force_login(stranger())
    client.post(reverse("contacts:contacts_confirm", args=[organization.pk]))
    client.post(reverse("contacts:role_remove", args=[organization.pk, roster["technical"].pk]))
    organization.refresh_from_db()
    assert organization.contacts_confirmed_at is None
    assert organization.holder(Role.TECHNICAL) == roster["invited"]


def test_an_unknown_organization_is_404_like_a_forbidden_one(client):
    client.force_login(stranger())
    assert client.get(reverse("contacts:profile", args=[999_999])).status_code == 404


def test_role_of_another_organization_cannot_be_removed_through_mine(client, organization, roster):
    mine = OrganizationFactory(primary=roster["staff"])
    client.force_login(roster["staff"])
    url = reverse("contacts:role_remove", args=[mine.pk, roster["technical"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert organization.roles.filter(pk=roster["technical"].pk).exists()


def test_an_unknown_role_in_the_url_is_404(client, organization, roster):
    client.force_login(roster["staff"])
    assert client.get(reverse("contacts:role_assign", args=[organization.pk, "treasurer"])).status_code == 404


def test_former_contact_with_no_other_organization_is_signed_out_at_once(client, organization, roster):
    client.force_login(roster["staff"])
    staff_role = organization.roles.get(person=roster["staff"])
    services.role_remove(contact_role=staff_role, by=organization.primary_contact)
    response = client.get(reverse("contacts:profile", args=[organization.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


def test_anonymous_visitor_is_sent_to_sign_in_even_for_an_unknown_role(client, organization):
    response = client.get(reverse("contacts:role_assign", args=[organization.pk, "treasurer"]))
    assert response.status_code == 302
