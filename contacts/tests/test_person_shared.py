"""Each organization edits only its own people (issue 12, case 3).

A user of organization 1 added GRACE.LEE@..., a contact of organization 3 who has
not set a password, as Staff, then edited her details from organization 1's roster:
her name and phone changed for organization 3 as well.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from contacts import services
from contacts.models import Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.views import CONTACT_KNOWN

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace():
    """A contact of organization 3 who has not set a password."""
    grace = InvitedUserFactory(email="grace.lee@example.org", first_name="Grace", last_name="Lee", phone="555-0300")
    services.role_assign(
        organization=OrganizationFactory(name="Organization 3"), person=grace, role=Role.STAFF, by=None
    )
    return grace


@pytest.fixture
def mine(client):
    organization = OrganizationFactory(name="Organization 1")
    client.force_login(organization.primary_contact)
    return organization


def edit_url(organization, person):
    return reverse("contacts:person_edit", args=[organization.pk, person.pk])


def test_adding_another_organizations_contact_adds_the_role_but_her_details_stay_theirs(client, mine, grace):
    added = client.post(
        reverse("contacts:contact_add", args=[mine.pk]),
        {"email": "GRACE.LEE@example.org", "first_name": "G", "last_name": "L", "role": "staff", "confirm": "1"},
        follow=True,
    )
    assert CONTACT_KNOWN.format(email="grace.lee@example.org", person=grace, role="Staff") in [
        str(m) for m in added.context["messages"]
    ]
    assert mine.holders(Role.STAFF) == [grace]

    page = client.get(edit_url(mine, grace))
    assert page.status_code == 200
    html = page.content.decode()
    assert escape(services.PERSON_DETAILS_SHARED.format(person=grace)) in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0], "no edit form"

    refused = client.post(
        edit_url(mine, grace), {"first_name": "Changed", "last_name": "Lee", "phone": "(916) 555-0111"}
    )
    assert refused.status_code == 403
    grace.refresh_from_db()
    assert (grace.first_name, grace.phone) == ("Grace", "555-0300")


def test_a_contact_of_only_my_organizations_is_mine_to_edit(client, mine):
    other_of_mine = OrganizationFactory()
    services.role_assign(organization=other_of_mine, person=mine.primary_contact, role=Role.STAFF, by=None)
    ivy = InvitedUserFactory(first_name="Ivy")
    for organization in (mine, other_of_mine):
        services.role_assign(organization=organization, person=ivy, role=Role.STAFF, by=None)

    assert client.get(edit_url(mine, ivy)).context["form"] is not None
    response = client.post(
        edit_url(mine, ivy), {"first_name": "Ivy", "last_name": "Vine", "phone": "(916) 555-0101", "email": ivy.email}
    )
    assert response.status_code == 302
    ivy.refresh_from_db()
    assert ivy.last_name == "Vine"


def test_the_service_refuses_a_provider_changing_a_shared_contact(mine, grace):
    services.role_assign(organization=mine, person=grace, role=Role.STAFF, by=None)
    with pytest.raises(ValidationError) as error:
        services.person_update(person=grace, by=mine.primary_contact, first_name="Changed")
    assert error.value.messages == [services.PERSON_DETAILS_SHARED.format(person=grace)]


def test_cme_staff_may_change_a_shared_contact(mine, grace):
    services.role_assign(organization=mine, person=grace, role=Role.STAFF, by=None)
    services.person_update(person=grace, by=UserFactory(is_staff=True), first_name="Gracie")
    grace.refresh_from_db()
    assert grace.first_name == "Gracie"
