"""Required contacts (CONTACTS_REQUIRED_ROLES): "Needed", not "optional", wherever a missing one shows."""

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Organization, Role
from contacts.reminders import reminders_send
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import REVIEWERS, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_organization_changelist")


@pytest.fixture
def lacking_ceo():
    """Billing filled, CEO not, contacts confirmed: incomplete only for the CEO."""
    organization = OrganizationFactory(name="Kern Medical Education")
    services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    return services.contacts_confirm(organization=organization, by=organization.primary_contact)


@pytest.fixture
def complete():
    organization = OrganizationFactory(name="Sutter Health CME")
    for role in (Role.BILLING, Role.CEO):
        services.role_assign(organization=organization, person=UserFactory(), role=role, by=None)
    return services.contacts_confirm(organization=organization, by=organization.primary_contact)


def test_one_answer_for_missing_roles_and_completeness(lacking_ceo, complete, settings):
    assert lacking_ceo.missing_required_roles() == [Role.CEO]
    assert not lacking_ceo.is_complete
    assert complete.missing_required_roles() == [] and complete.is_complete
    assert list(Organization.objects.missing_required()) == [lacking_ceo]
    assert list(Organization.objects.complete()) == [complete]
    settings.CONTACTS_REQUIRED_ROLES = ["billing"]
    assert lacking_ceo.missing_required_roles() == [] and lacking_ceo.is_complete


def test_confirmed_contacts_are_needed_for_complete(complete, settings):
    settings.CONTACTS_CONFIRM_PERIOD_DAYS = 0
    assert not complete.is_complete
    assert list(Organization.objects.incomplete()) == [complete]


def test_profile_tab_says_needed_for_a_required_role_and_optional_for_the_others(client, lacking_ceo):
    client.force_login(lacking_ceo.primary_contact)
    html = client.get(lacking_ceo.get_absolute_url()).content.decode()
    assert '<span class="badge text-bg-warning">Needed</span> No CEO contact assigned.' in html
    assert "No technical contact assigned. (optional)" in html
    assert "No CEO contact assigned. (optional)" not in html


def test_dashboard_lists_needed_roles_apart_from_optional_ones(client, lacking_ceo):
    person = lacking_ceo.primary_contact
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    client.force_login(person)
    html = client.get(reverse("contacts:dashboard")).content.decode()
    needed = html.index("Needed: required roles not filled")
    optional = html.index("Optional roles not filled")
    assert needed < html.index("No CEO contact assigned.", needed) < optional


def test_reminder_email_marks_a_missing_required_role_needed(settings):
    OrganizationFactory(name="Kern Medical Education")
    reminders_send()
    [message] = run_email_worker()
    assert f"CEO Contact: not set (Needed: {settings.ACCREDITOR_SHORT_NAME} requires this role)" in message.body
    assert "Technical Contact: not set (optional)" in message.body
    assert "Needed: " in message.alternatives[0][0]


def test_admin_column_and_filter_show_incomplete_organizations(client, lacking_ceo, complete):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(CHANGELIST)
    html = response.content.decode()
    assert "Needed: CEO Contact" in html
    assert '<td class="field-completeness">Complete</td>' in html
    listed = client.get(CHANGELIST, {"required": "missing"}).context["cl"].result_list
    assert [organization.name for organization in listed] == ["Kern Medical Education"]
    listed = client.get(CHANGELIST, {"required": "complete"}).context["cl"].result_list
    assert [organization.name for organization in listed] == ["Sutter Health CME"]
