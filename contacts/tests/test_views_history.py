"""Confirming contacts are current, and the History tab that records it."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.views import CONTACTS_CONFIRMED

pytestmark = pytest.mark.django_db

# Exactly, however long the history: the session with the signed-in person (one query, accounts.sessions),
# the organization, its records, the roster's records, the changes to its people's details, and the
# names then of the people the page names.
HISTORY_QUERIES = 6


@pytest.fixture
def organization():
    jane = UserFactory(first_name="Jane", last_name="Doe")
    return OrganizationFactory(primary=jane, phone="(916) 555-0100")


@pytest.fixture
def jane(client, organization):
    client.force_login(organization.primary_contact)
    return organization.primary_contact


def history(client, organization, page=1):
    return client.get(reverse("contacts:history", args=[organization.pk]), {"page": page}).content.decode()


# Confirm contacts are current


def test_confirming_records_who_and_when_and_removes_the_banner(client, organization, jane):
    profile_url = reverse("contacts:profile", args=[organization.pk])
    assert "stale-banner" in client.get(profile_url).content.decode()
    response = client.post(reverse("contacts:contacts_confirm", args=[organization.pk]), follow=True)
    organization.refresh_from_db()
    assert organization.contacts_confirmed_by == jane
    assert organization.contacts_confirmed_at is not None
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        CONTACTS_CONFIRMED.format(organization=organization)
    ]
    assert "stale-banner" not in response.content.decode()


def test_confirming_needs_a_post(client, organization, jane):
    assert client.get(reverse("contacts:contacts_confirm", args=[organization.pk])).status_code == 405
    organization.refresh_from_db()
    assert organization.contacts_confirmed_at is None


@pytest.mark.parametrize(("days_ago", "stale"), [(364, False), (366, True)])
def test_banner_returns_when_the_confirmation_is_older_than_the_period(client, organization, jane, days_ago, stale):
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        services.contacts_confirm(organization=organization, by=jane)
    html = client.get(reverse("contacts:profile", args=[organization.pk])).content.decode()
    assert ("stale-banner" in html) is stale


def test_the_period_comes_from_settings(client, organization, jane, settings):
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        services.contacts_confirm(organization=organization, by=jane)
    settings.CONTACTS_CONFIRM_PERIOD_DAYS = 30
    html = client.get(reverse("contacts:profile", args=[organization.pk])).content.decode()
    assert "stale-banner" in html and "more than 30 days ago" in html


# History


def test_history_says_who_changed_what_newest_first(client, organization, jane):
    staff = UserFactory(first_name="John", last_name="Roe")
    services.role_assign(organization=organization, person=staff, role=Role.BILLING, by=jane)
    services.organization_update(organization=organization, by=jane, phone="(916) 555-0199")
    services.contacts_confirm(organization=organization, by=jane)
    html = history(client, organization)
    lines = [
        "Jane Doe</span> confirmed the contacts are current",
        "Jane Doe</span> changed the organization&#x27;s details",
        "changed phone from “(916) 555-0100” to “(916) 555-0199”",
        "Jane Doe</span> assigned John Roe as Billing Contact",
        "assigned Jane Doe as Primary Contact",
        "created the organization",
    ]
    positions = [html.index(line) for line in lines]
    assert positions == sorted(positions)


def test_history_names_removals_replacements_and_hand_overs(client, organization, jane):
    john, kim = UserFactory(first_name="John", last_name="Roe"), UserFactory(first_name="Kim", last_name="Lee")
    services.role_assign(organization=organization, person=john, role=Role.BILLING, by=jane)
    services.role_replace(organization=organization, role=Role.BILLING, to=kim, by=jane)
    services.role_remove(contact_role=organization.roles.get(role=Role.BILLING), by=jane)
    services.primary_contact_transfer(organization=organization, to=john, by=jane)
    services.role_assign(organization=organization, person=jane, role=Role.STAFF, by=john)
    html = history(client, organization)
    assert "Jane Doe</span> handed the Primary Contact role from Jane Doe to John Roe" in html
    assert "Jane Doe</span> removed John Roe from Billing Contact" in html
    assert "Jane Doe</span> removed Kim Lee from Billing Contact" in html
    assert "Jane Doe</span> assigned Kim Lee as Billing Contact" in html
    assert "John Roe</span> assigned Jane Doe as Staff" in html


def test_history_is_paginated(client, organization, jane):
    for number in range(30):
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-{number:04d}")
    first, second = history(client, organization, 1), history(client, organization, 2)
    assert "(916) 555-0029”" in first and "Older changes" in first
    assert "(916) 555-0029”" not in second and "created the organization" in second
    assert "Newer changes" in second and "Older changes" not in second


def test_a_nonsense_page_number_shows_the_first_page(client, organization, jane):
    assert "created the organization" in history(client, organization, "x")


def test_history_does_not_show_another_organizations_changes(client, organization, jane):
    other = OrganizationFactory(name="Elsewhere CME")
    services.organization_update(organization=other, by=other.primary_contact, phone="(916) 555-7777")
    assert "555-7777" not in history(client, organization)


@pytest.mark.parametrize("changes", [2, 40])
def test_history_queries_do_not_grow_with_the_history_or_the_roster(
    client, organization, jane, django_assert_num_queries, changes
):
    for number in range(changes):
        person = UserFactory()
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=jane)
        person.phone, person._history_user = f"(916) 555-3{number:03d}", jane
        person.save()
        client.force_login(person)  # a sign-in saves the person too
        if number % 2:
            services.role_remove(contact_role=organization.roles.get(person=person), by=person)
        services.organization_update(organization=organization, by=person, phone=f"{number}")
    services.primary_contact_transfer(organization=organization, to=UserFactory(), by=jane)
    services.role_assign(organization=organization, person=jane, role=Role.STAFF, by=None)
    client.force_login(jane)
    with django_assert_num_queries(HISTORY_QUERIES):
        html = history(client, organization)
    assert f"to “(916) 555-3{changes - 1:03d}”" in html
    assert html.count('class="list-group-item"') == min(25, 3 * changes + changes // 2 + 4)


def test_a_deep_page_of_history_takes_as_many_queries_as_the_first(
    client, organization, jane, django_assert_num_queries
):
    for number in range(30):
        person = UserFactory(first_name="Staff", last_name=f"Number{number}")
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=jane)
        person.phone, person._history_user = f"(916) 555-4{number:03d}", jane
        person.save()
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-5{number:03d}")
    with django_assert_num_queries(HISTORY_QUERIES):
        oldest = history(client, organization, 4)
    assert "created the organization" in oldest and "Older changes" not in oldest
    assert "Jane Doe</span> assigned Staff Number0 as Staff" in oldest


def test_history_says_who_added_themselves_and_marks_cme_staff(client, organization, jane):
    kim = UserFactory(first_name="Kim", last_name="Lee")
    services.role_assign(organization=organization, person=jane, role=Role.STAFF, by=jane)
    editor = UserFactory(first_name="Eve", last_name="Editor", is_staff=True)
    services.role_assign(organization=organization, person=kim, role=Role.TECHNICAL, by=editor)
    html = history(client, organization)
    assert "Jane Doe</span> added themselves as Staff" in html
    assert "Jane Doe assigned Jane Doe" not in html
    assert 'Eve Editor</span> <span class="badge text-bg-light border">CMA CME staff</span> assigned Kim Lee' in html
    assert html.count("CME staff</span>") == 1
