"""The dashboard and the Profile tab: what a contact sees, and at what cost in queries."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from contacts import services
from contacts.models import Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.views import NO_BILLING, NO_WEBSITE, VACANCIES

pytestmark = pytest.mark.django_db

# Exactly, however long the roster: the session with the signed-in person (one query, accounts.sessions),
# the organizations (or the organization) and the roster. The Profile tab adds one: the latest
# invitation of every contact who has not set a password.
DASHBOARD_QUERIES = 3
PROFILE_QUERIES = 4


def add(organization, role, person=None):
    person = person or UserFactory()
    services.role_assign(organization=organization, person=person, role=role, by=organization.primary_contact)
    return person


def staffed(count, primary=None):
    organization = OrganizationFactory(**({"primary": primary} if primary else {}))
    for _ in range(count):
        add(organization, Role.STAFF, InvitedUserFactory())
    add(organization, Role.TECHNICAL, InvitedUserFactory())
    return organization


def queries_of(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


# Dashboard


def test_person_with_one_organization_goes_straight_to_its_profile(client):
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    response = client.get(reverse("contacts:dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("contacts:profile", args=[organization.pk])


def test_dashboard_lists_my_organizations_with_unfilled_roles_and_confirmation(client):
    me = UserFactory()
    first = OrganizationFactory(primary=me, name="Alpha CME")
    second = OrganizationFactory(name="Beta CME")
    add(second, Role.STAFF, me)
    add(second, Role.BILLING)
    services.contacts_confirm(organization=second, by=second.primary_contact)
    OrganizationFactory(name="Gamma CME")
    client.force_login(me)
    response = client.get(reverse("contacts:dashboard"))
    html = response.content.decode()
    assert "Alpha CME" in html and "Beta CME" in html
    assert "Gamma CME" not in html
    # The optional roles not filled, said as such, with the fallback that applies.
    alpha, beta = html.split('id="org-')[1:3]
    assert "Alpha CME" in alpha  # needs attention (never confirmed): first
    assert "Optional roles not filled" in alpha and "Unfilled roles" not in html
    assert escape(NO_BILLING.format(person=me)) in alpha
    assert escape(NO_WEBSITE.format(person=me)) in alpha
    assert VACANCIES[Role.CEO] in alpha and VACANCIES[Role.CEO] in beta
    assert "No billing contact" not in beta
    assert "You are:</span> Primary Contact" in alpha
    assert "You are:</span> Staff" in beta
    assert f"by {second.primary_contact}" in html
    assert "Nobody has confirmed yet that the contacts of Alpha CME are current." in html
    assert html.count('class="alert alert-warning stale-banner"') == 1  # Alpha only
    assert reverse("contacts:profile", args=[first.pk]) in html


def test_dashboard_without_organizations_explains_and_names_the_support_address(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("contacts:dashboard"))
    assert response.status_code == 200
    assert "not a contact with access to any organization" in response.content.decode()
    assert f"mailto:{settings.SUPPORT_EMAIL}" in response.content.decode()


@pytest.mark.parametrize("staff_count", [3, 30])
def test_dashboard_queries_do_not_grow_with_the_rosters(client, django_assert_num_queries, staff_count):
    me = UserFactory()
    for _ in range(3):
        staffed(staff_count, primary=me)
    client.force_login(me)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert client.get(reverse("contacts:dashboard")).status_code == 200


def test_dashboard_costs_the_same_for_short_and_long_rosters(client):
    me = UserFactory()
    short, long_ = staffed(3, primary=me), staffed(30, primary=me)
    client.force_login(me)
    url = reverse("contacts:dashboard")
    before = queries_of(client, url)
    for _ in range(27):
        add(short, Role.STAFF)
    add(long_, Role.BILLING)
    OrganizationFactory(primary=me)
    assert queries_of(client, url) == before


# Profile tab


@pytest.fixture
def organization():
    primary = UserFactory(first_name="Jane", last_name="Doe", credentials="MD, MPH", job_title="CME Director")
    return OrganizationFactory(
        primary=primary, name="Sierra CME", provider_id="CA01234", website="https://sierra.example"
    )


def profile(client, organization, user=None):
    client.force_login(user or organization.primary_contact)
    return client.get(reverse("contacts:profile", args=[organization.pk])).content.decode()


def test_profile_shows_the_details(client, organization):
    html = profile(client, organization)
    assert "<h1" in html and html.count("<h1") == 1
    for text in ("Sierra CME", "CA01234", "CMA", "Accreditation", "1201 K Street", "(916) 555-0100"):
        assert text in html
    assert 'href="https://sierra.example"' in html


def test_profile_lists_the_seven_roles_in_order(client, organization):
    html = profile(client, organization)
    positions = [html.index(f'id="role-{role.value}"') for role in Role]
    assert positions == sorted(positions)


def test_unfilled_billing_and_website_name_the_primary_fallback(client, organization):
    html = profile(client, organization)
    assert NO_BILLING.format(person="Jane Doe") in html
    assert NO_WEBSITE.format(person="Jane Doe") in html
    assert VACANCIES[Role.CEO] in html
    assert VACANCIES[Role.MEDICAL_DIRECTOR] in html


def test_filled_billing_role_shows_its_holder_not_the_fallback(client, organization):
    add(organization, Role.BILLING, UserFactory(first_name="Bill", last_name="Payer"))
    html = profile(client, organization)
    assert "Bill Payer" in html
    assert "No billing contact" not in html


def test_holders_show_their_details_and_the_invited_badge(client, organization):
    invited = add(organization, Role.STAFF, InvitedUserFactory(first_name="Ina", last_name="Vited"))
    html = profile(client, organization)
    assert "Jane Doe</span>, MD, MPH" in html
    assert "CME Director" in html
    assert f"mailto:{organization.primary_contact.email}" in html
    assert html.count("Has not set a password yet") == 1
    assert reverse("contacts:person_edit", args=[organization.pk, invited.pk]) in html
    assert reverse("contacts:person_edit", args=[organization.pk, organization.primary_contact.pk]) not in html


def test_billing_contact_without_a_password_is_marked_as_never_signing_in(client, organization):
    add(organization, Role.BILLING, InvitedUserFactory(first_name="Bill", last_name="Payer"))
    html = profile(client, organization)
    assert "Receives email; does not sign in" in html
    assert "Has not set a password yet" not in html


def test_primary_has_no_remove_button_but_a_hand_over(client, organization):
    staff = add(organization, Role.STAFF)
    html = profile(client, organization)
    primary_role = organization.roles.get(role=Role.PRIMARY)
    staff_role = organization.roles.get(person=staff)
    assert reverse("contacts:role_remove", args=[organization.pk, primary_role.pk]) not in html
    assert reverse("contacts:role_remove", args=[organization.pk, staff_role.pk]) in html
    assert reverse("contacts:primary_transfer", args=[organization.pk]) in html


def test_profile_shows_the_stale_banner_until_confirmed(client, organization):
    assert "Confirm contacts are current</button>" in profile(client, organization)
    services.contacts_confirm(organization=organization, by=organization.primary_contact)
    html = profile(client, organization)
    assert "stale-banner" not in html
    assert "Jane Doe" in html.split("Contacts last confirmed")[1][:200]


@pytest.mark.parametrize("staff_count", [3, 30])
def test_profile_queries_do_not_grow_with_the_roster(client, django_assert_num_queries, staff_count):
    organization = staffed(staff_count)
    services.contacts_confirm(organization=organization, by=organization.primary_contact)
    client.force_login(organization.primary_contact)
    with django_assert_num_queries(PROFILE_QUERIES):
        assert client.get(reverse("contacts:profile", args=[organization.pk])).status_code == 200


def test_profile_costs_the_same_for_short_and_long_rosters(client):
    short, long_ = staffed(3), staffed(30, primary=UserFactory())
    client.force_login(short.primary_contact)
    short_queries = queries_of(client, reverse("contacts:profile", args=[short.pk]))
    client.force_login(long_.primary_contact)
    assert queries_of(client, reverse("contacts:profile", args=[long_.pk])) == short_queries


# The other pages: exactly this many queries, for a short and a long roster alike.
PAGE_QUERIES = {
    "organization_edit": 2,
    "contact_add": 2,
    "role_assign": 3,
    "primary_transfer": 3,
    "person_edit": 4,  # one more than a plain form page: is the person another organization's contact too?
    "role_remove": 4,
}


@pytest.mark.parametrize("staff_count", [3, 30])
@pytest.mark.parametrize(("name", "most"), PAGE_QUERIES.items())
def test_form_pages_queries_do_not_grow_with_the_roster(client, django_assert_num_queries, name, most, staff_count):
    organization = staffed(staff_count)
    invited = organization.holders(Role.STAFF)[0]
    args = {
        "role_assign": [organization.pk, "billing"],
        "person_edit": [organization.pk, invited.pk],
        "role_remove": [organization.pk, organization.roles.get(person=invited).pk],
    }.get(name, [organization.pk])
    client.force_login(organization.primary_contact)
    with django_assert_num_queries(most):
        assert client.get(reverse(f"contacts:{name}", args=args)).status_code == 200


def test_profile_puts_the_confirmation_after_the_roster_and_the_banner_links_down_to_it(client, organization):
    html = profile(client, organization)
    assert 'href="#confirm-contacts"' in html.split('class="alert alert-warning stale-banner"')[1][:1200]
    roster, confirmation, details = (
        html.index('id="roster-heading"'),
        html.index("Is everything above correct?"),
        html.index('id="details-heading"'),
    )
    assert roster < confirmation < details  # on a phone the contacts come first, and the button after them
    assert html.count("Confirm contacts are current</button>") == 1


def test_profile_phone_numbers_dial_and_websites_read_without_the_scheme(client, organization):
    services.organization_update(
        organization=organization, by=None, phone="(916) 555-0142", website="https://www.svms.example/"
    )
    html = profile(client, organization)
    assert '<a class="phone" href="tel:+19165550142">(916) 555-0142</a>' in html
    assert ">www.svms.example</a>" in html


def test_dashboard_lists_organizations_that_need_attention_first(client):
    me = UserFactory()
    current = OrganizationFactory(primary=me, name="Alpha CME")
    services.contacts_confirm(organization=current, by=me)
    OrganizationFactory(primary=me, name="Zulu CME")  # never confirmed: needs attention
    client.force_login(me)
    html = client.get(reverse("contacts:dashboard")).content.decode()
    assert html.index("Zulu CME") < html.index("Alpha CME")
