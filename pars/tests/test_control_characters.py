"""Single-line text refuses line breaks and other control characters: site forms, admin and services alike.

The fault: an organization name with a line break, accepted by the edit form,
made every hand-over email of that organization fail with BadHeaderError.
"""

import html
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.tests.factories import InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import Organization, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from pars.forms import PHONE_INVALID
from pars.validators import CONTROL_CHARACTERS, has_control_characters, single_line

pytestmark = pytest.mark.django_db

HOSTILE = ["Acme\r\nBcc: victim@example.org", "Acme\nCME", "Acme\x00", "Acme\u202eEMC", "Acme\u200bCME", "Acme\tCME"]


@pytest.mark.parametrize("text", HOSTILE)
def test_control_characters_are_found_and_made_one_line(text):
    assert has_control_characters(text)
    assert not has_control_characters(single_line(text))


@pytest.mark.parametrize("text", ["Acme CME", "Café Médical — Østergaard", "O'Brien, MD, MPH", ""])
def test_ordinary_text_passes(text):
    assert not has_control_characters(text)
    assert single_line(text) == text


def assert_refused_keeping_input(response, typed):
    assert response.status_code == 200
    page = response.content.decode()
    assert html.escape(CONTROL_CHARACTERS, quote=True) in page or CONTROL_CHARACTERS in page
    assert html.escape(typed.split("\n")[0]) in page


def test_organization_edit_page_refuses_a_name_with_a_line_break(client):
    organization = OrganizationFactory(name="Acme CME")
    client.force_login(organization.primary_contact)
    typed = "Acme\r\nBcc: victim@example.org"
    response = client.post(
        reverse("contacts:organization_edit", args=[organization.pk]), {"name": typed, "state": "CA"}
    )
    assert_refused_keeping_input(response, typed)
    assert response.context["form"].errors["name"] == [CONTROL_CHARACTERS]
    organization.refresh_from_db()
    assert organization.name == "Acme CME"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("first_name", CONTROL_CHARACTERS),
        ("last_name", CONTROL_CHARACTERS),
        ("credentials", CONTROL_CHARACTERS),
        ("job_title", CONTROL_CHARACTERS),
        ("phone", PHONE_INVALID),  # the phone's own format refuses it first
    ],
)
def test_add_contact_page_refuses_control_characters_in_each_detail(client, field, message):
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    data = {"email": "nia@example.org", "role": Role.STAFF, "first_name": "Nia", "last_name": "Long", field: "A\nB"}
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not organization.roles.filter(person__email="nia@example.org").exists()


def test_person_edit_page_refuses_a_job_title_with_a_bidi_override(client):
    organization = OrganizationFactory()
    person = InvitedUserFactory(job_title="Coordinator")
    services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    client.force_login(organization.primary_contact)
    url = reverse("contacts:person_edit", args=[organization.pk, person.pk])
    response = client.post(url, {"first_name": "Nia", "last_name": "Long", "job_title": "Coord\u202einator"})
    assert response.context["form"].errors["job_title"] == [CONTROL_CHARACTERS]
    person.refresh_from_db()
    assert person.job_title == "Coordinator"


def test_own_profile_refuses_a_name_with_a_line_break(client):
    person = UserFactory()
    OrganizationFactory(primary=person)
    client.force_login(person)
    data = {"first_name": "Jane\r\nX", "last_name": "Doe", "email": person.email}
    response = client.post(reverse("accounts:profile"), data)
    assert response.context["form"].errors["first_name"] == [CONTROL_CHARACTERS]


def test_admin_refuses_an_organization_name_with_a_line_break(client):
    from contacts.tests.test_admin_roster import change_form_data, change_url

    organization = OrganizationFactory(name="Acme CME")
    client.force_login(cme_staff(EDITORS))
    data = change_form_data(client, organization)
    data["name"] = "Acme\r\nBcc: victim@example.org"
    response = client.post(change_url(organization), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [CONTROL_CHARACTERS]
    organization.refresh_from_db()
    assert organization.name == "Acme CME"


def test_services_refuse_control_characters_whoever_calls_them():
    organization = OrganizationFactory(name="Acme CME")
    with pytest.raises(ValidationError) as refused:
        services.organization_update(organization=organization, by=None, name="Acme\nCME")
    assert refused.value.message_dict["name"] == [CONTROL_CHARACTERS]
    with pytest.raises(ValidationError) as refused:
        services.contact_add(
            organization=organization, email="nia@example.org", role=Role.STAFF, by=None, last_name="Long\r\n"
        )
    assert refused.value.message_dict["last_name"] == [CONTROL_CHARACTERS]


def test_data_migration_cleans_existing_values():
    organization = OrganizationFactory()
    person = UserFactory()
    Organization.objects.filter(pk=organization.pk).update(name="Acme\r\nCME", city="San\x1bJose")
    type(person).objects.filter(pk=person.pk).update(first_name="Ja\u202ene", job_title="Chief\nOfficer")
    contacts_migration = importlib.import_module("contacts.migrations.0007_email_queue")
    accounts_migration = importlib.import_module("accounts.migrations.0003_control_characters_refused")
    contacts_migration.organizations_single_line(apps, None)
    accounts_migration.people_single_line(apps, None)
    organization.refresh_from_db()
    person.refresh_from_db()
    assert (organization.name, organization.city) == ("Acme CME", "San Jose")
    assert (person.first_name, person.job_title) == ("Ja ne", "Chief Officer")
