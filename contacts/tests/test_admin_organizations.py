"""The organization list in the admin: its columns, filters and search, for each kind of CME staff."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.admin import FALLBACK_DISPLAY
from contacts.models import AccreditationStatus, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_organization_changelist")
STAFF_KINDS = [REVIEWERS, EDITORS, SUPERUSER]


@pytest.fixture(params=STAFF_KINDS)
def staff_client(request, client):
    client.force_login(cme_staff(request.param))
    return client


def person(first, last, **fields):
    return UserFactory(first_name=first, last_name=last, **fields)


@pytest.fixture
def full():
    """Every role filled: no fallback."""
    organization = OrganizationFactory(name="Sutter Health CME", primary=person("Jane", "Doe"), city="Sacramento")
    for role, holder in [
        (Role.BILLING, person("Bill", "Payne")),
        (Role.WEBSITE, person("Wendy", "Webb")),
        (Role.CEO, person("Carl", "Exec")),
        (Role.STAFF, person("Sam", "Staff")),
        (Role.TECHNICAL, person("Tess", "Tech")),
        (Role.MEDICAL_DIRECTOR, person("Med", "Director")),
    ]:
        services.role_assign(organization=organization, person=holder, role=role, by=None)
    services.contacts_confirm(organization=organization, by=organization.primary_contact)
    return organization


@pytest.fixture
def bare():
    """Only the Primary Contact: every fallback applies; never confirmed."""
    return OrganizationFactory(
        name="Kern Medical Education",
        primary=person("Pat", "Prime", email="pat.prime@kern.example"),
        city="Bakersfield",
        provider_id="CA77777",
        accreditor="ACCME",
        accreditation_status=AccreditationStatus.PROBATION,
    )


def names_listed(response):
    return [organization.name for organization in response.context["cl"].result_list]


def test_list_shows_each_contact_and_every_fallback_in_words(staff_client, full, bare):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Jane Doe" in html and "Bill Payne" in html and "Wendy Webb" in html
    assert FALLBACK_DISPLAY.format(person="Pat Prime", missing="billing contact") in html
    assert FALLBACK_DISPLAY.format(person="Pat Prime", missing="website contact") in html
    assert "Pat Prime (primary — no billing contact)" in html  # as the issue words it
    assert "CA77777" in html
    assert "Probation" in html


def test_list_counts_unfilled_roles_and_shows_when_contacts_were_confirmed(staff_client, full, bare):
    response = staff_client.get(CHANGELIST)
    cl = response.context["cl"]
    listed = {organization.pk: organization for organization in cl.result_list}
    admin = cl.model_admin
    assert ">0<" in admin.unfilled(listed[full.pk])
    assert ">6<" in admin.unfilled(listed[bare.pk])
    assert "Billing Contact, CEO Contact" in admin.unfilled(listed[bare.pk])
    assert admin.confirmed(listed[bare.pk]) == "Never"
    assert "(stale)" not in admin.confirmed(listed[full.pk])


def test_confirmation_older_than_the_period_is_marked_stale(client, settings, full):
    client.force_login(cme_staff(REVIEWERS))
    settings.CONTACTS_CONFIRM_PERIOD_DAYS = 30
    full.contacts_confirmed_at = timezone.now() - timedelta(days=31)
    full.save()
    response = client.get(CHANGELIST)
    assert "(stale)" in response.context["cl"].model_admin.confirmed(response.context["cl"].result_list[0])


@pytest.mark.parametrize(
    "role, expected",
    [
        (Role.BILLING, ["Kern Medical Education"]),
        (Role.WEBSITE, ["Kern Medical Education"]),
        (Role.CEO, ["Kern Medical Education"]),
        (Role.STAFF, ["Kern Medical Education"]),
        (Role.TECHNICAL, ["Kern Medical Education"]),
        (Role.MEDICAL_DIRECTOR, ["Kern Medical Education"]),
    ],
)
def test_unfilled_role_filter_lists_only_organizations_without_that_role(staff_client, full, bare, role, expected):
    response = staff_client.get(CHANGELIST, {"unfilled": role.value})
    assert names_listed(response) == expected
    assert f"No {role.label}" in response.content.decode()


def test_unfilled_role_filter_offers_the_six_roles_besides_the_primary(staff_client, bare):
    response = staff_client.get(CHANGELIST)
    html = response.content.decode()
    for role in Role:
        assert (f"No {role.label}" in html) == (role != Role.PRIMARY)


def test_unfilled_billing_filter_drops_an_organization_once_it_has_a_billing_contact(staff_client, bare):
    services.role_assign(organization=bare, person=UserFactory(), role=Role.BILLING, by=None)
    assert names_listed(staff_client.get(CHANGELIST, {"unfilled": "billing"})) == []


def test_contacts_confirmed_filter_separates_stale_from_current(staff_client, settings, full, bare):
    old = OrganizationFactory(name="Alameda CME")
    old.contacts_confirmed_at = timezone.now() - timedelta(days=settings.CONTACTS_CONFIRM_PERIOD_DAYS + 1)
    old.save()
    assert names_listed(staff_client.get(CHANGELIST, {"confirmed": "stale"})) == [
        "Alameda CME",
        "Kern Medical Education",
    ]
    assert names_listed(staff_client.get(CHANGELIST, {"confirmed": "current"})) == ["Sutter Health CME"]


def test_status_and_accreditor_filters(staff_client, full, bare):
    assert names_listed(staff_client.get(CHANGELIST, {"accreditation_status__exact": "probation"})) == [bare.name]
    assert names_listed(staff_client.get(CHANGELIST, {"accreditor": "ACCME"})) == [bare.name]
    assert names_listed(staff_client.get(CHANGELIST, {"accreditor": "CMA"})) == [full.name]


@pytest.mark.parametrize(
    "term, expected",
    [
        ("sutter", ["Sutter Health CME"]),
        ("CA77777", ["Kern Medical Education"]),
        ("bakersfield", ["Kern Medical Education"]),
        ("Payne", ["Sutter Health CME"]),
        ("wendy", ["Sutter Health CME"]),
        ("pat.prime@kern", ["Kern Medical Education"]),
        ("nobody-here", []),
    ],
)
def test_search_finds_organizations_by_name_id_city_and_contact(staff_client, full, bare, term, expected):
    assert names_listed(staff_client.get(CHANGELIST, {"q": term})) == expected


def test_search_lists_an_organization_once_when_several_of_its_contacts_match(staff_client, full):
    # Jane Doe holds two roles, and "e" matches every contact of the organization.
    services.role_assign(organization=full, person=full.primary_contact, role=Role.STAFF, by=None)
    response = staff_client.get(CHANGELIST, {"q": "e"})
    assert names_listed(response) == ["Sutter Health CME"]
    assert response.context["cl"].result_count == 1


def changelist_queries(client, count):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == count
    return len(queries)


def add_organizations(count):
    for _ in range(count):
        organization = OrganizationFactory()
        services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
        services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)


@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_list_makes_the_same_number_of_queries_for_5_or_50_organizations(client, django_assert_max_num_queries, kind):
    client.force_login(cme_staff(kind))
    add_organizations(5)
    with django_assert_max_num_queries(12):
        few = changelist_queries(client, 5)
    add_organizations(45)
    with django_assert_max_num_queries(12):
        many = changelist_queries(client, 50)
    assert few == many


def test_search_and_filters_keep_the_query_count_fixed(client, django_assert_max_num_queries):
    client.force_login(cme_staff(EDITORS))
    add_organizations(30)
    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST, {"q": "e", "unfilled": "website", "confirmed": "stale"})
    assert len(response.context["cl"].result_list) == 30


def test_list_names_the_unfilled_roles(staff_client, full, bare):
    response = staff_client.get(CHANGELIST)
    html = response.content.decode()
    assert "<strong>6</strong>: Billing Contact, CEO Contact, Staff, Website Contact" in html
