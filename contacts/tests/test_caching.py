"""A cached page is never stale: every service (and every other write) moves the version it is cached under.

The directory page (anonymous visitors, per query string) and the Profile tab's
roster are drawn once, then changed through each service; the next request shows
the change.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.caching import ROSTER_TEMPLATE
from contacts.models import EmailLog, Role
from contacts.tests.factories import PASSWORD, InvitedUserFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

DIRECTORY = reverse("contacts:directory")
# A cached directory page costs one query: its version.
DIRECTORY_CACHED_QUERIES = 1


@pytest.fixture
def organization():
    organization = OrganizationFactory(name="Cached Heart Institute")
    services.contact_add(
        organization=organization, email="wendy@example.org", role=Role.WEBSITE, by=None,
        first_name="Wendy", last_name="Webb", phone="(916) 555-0001",
    )  # fmt: skip
    return organization


def _website(organization):
    return organization.roles.get(role=Role.WEBSITE)


# Each change: (what it does, text the pages show afterwards).
CHANGES = {
    "organization_update": (
        lambda org: services.organization_update(organization=org, name="Renamed Heart Institute", by=None),
        "Renamed Heart Institute",
    ),
    "person_update": (
        lambda org: services.person_update(person=_website(org).person, phone="(916) 555-9999", by=None),
        "(916) 555-9999",
    ),
    "contact_add": (
        lambda org: services.contact_add(
            organization=org,
            email="newweb@example.org",
            role=Role.TECHNICAL,
            by=None,
            first_name="Tess",
            last_name="Tech",
        ),
        "Tess Tech",
    ),
    "role_assign": (
        lambda org: services.role_assign(
            organization=org, person=UserFactory(first_name="Ada", last_name="Assigned"), role=Role.STAFF, by=None
        ),
        "Ada Assigned",
    ),
    "role_replace": (
        lambda org: services.role_replace(
            organization=org, role=Role.WEBSITE, to=UserFactory(first_name="Rita", last_name="Replaced"), by=None
        ),
        "Rita Replaced",
    ),
    "role_remove": (
        lambda org: services.role_remove(contact_role=_website(org), by=None),
        "No website contact",
    ),
    "primary_contact_transfer": (
        lambda org: services.primary_contact_transfer(
            organization=org, to=UserFactory(first_name="Priya", last_name="Primary"), by=None
        ),
        "Priya Primary",
    ),
    "roster_apply": (
        lambda org: services.roster_apply(
            organization=org,
            added=[services.RosterRow(person=UserFactory(first_name="Roz", last_name="Roster"), role=Role.STAFF)],
            by=None,
        ),
        "Roz Roster",
    ),
}
# The directory shows the organization and its published contact only: (change, shown after, gone after).
DIRECTORY_CHANGES = [
    ("organization_update", "Renamed Heart Institute", "Cached Heart Institute"),
    ("person_update", "(916) 555-9999", "(916) 555-0001"),
    ("role_replace", "Rita Replaced", "Wendy Webb"),
    ("role_remove", "Cached Heart Institute", "Wendy Webb"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_the_profile_roster_shows_every_change_at_once(client, organization, change):
    make, shown = CHANGES[change]
    viewer = organization.primary_contact
    client.force_login(viewer)
    url = reverse("contacts:profile", args=[organization.pk])
    assert shown not in client.get(url).content.decode()

    make(organization)

    if change == "primary_contact_transfer":
        services.role_assign(organization=organization, person=viewer, role=Role.STAFF, by=None)
    assert shown in client.get(url).content.decode()


@pytest.mark.parametrize(("change", "shown", "gone"), DIRECTORY_CHANGES)
def test_the_cached_directory_shows_every_change_at_once(client, organization, change, shown, gone):
    search = {"q": "heart"}
    assert gone in client.get(DIRECTORY, search).content.decode()
    assert client.get(DIRECTORY, search).context is None, "the second visit is served from the cache"

    CHANGES[change][0](organization)

    page = client.get(DIRECTORY, search).content.decode()
    assert shown in page
    assert gone not in page


def test_a_new_provider_appears_in_the_cached_directory(client, organization):
    client.get(DIRECTORY, {"q": "institute"})
    OrganizationFactory(name="Brand New Institute")
    assert "Brand New Institute" in client.get(DIRECTORY, {"q": "institute"}).content.decode()


def test_a_contact_who_sets_their_password_loses_the_reminder_badge(client, organization):
    invited = InvitedUserFactory(first_name="Ivy", last_name="Invited")
    services.role_assign(organization=organization, person=invited, role=Role.STAFF, by=None)
    client.force_login(organization.primary_contact)
    url = reverse("contacts:profile", args=[organization.pk])
    # Wendy, the website contact, has not set hers either.
    assert client.get(url).content.decode().count("Has not set a password yet") == 2

    invited.set_password(PASSWORD)  # as the invitation page does, through the account form
    invited.save()

    assert client.get(url).content.decode().count("Has not set a password yet") == 1


def test_each_viewer_sees_themselves_marked_on_the_cached_roster(client, organization):
    staff = UserFactory(first_name="Sam", last_name="Staff")
    services.role_assign(organization=organization, person=staff, role=Role.STAFF, by=None)
    url = reverse("contacts:profile", args=[organization.pk])
    client.force_login(organization.primary_contact)
    client.get(url)
    client.force_login(staff)
    page = client.get(url).content.decode()
    assert page.count(">You</span>") == 1
    assert page.index("Sam Staff") < page.index(">You</span>")


def test_a_cached_directory_page_costs_only_its_version(client, organization, django_assert_num_queries):
    client.get(DIRECTORY, {"q": "heart"})
    with django_assert_num_queries(DIRECTORY_CACHED_QUERIES):
        assert "Cached Heart Institute" in client.get(DIRECTORY, {"q": "heart"}).content.decode()


def test_a_signed_in_person_and_a_waiting_message_get_a_page_drawn_afresh(client, organization):
    client.get(DIRECTORY)
    client.force_login(organization.primary_contact)
    page = client.get(DIRECTORY)
    assert page.context is not None
    assert "Sign out" in page.content.decode()


# The Profile tab's roster is cached under a digest of what it shows (contacts.caching.roster_fragment).


def drew_the_roster(response) -> bool:
    return ROSTER_TEMPLATE in [template.name for template in response.templates]


def test_an_unchanged_roster_is_drawn_once_then_served_from_the_cache(client, organization):
    client.force_login(organization.primary_contact)
    url = reverse("contacts:profile", args=[organization.pk])

    first, second = client.get(url), client.get(url)

    assert drew_the_roster(first)
    assert not drew_the_roster(second)
    assert "Wendy Webb" in second.content.decode()


def test_a_delivery_the_email_worker_records_shows_on_the_cached_roster(client, organization):
    client.force_login(organization.primary_contact)
    url = reverse("contacts:profile", args=[organization.pk])
    assert "Invitation queued" in client.get(url).content.decode()
    client.get(url)

    # The worker records a delivery with an update and no history row.
    EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION).update(status=EmailLog.Status.SENT, sent_at=timezone.now())

    page = client.get(url).content.decode()
    assert "Invitation sent" in page
    assert "Invitation queued" not in page


def test_the_forms_of_a_cached_roster_carry_each_sessions_own_csrf_token(organization):
    url = reverse("contacts:profile", args=[organization.pk])
    wendy = _website(organization).person
    resend = reverse("contacts:invitation_resend", args=[organization.pk, wendy.pk])
    browsers = [Client(enforce_csrf_checks=True) for _ in range(2)]
    for browser in browsers:
        browser.force_login(organization.primary_contact)
    # One person in two browsers: the second page's roster is the first one's, from the cache.
    pages = [(browser, browser.get(url)) for browser in browsers]
    assert drew_the_roster(pages[0][1]) and not drew_the_roster(pages[1][1])

    tokens = set()
    for browser, page in pages:
        form = re.search(
            rf'action="{resend}".*?name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode(), re.S
        )
        tokens.add(form.group(1))
        assert browser.post(resend, {"csrfmiddlewaretoken": form.group(1)}).status_code == 302

    assert len(tokens) == 2


def test_a_directory_page_drawn_afresh_reuses_the_accreditors_read_under_the_same_version(
    client, organization, django_assert_num_queries
):
    client.get(DIRECTORY, {"q": "heart"})
    client.force_login(organization.primary_contact)

    # The session with the person; the version; the count, the page and its published contacts.
    # No query for the accreditors.
    with django_assert_num_queries(5):
        page = client.get(DIRECTORY, {"q": "institute"})
    assert page.context is not None, "drawn afresh for a signed-in person"


def test_a_new_accreditor_is_offered_in_the_filter_at_once(client, organization):
    client.force_login(organization.primary_contact)
    assert 'value="AAFP"' not in client.get(DIRECTORY).content.decode()

    OrganizationFactory(name="Family Medicine Institute", accreditor="AAFP")

    assert 'value="AAFP"' in client.get(DIRECTORY).content.decode()
