"""Organizations and roles: what the models compute from the roster and the dates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import services
from contacts.models import (
    ACCESS_ROLES,
    NO_ACCESS_ROLES,
    SINGULAR_ROLES,
    AccreditationStatus,
    Organization,
    Role,
    search_normalize,
)
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_seven_roles_and_their_cardinality():
    assert [role.label for role in Role] == [
        "Primary Contact",
        "Billing Contact",
        "CEO Contact",
        "Staff",
        "Website Contact",
        "Technical Contact",
        "Medical Director",
    ]
    assert set(Role) - set(SINGULAR_ROLES) == {Role.STAFF}
    assert set(NO_ACCESS_ROLES) == {Role.BILLING, Role.CEO}
    assert set(ACCESS_ROLES) | set(NO_ACCESS_ROLES) == set(Role)


def test_factory_organization_comes_with_exactly_one_primary():
    organization = OrganizationFactory()
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1
    assert organization.primary_contact is not None


def test_unfilled_roles_lists_every_empty_role_but_never_the_primary():
    organization = OrganizationFactory()
    assert organization.unfilled_roles() == [role for role in Role if role != Role.PRIMARY]
    services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)
    assert Role.BILLING not in organization.unfilled_roles()
    assert Role.STAFF not in organization.unfilled_roles()
    assert Role.WEBSITE in organization.unfilled_roles()


def test_holders_lists_every_staff_member():
    organization = OrganizationFactory()
    staff = UserFactory.create_batch(3)
    for person in staff:
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    assert sorted(p.pk for p in organization.holders(Role.STAFF)) == sorted(p.pk for p in staff)
    assert organization.holder(Role.WEBSITE) is None


def test_contacts_never_confirmed_are_stale():
    assert OrganizationFactory().contacts_are_stale


@pytest.mark.parametrize(("days_ago", "stale"), [(0, False), (364, False), (366, True), (400, True)])
def test_contacts_go_stale_after_the_configured_period(days_ago, stale):
    organization = OrganizationFactory()
    organization.contacts_confirmed_at = timezone.now() - timedelta(days=days_ago)
    organization.save()
    assert organization.contacts_are_stale is stale
    assert Organization.objects.stale().filter(pk=organization.pk).exists() is stale


def test_confirmation_period_is_configurable(settings):
    settings.CONTACTS_CONFIRM_PERIOD_DAYS = 30
    organization = OrganizationFactory(contacts_confirmed_at=timezone.now() - timedelta(days=31))
    assert organization.contacts_are_stale
    assert list(Organization.objects.stale()) == [organization]


def test_directory_lists_accredited_organizations_that_chose_to_be_listed():
    listed = OrganizationFactory(accreditation_status=AccreditationStatus.PROBATION)
    OrganizationFactory(accreditation_status=AccreditationStatus.NONACCREDITATION)
    OrganizationFactory(listed_in_directory=False)
    assert list(Organization.objects.in_directory()) == [listed]


def test_search_text_is_lower_case_without_accents_and_follows_renames():
    organization = OrganizationFactory(name="Clínica  Médica del Valle", city="San José")
    assert organization.search_text == "clinica medica del valle san jose"
    services.organization_update(organization=organization, by=None, city="Salinas")
    organization.refresh_from_db()
    assert organization.search_text == "clinica medica del valle salinas"


def test_search_text_follows_a_save_of_only_the_name():
    organization = OrganizationFactory(name="Old", city="Fresno")
    organization.name = "Nuevo Hospital"
    organization.save(update_fields=["name"])
    organization.refresh_from_db()
    assert organization.search_text == "nuevo hospital fresno"


def test_search_normalize_folds_case_accents_and_spaces():
    assert search_normalize("  Café\tMÉDICAL  ") == "cafe medical"
    assert search_normalize(None) == ""


def test_role_reads_as_a_sentence():
    organization = OrganizationFactory(name="Valley CME")
    person = UserFactory(first_name="Jane", last_name="Doe")
    contact_role = services.role_assign(
        organization=organization, person=person, role=Role.WEBSITE, by=None
    ).contact_role
    assert str(contact_role) == "Jane Doe — Website Contact at Valley CME"


def test_organization_links_to_its_profile():
    organization = OrganizationFactory()
    assert organization.get_absolute_url() == f"/organizations/{organization.pk}/"
