"""Every change to an organization, its roster and a person's details is kept, with who made it and when."""

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def latest(instance):
    return instance.history.order_by("-history_id").first()


def role_history(organization):
    """(change, role, person, by) for each roster change, oldest first."""
    return [
        (h.history_type, h.role, h.person_id, h.history_user)
        for h in organization.roles.model.history.filter(organization_id=organization.pk).order_by("history_id")
    ]


def test_creating_an_organization_records_who_created_it_and_its_primary():
    editor, primary = UserFactory(), UserFactory()
    organization = services.organization_create(
        primary=primary, by=editor, name="Cedars CME", provider_id="CA20001"
    ).organization
    assert (latest(organization).history_type, latest(organization).history_user) == ("+", editor)
    assert role_history(organization) == [("+", Role.PRIMARY, primary.pk, editor)]


def test_editing_an_organization_records_who_changed_what_and_when():
    organization = OrganizationFactory(name="Old Name")
    editor = organization.primary_contact
    services.organization_update(organization=organization, by=editor, name="New Name", city="Fresno")
    record = latest(organization)
    assert (record.history_type, record.history_user, record.name, record.city) == ("~", editor, "New Name", "Fresno")
    assert record.history_date is not None
    change = record.diff_against(record.prev_record)
    assert {c.field for c in change.changes} == {"name", "city"}


def test_confirming_contacts_records_who_confirmed():
    organization = OrganizationFactory()
    person = organization.primary_contact
    services.contacts_confirm(organization=organization, by=person)
    record = latest(organization)
    assert (record.history_user, record.contacts_confirmed_by_id) == (person, person.pk)


def test_adding_a_role_records_who_added_it():
    organization = OrganizationFactory()
    editor, staff = organization.primary_contact, UserFactory()
    services.role_assign(organization=organization, person=staff, role=Role.STAFF, by=editor)
    assert role_history(organization)[-1] == ("+", Role.STAFF, staff.pk, editor)


def test_replacing_a_role_holder_records_the_removal_and_the_addition_by_the_same_person():
    organization = OrganizationFactory()
    editor, old, new = organization.primary_contact, UserFactory(), UserFactory()
    services.role_assign(organization=organization, person=old, role=Role.BILLING, by=editor)
    services.role_replace(organization=organization, role=Role.BILLING, to=new, by=editor)
    assert role_history(organization)[-2:] == [
        ("-", Role.BILLING, old.pk, editor),
        ("+", Role.BILLING, new.pk, editor),
    ]


def test_removing_a_role_records_who_removed_it():
    organization = OrganizationFactory()
    editor, staff = organization.primary_contact, UserFactory()
    contact_role = services.role_assign(
        organization=organization, person=staff, role=Role.STAFF, by=editor
    ).contact_role
    services.role_remove(contact_role=contact_role, by=editor)
    assert role_history(organization)[-1] == ("-", Role.STAFF, staff.pk, editor)


def test_handing_over_the_primary_records_the_new_holder_and_who_handed_over():
    organization = OrganizationFactory()
    previous, new = organization.primary_contact, UserFactory()
    services.primary_contact_transfer(organization=organization, to=new, by=previous)
    history = role_history(organization)
    assert history[-1] == ("~", Role.PRIMARY, new.pk, previous)
    assert history[-2][2] == previous.pk


def test_adding_a_new_person_records_who_added_them():
    organization = OrganizationFactory()
    editor = organization.primary_contact
    contact_role = services.contact_add(
        organization=organization, email="new.contact@example.org", role=Role.STAFF, by=editor, first_name="Ana"
    )
    record = latest(contact_role.person)
    assert (record.history_type, record.history_user, record.first_name) == ("+", editor, "Ana")


def test_editing_a_persons_details_records_who_edited_them():
    person, editor = UserFactory(job_title="Coordinator"), UserFactory()
    person.job_title = "Director of CME"
    person._history_user = editor
    person.save()
    record = latest(person)
    assert (record.history_type, record.history_user, record.job_title) == ("~", editor, "Director of CME")


def test_person_editing_their_own_profile_on_the_site_is_recorded_as_the_editor(client):
    organization = OrganizationFactory()
    person = organization.primary_contact
    client.force_login(person)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": person.first_name,
            "last_name": "Renamed",
            "credentials": person.credentials,
            "job_title": person.job_title,
            "phone": person.phone,
            "email": person.email,
        },
    )
    assert response.status_code == 302
    record = latest(person)
    assert (record.history_user, record.last_name) == (person, "Renamed")


def test_history_never_keeps_password_hashes():
    person = UserFactory()
    person.set_password("another-long-passphrase")
    person.save()
    assert not hasattr(latest(person), "password")
