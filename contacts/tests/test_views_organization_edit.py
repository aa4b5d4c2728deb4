"""Editing an organization's details."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from contacts.forms import OrganizationForm
from contacts.models import AccreditationStatus
from contacts.tests.factories import OrganizationFactory
from pars.forms import REQUIRED, URL_INVALID

pytestmark = pytest.mark.django_db

DETAILS = {
    "name": "Sierra Nevada CME",
    "street_address": "2 Main Street",
    "city": "Truckee",
    "state": "CA",
    "zip_code": "96161",
    "phone": "(530) 555-0100",
    "website": "https://sierra.example",
}


@pytest.fixture
def organization(client):
    organization = OrganizationFactory(accreditation_status=AccreditationStatus.PROVISIONAL)
    client.force_login(organization.primary_contact)
    return organization


def test_saving_details_records_who_changed_them(client, organization):
    response = client.post(reverse("contacts:organization_edit", args=[organization.pk]), DETAILS)
    assert response.url == reverse("contacts:profile", args=[organization.pk])
    organization.refresh_from_db()
    assert (organization.name, organization.city, organization.phone) == (
        "Sierra Nevada CME",
        "Truckee",
        "(530) 555-0100",
    )
    assert organization.search_text == "sierra nevada cme truckee"
    assert organization.history.latest().history_user == organization.primary_contact


def test_accreditation_and_confirmation_are_not_the_providers_to_edit(client, organization):
    data = {
        **DETAILS,
        "accreditation_status": AccreditationStatus.COMMENDATION,
        "provider_id": "CA99999",
        "contacts_confirmed_at": "2026-01-01 00:00",
    }
    client.post(reverse("contacts:organization_edit", args=[organization.pk]), data)
    organization.refresh_from_db()
    assert organization.accreditation_status == AccreditationStatus.PROVISIONAL
    assert organization.provider_id != "CA99999"
    assert organization.contacts_confirmed_at is None


def test_invalid_details_re_render_with_messages_and_keep_the_input(client, organization):
    data = {**DETAILS, "name": "", "website": "not a website"}
    response = client.post(reverse("contacts:organization_edit", args=[organization.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(REQUIRED.format(what=OrganizationForm.required_messages["name"])) in html
    assert URL_INVALID in html
    assert html.count(URL_INVALID) == 2  # in the error summary at the top, and under the field
    assert 'value="Truckee"' in html
    organization.refresh_from_db()
    assert organization.city == "Sacramento"


def test_the_heading_keeps_the_saved_name_while_the_form_has_errors(client, organization):
    data = {**DETAILS, "website": "not a website"}
    html = client.post(reverse("contacts:organization_edit", args=[organization.pk]), data).content.decode()
    assert f"<h1>Edit the details of {organization.name}</h1>" in html
    assert 'value="Sierra Nevada CME"' in html
