import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import services
from contacts.models import AccreditationStatus, Organization, Role
from contacts.public_views import MORE_THAN_CAP, REFINE_SEARCH, CappedPaginator, directory_accreditors
from contacts.tests.directory_checks import (
    BAD_SEARCHES,
    assert_publishes_only_website_contact,
    counted_providers,
    full_roster_organization,
)
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

DIRECTORY = reverse("contacts:directory")
# Per page, whatever the number of providers: the count, the page, its published
# contacts, and the accreditors for the filter; before them, for an anonymous
# visitor's page (the shared one, contacts.caching), the version it is cached under.
DIRECTORY_QUERIES = 5
PROVIDER_QUERIES = 2


def provider_url(organization):
    return reverse("contacts:provider", args=[organization.pk])


def names_in(response):
    return [organization.name for organization in response.context["organizations"]]


def person(**fields):
    return UserFactory(**fields)


@pytest.fixture
def full_roster():
    return full_roster_organization()


def assert_shows_only_website_contact(html, people):
    assert_publishes_only_website_contact(html, people)
    assert f'href="mailto:{people[Role.WEBSITE].email}"' in html


# Who is published


def test_directory_shows_website_contact_and_no_one_else(client, full_roster):
    _organization, people = full_roster

    response = client.get(DIRECTORY)

    assert response.status_code == 200
    assert_shows_only_website_contact(response.content.decode(), people)


def test_provider_page_shows_website_contact_and_no_one_else(client, full_roster):
    organization, people = full_roster

    response = client.get(provider_url(organization))

    assert response.status_code == 200
    assert_shows_only_website_contact(response.content.decode(), people)


def test_without_website_contact_the_primary_is_published(client):
    primary = person(first_name="Pat", last_name="Primary", credentials="DO", phone="(530) 555-0199")
    staff = person(first_name="Sam", last_name="Staffer", email="sam.staffer@private.example")
    organization = OrganizationFactory(name="Primary Only Clinic", primary=primary)
    services.role_assign(organization=organization, person=staff, role=Role.STAFF, by=None)

    for url in (DIRECTORY, provider_url(organization)):
        html = client.get(url).content.decode()
        assert "Pat Primary, DO" in html
        assert "(530) 555-0199" in html
        assert f'href="mailto:{primary.email}"' in html
        assert "Staffer" not in html
        assert "sam.staffer@private.example" not in html


def test_provider_facts_are_shown_with_a_real_website_link(client):
    organization = OrganizationFactory(
        name="Fresno Heart Education",
        accreditor="CMA",
        accreditation_status=AccreditationStatus.COMMENDATION,
        city="Fresno",
        state="CA",
        street_address="55 Public Way",
        zip_code="93721",
        phone="(559) 555-0123",
        website="https://heart.example.org/cme",
    )

    directory_html = client.get(DIRECTORY).content.decode()
    provider_html = client.get(provider_url(organization)).content.decode()

    assert f'href="{provider_url(organization)}"' in directory_html
    for html in (directory_html, provider_html):
        assert "Accreditation with Commendation" in html
        assert "Fresno, CA" in html
        assert '<a href="https://heart.example.org/cme" rel="external noopener"' in html
    assert "55 Public Way" in provider_html
    assert "(559) 555-0123" in provider_html


# Who is listed


@pytest.mark.parametrize(
    "hidden",
    [
        {"listed_in_directory": False, "accreditation_status": AccreditationStatus.ACCREDITATION},
        {"listed_in_directory": True, "accreditation_status": AccreditationStatus.NONACCREDITATION},
    ],
    ids=["unlisted", "nonaccredited"],
)
def test_unlisted_or_unaccredited_provider_is_absent_and_its_page_is_404(client, hidden):
    OrganizationFactory(name="Listed Institute")
    organization = OrganizationFactory(name="Hidden Institute", **hidden)

    response = client.get(DIRECTORY)

    assert names_in(response) == ["Listed Institute"]
    assert "Hidden Institute" not in response.content.decode()
    assert client.get(provider_url(organization)).status_code == 404
    assert names_in(client.get(DIRECTORY, {"q": "hidden"})) == []


def test_every_accredited_status_is_listed(client):
    for status in (
        AccreditationStatus.PROVISIONAL,
        AccreditationStatus.ACCREDITATION,
        AccreditationStatus.COMMENDATION,
        AccreditationStatus.PROBATION,
    ):
        OrganizationFactory(name=f"Provider on {status.label}", accreditation_status=status)

    assert len(names_in(client.get(DIRECTORY))) == 4


def test_missing_provider_page_is_404(client):
    assert client.get(reverse("contacts:provider", args=[999999])).status_code == 404


def test_directory_needs_no_sign_in_and_is_sorted_by_name(client):
    for name in ("Zeta Learning", "Alpha Medical", "Mid Valley CME"):
        OrganizationFactory(name=name)

    response = client.get(DIRECTORY)

    assert response.status_code == 200
    assert names_in(response) == ["Alpha Medical", "Mid Valley CME", "Zeta Learning"]


# Search


@pytest.fixture
def searchable():
    OrganizationFactory(name="Café Médical", city="Los Angeles")
    OrganizationFactory(name="Bay Area Pediatrics", city="San José")
    OrganizationFactory(name="Sacramento Surgical Society", city="Sacramento")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cafe", ["Café Médical"]),
        ("CAFÉ médical", ["Café Médical"]),
        ("SAN JOSE", ["Bay Area Pediatrics"]),
        ("san josé", ["Bay Area Pediatrics"]),
        ("pediatrics jose", ["Bay Area Pediatrics"]),
        ("sacramento", ["Sacramento Surgical Society"]),
        ("  surgical   SOCIETY ", ["Sacramento Surgical Society"]),
        ("pediatrics sacramento", []),
        ("50%", []),
    ],
)
def test_search_by_name_or_city_ignores_case_and_accents_and_needs_every_word(client, searchable, query, expected):
    response = client.get(DIRECTORY, {"q": query})

    assert response.status_code == 200
    assert names_in(response) == expected


def test_search_that_finds_nothing_says_so_and_keeps_the_query(client, searchable):
    html = client.get(DIRECTORY, {"q": "orthodontics"}).content.decode()

    assert "No accredited provider matches your search." in html
    assert 'value="orthodontics"' in html


def test_search_renamed_provider_by_its_new_name(client):
    organization = OrganizationFactory(name="Old Name Institute")
    services.organization_update(organization=organization, by=None, name="Nouvelle Médecine", city="Chico")

    assert names_in(client.get(DIRECTORY, {"q": "nouvelle medecine chico"})) == ["Nouvelle Médecine"]
    assert names_in(client.get(DIRECTORY, {"q": "old name"})) == []


# Filters and pagination


def test_status_and_accreditor_filters_combine_with_search(client):
    OrganizationFactory(name="Delta One", accreditation_status=AccreditationStatus.PROBATION, accreditor="CMA")
    OrganizationFactory(name="Delta Two", accreditation_status=AccreditationStatus.PROBATION, accreditor="ACCME")
    OrganizationFactory(name="Delta Three", accreditation_status=AccreditationStatus.ACCREDITATION, accreditor="CMA")
    OrganizationFactory(name="Echo Four", accreditation_status=AccreditationStatus.PROBATION, accreditor="CMA")

    assert names_in(client.get(DIRECTORY, {"status": "probation"})) == ["Delta One", "Delta Two", "Echo Four"]
    assert names_in(client.get(DIRECTORY, {"accreditor": "ACCME"})) == ["Delta Two"]
    assert names_in(client.get(DIRECTORY, {"q": "delta", "status": "probation", "accreditor": "CMA"})) == ["Delta One"]


def test_accreditor_filter_offers_only_accreditors_of_listed_providers(client):
    OrganizationFactory(accreditor="CMA")
    OrganizationFactory(accreditor="ACCME")
    OrganizationFactory(accreditor="Hidden Board", listed_in_directory=False)

    choices = [value for value, _ in client.get(DIRECTORY).context["form"].fields["accreditor"].choices]

    assert choices == ["", "ACCME", "CMA"]


@pytest.mark.parametrize(("params", "message"), BAD_SEARCHES)
def test_bad_filter_shows_a_message_and_no_results(client, params, message):
    OrganizationFactory(name="Any Provider")

    response = client.get(DIRECTORY, params)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert names_in(response) == []


@pytest.fixture
def twenty_five_on_probation():
    for n in range(25):
        OrganizationFactory(name=f"Probation Provider {n:02d}", accreditation_status=AccreditationStatus.PROBATION)
    OrganizationFactory(name="Probation Provider Accredited", accreditation_status=AccreditationStatus.ACCREDITATION)


def test_pagination_keeps_search_and_filters(client, twenty_five_on_probation):
    first = client.get(DIRECTORY, {"q": "probation provider", "status": "probation"})
    html = first.content.decode()

    assert len(names_in(first)) == 20
    assert 'href="?q=probation+provider&amp;status=probation&amp;page=2"' in html

    second = client.get(DIRECTORY, {"q": "probation provider", "status": "probation", "page": "2"})

    assert names_in(second) == [f"Probation Provider {n:02d}" for n in range(20, 25)]
    assert 'href="?q=probation+provider&amp;status=probation&amp;page=1"' in second.content.decode()


@pytest.mark.parametrize(("page", "expected_page"), [("abc", 1), ("9999", 2), ("0", 1), ("-3", 1), ("", 1), ("2", 2)])
def test_page_out_of_range_or_not_a_number_shows_a_page_not_an_error(
    client, twenty_five_on_probation, page, expected_page
):
    response = client.get(DIRECTORY, {"page": page})

    assert response.status_code == 200
    assert response.context["page_obj"].number == expected_page


# Query counts


@pytest.mark.parametrize("providers", [3, 40])
def test_directory_query_count_is_fixed(client, django_assert_max_num_queries, providers):
    counted_providers(providers)

    with django_assert_max_num_queries(DIRECTORY_QUERIES):
        response = client.get(DIRECTORY, {"q": "counted", "page": "1"})
    assert len(names_in(response)) == min(providers, 20)

    with django_assert_max_num_queries(DIRECTORY_QUERIES):
        client.get(DIRECTORY, {"status": "accreditation", "accreditor": "Board 1", "page": "2"})


def test_provider_page_query_count_is_fixed(client, django_assert_max_num_queries, full_roster):
    organization, _ = full_roster

    with django_assert_max_num_queries(PROVIDER_QUERIES):
        assert client.get(provider_url(organization)).status_code == 200


# PostgreSQL indexes (migration 0004)


def _plan(queryset, forbid=("seqscan",)):
    sql, params = queryset.query.sql_with_params()
    return _plan_sql(sql, params, forbid)


def _plan_sql(sql, params=(), forbid=("seqscan",)):
    with connection.cursor() as cursor:
        # Tiny tables are read sequentially and sorted anyway; forbid that to see which index can serve.
        for method in forbid:
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_search_can_use_the_trigram_index(searchable):
    # The directory's own filter would also match the partial name index; this shows the LIKE alone is served.
    plan = _plan(Organization.objects.filter(search_text__contains="pediatr"))

    assert "contacts_org_search_trgm" in plan


@pytest.mark.postgres
def test_unfiltered_listing_can_read_the_directory_index_in_name_order(searchable):
    plan = _plan(Organization.objects.in_directory().order_by("name", "pk")[:20], forbid=("seqscan", "sort"))

    assert "contacts_org_directory_name" in plan


def test_accreditor_choices_are_empty_without_listed_providers(client):
    OrganizationFactory(accreditor="CMA", listed_in_directory=False)

    choices = [value for value, _ in client.get(DIRECTORY).context["form"].fields["accreditor"].choices]

    assert choices == [""]


@pytest.mark.postgres
def test_accreditor_choices_probe_the_accreditor_index(searchable):
    with CaptureQueriesContext(connection) as queries:
        assert directory_accreditors() == ["CMA"]

    assert "contacts_org_directory_accreditor" in _plan_sql(queries[0]["sql"])


def test_a_search_past_the_cap_says_more_than_and_asks_to_refine_it(client, twenty_five_on_probation, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 20)

    response = client.get(DIRECTORY, {"q": "probation provider", "page": "9999"})

    assert response.status_code == 200
    html = response.content.decode()
    assert MORE_THAN_CAP.format(cap=20) + " found, page 1 of 1" in " ".join(html.split())
    assert REFINE_SEARCH.format(cap=20) in html
    assert len(names_in(response)) == 20


def test_a_search_within_the_cap_is_counted_exactly(client, twenty_five_on_probation, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 26)

    html = " ".join(client.get(DIRECTORY, {"q": "probation provider"}).content.decode().split())

    assert "26 providers found, page 1 of 2" in html
    assert REFINE_SEARCH.format(cap=26) not in html


def test_the_accreditor_filter_shows_only_when_there_is_a_choice(client):
    OrganizationFactory(accreditor="CMA")
    html = client.get(reverse("contacts:directory")).content.decode()
    assert '<select name="accreditor"' not in html
    OrganizationFactory(accreditor="ACCME")
    html = client.get(reverse("contacts:directory")).content.decode()
    assert '<select name="accreditor"' in html
