"""The History tab shows changes to the details of the people on the roster, only while they were on it."""

import re
from contextlib import nullcontext
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.history import history_page
from contacts.models import Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_views_history import HISTORY_QUERIES

pytestmark = pytest.mark.django_db

User = get_user_model()
ROBERTS_NEW_PHONE = "Jane Doe changed Robert Kim's phone from “(916) 555-0190” to “(916) 555-0199”."


@pytest.fixture
def jane():
    return UserFactory(first_name="Jane", last_name="Doe")


@pytest.fixture
def organization(jane):
    return OrganizationFactory(primary=jane)


@pytest.fixture
def robert(organization, jane):
    """The billing contact, who has not set a password: the roster keeps his details."""
    robert = InvitedUserFactory(first_name="Robert", last_name="Kim", phone="(916) 555-0190")
    services.role_assign(organization=organization, person=robert, role=Role.BILLING, by=jane)
    return robert


def history(client, organization, page=1):
    return client.get(reverse("contacts:history", args=[organization.pk]), {"page": page}).content.decode()


def entries(html):
    """Each entry's text, newest first, without markup."""
    items = re.findall(r'<li class="list-group-item">(.*?)<time', html, flags=re.S)
    texts = [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]
    return [text.replace(" .", ".").replace(" :", ":") for text in texts]


def change(person, *, by, **details):
    """Save new details the way a page does, recording who saved them."""
    for name, value in details.items():
        setattr(person, name, value)
    person._history_user = by
    person.save()


def test_a_roster_persons_phone_change_names_who_made_it(client, organization, jane, robert):
    client.force_login(jane)
    response = client.post(
        reverse("contacts:person_edit", args=[organization.pk, robert.pk]),
        {
            "first_name": "Robert",
            "last_name": "Kim",
            "credentials": "MD",
            "job_title": "CME Coordinator",
            "phone": "(916) 555-0199",
        },
    )
    assert response.status_code == 302
    assert entries(history(client, organization))[0] == ROBERTS_NEW_PHONE


def test_a_change_made_through_edit_my_profile_says_their(client, organization, jane):
    robert = UserFactory(email="robert@example.org", first_name="Robert", last_name="Kim", phone="(916) 555-0190")
    services.role_assign(organization=organization, person=robert, role=Role.STAFF, by=jane)
    client.force_login(robert)
    details = {"first_name": "Robert", "last_name": "Kim", "credentials": "MD", "job_title": "CME Coordinator"}
    response = client.post(reverse("accounts:profile"), {**details, "email": robert.email, "phone": "(916) 555-0199"})
    assert response.status_code == 302
    first = entries(history(client, organization))[0]
    assert first == "Robert Kim changed their phone from “(916) 555-0190” to “(916) 555-0199”."


def test_several_details_changed_at_once_are_listed_under_one_entry(client, organization, jane, robert):
    change(robert, by=jane, last_name="Kimball", job_title="Controller")
    client.force_login(jane)
    assert entries(history(client, organization))[0] == (
        "Jane Doe changed Robert Kim's details: changed last name from “Kim” to “Kimball” "
        "changed job title from “CME Coordinator” to “Controller”"
    )


def test_someone_never_on_this_roster_does_not_appear(client, organization, jane):
    other = OrganizationFactory(name="Elsewhere CME")
    stranger = other.primary_contact
    change(stranger, by=stranger, phone="(916) 555-7777", last_name="Stranger")
    client.force_login(jane)
    html = history(client, organization)
    assert "555-7777" not in html and "Stranger" not in html


def test_changes_before_joining_and_after_leaving_do_not_appear(client, organization, jane):
    robert = InvitedUserFactory(first_name="Robert", last_name="Kim", phone="(916) 555-0100")
    change(robert, by=robert, phone="(916) 555-0101")  # before he joined
    contact_role = services.role_assign(organization=organization, person=robert, role=Role.STAFF, by=jane).contact_role
    change(robert, by=jane, phone="(916) 555-0102")  # on the roster
    services.role_remove(contact_role=contact_role, by=jane)
    change(robert, by=robert, phone="(916) 555-0103")  # after he left
    client.force_login(jane)
    lines = entries(history(client, organization))
    assert lines[:2] == [
        "Jane Doe removed Robert Kim from Staff.",
        "Jane Doe changed Robert Kim's phone from “(916) 555-0101” to “(916) 555-0102”.",
    ]
    assert not any("555-0100" in line or "555-0103" in line for line in lines)


def test_changes_between_two_spells_on_the_roster_do_not_appear(client, organization, jane):
    robert = InvitedUserFactory(first_name="Robert", last_name="Kim", phone="(916) 555-0100")
    contact_role = services.role_assign(
        organization=organization, person=robert, role=Role.TECHNICAL, by=jane
    ).contact_role
    services.role_remove(contact_role=contact_role, by=jane)
    change(robert, by=robert, job_title="Away")
    change(robert, by=robert, phone="(916) 555-0101")
    services.role_assign(organization=organization, person=robert, role=Role.STAFF, by=jane)
    change(robert, by=jane, phone="(916) 555-0102")
    client.force_login(jane)
    lines = entries(history(client, organization))
    assert lines[0] == "Jane Doe changed Robert Kim's phone from “(916) 555-0101” to “(916) 555-0102”."
    assert not any("Away" in line or "555-0100" in line for line in lines)


def test_a_former_primary_leaves_the_history_with_the_hand_over(client, organization, jane):
    john = UserFactory(first_name="John", last_name="Roe")
    change(jane, by=jane, job_title="Director")
    services.primary_contact_transfer(organization=organization, to=john, by=jane)
    change(jane, by=jane, job_title="Retired")
    client.force_login(john)
    lines = entries(history(client, organization))
    assert "Jane Doe changed their job title from “CME Coordinator” to “Director”." in lines
    assert not any("Retired" in line for line in lines)


def test_a_person_on_two_rosters_shows_in_each_only_while_on_it(client, organization, jane, robert):
    other = OrganizationFactory(name="Elsewhere CME")
    services.role_remove(contact_role=organization.roles.get(person=robert), by=jane)
    services.role_assign(organization=other, person=robert, role=Role.STAFF, by=other.primary_contact)
    change(robert, by=other.primary_contact, phone="(916) 555-0123")
    client.force_login(jane)
    assert "555-0123" not in history(client, organization)
    client.force_login(other.primary_contact)
    assert "555-0123" in history(client, other)


def test_each_entry_names_people_as_they_were_called_then(client, organization, jane, robert):
    change(robert, by=jane, last_name="Kimball")
    services.role_remove(contact_role=organization.roles.get(person=robert), by=jane)
    change(robert, by=robert, last_name="Kimbrough")  # after he left: none of this organization's business
    client.force_login(jane)
    assert entries(history(client, organization))[:3] == [
        "Jane Doe removed Robert Kimball from Billing Contact.",
        "Jane Doe changed Robert Kim's last name from “Kim” to “Kimball”.",
        "Jane Doe assigned Robert Kim as Billing Contact.",
    ]
    assert "Kimbrough" not in history(client, organization)


def test_a_hand_over_names_both_primaries_as_they_were_called_then(client, organization, jane):
    john = UserFactory(first_name="John", last_name="Roe")
    services.primary_contact_transfer(organization=organization, to=john, by=jane)
    change(jane, by=jane, last_name="Former")
    client.force_login(john)
    assert (
        entries(history(client, organization))[0]
        == "Jane Doe handed the Primary Contact role from Jane Doe to John Roe."
    )


def test_sign_ins_passwords_and_permissions_are_not_details(client, organization, jane, robert):
    robert.set_password("a-new-secret-passphrase")
    change(robert, by=robert)
    client.force_login(robert)  # records last_login
    change(robert, by=None, is_staff=True, is_active=False)
    # Created, then two saves that change none of his details; signing in writes no history row.
    assert robert.history.count() == 3
    client.force_login(jane)
    assert entries(history(client, organization)) == [
        "Jane Doe assigned Robert Kim as Billing Contact.",
        "CME staff or the system assigned Jane Doe as Primary Contact.",
        "CME staff or the system created the organization.",
    ]


def test_creating_a_person_is_not_shown_as_a_change(client, organization, jane):
    services.contact_add(
        organization=organization,
        by=jane,
        email="nia@example.org",
        role=Role.STAFF,
        first_name="Nia",
        last_name="New",
    )
    client.force_login(jane)
    assert [line for line in entries(history(client, organization)) if "Nia New" in line] == [
        "Jane Doe assigned Nia New as Staff."
    ]


def test_people_changes_take_their_place_newest_first(client, organization, jane, robert):
    services.organization_update(organization=organization, by=jane, phone="(916) 555-0200")
    change(robert, by=jane, phone="(916) 555-0199")
    services.contacts_confirm(organization=organization, by=jane)
    client.force_login(jane)
    assert entries(history(client, organization))[:4] == [
        "Jane Doe confirmed the contacts are current.",
        ROBERTS_NEW_PHONE,
        "Jane Doe changed the organization's details: changed phone from “(916) 555-0100” to “(916) 555-0200”",
        "Jane Doe assigned Robert Kim as Billing Contact.",
    ]


def test_pages_of_the_three_streams_together_hold_every_change_once_newest_first(client, organization, jane, robert):
    for number in range(20):
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-1{number:03d}")
        change(robert, by=jane, phone=f"(916) 555-2{number:03d}")
        person = UserFactory(first_name="Staff", last_name=f"Number{number}")
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=jane)
    client.force_login(jane)
    pages = [entries(history(client, organization, page)) for page in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [25, 25, 13, 0]
    seen = [line for page in pages for line in page]
    expected = []
    for number in reversed(range(20)):
        robert_before = f"(916) 555-2{number - 1:03d}" if number else "(916) 555-0190"
        organization_before = f"(916) 555-1{number - 1:03d}" if number else "(916) 555-0100"
        expected += [
            f"Jane Doe assigned Staff Number{number} as Staff.",
            f"Jane Doe changed Robert Kim's phone from “{robert_before}” to “(916) 555-2{number:03d}”.",
            "Jane Doe changed the organization's details: "
            f"changed phone from “{organization_before}” to “(916) 555-1{number:03d}”",
        ]
    assert seen == [
        *expected,
        "Jane Doe assigned Robert Kim as Billing Contact.",
        "CME staff or the system assigned Jane Doe as Primary Contact.",
        "CME staff or the system created the organization.",
    ]
    assert "Older changes" not in history(client, organization, 3)


def link_to(label, html):
    """The href of the link labelled `label` ("Older changes", "Newer changes"), or None if the page has none."""
    found = re.search(rf'href="([^"]+)">{label}</a>', html)
    return unescape(found[1]) if found else None


def older_link(html):
    return link_to("Older changes", html)


def newer_link(html):
    return link_to("Newer changes", html)


def walk(client, organization, label, url=None):
    """Every page from `url` (the newest page by default), following the link `label` as a person would."""
    url = url or reverse("contacts:history", args=[organization.pk])
    pages = []
    while url:
        html = client.get(url).content.decode()
        pages.append(entries(html))
        link = link_to(label, html)
        url = link and reverse("contacts:history", args=[organization.pk]) + link
    return pages


def walk_older(client, organization):
    return walk(client, organization, "Older changes")


def walk_newer(client, organization, url):
    return walk(client, organization, "Newer changes", url)


def oldest_page_url(client, organization):
    url = reverse("contacts:history", args=[organization.pk])
    while link := older_link(client.get(url).content.decode()):
        url = reverse("contacts:history", args=[organization.pk]) + link
    return url


def make_history(organization, jane, robert, count=20):
    for number in range(count):
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-1{number:03d}")
        change(robert, by=jane, phone=f"(916) 555-2{number:03d}")
        person = UserFactory(first_name="Staff", last_name=f"Number{number}")
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=jane)


def test_older_changes_walks_the_same_pages_as_page_numbers(client, organization, jane, robert):
    make_history(organization, jane, robert)
    client.force_login(jane)
    by_number = [entries(history(client, organization, page)) for page in (1, 2, 3)]
    assert walk_older(client, organization) == by_number


def test_older_changes_keeps_entries_of_one_moment_in_order_across_pages(client, organization, jane, robert):
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False):  # every change at the same moment
        make_history(organization, jane, robert, count=12)
    client.force_login(jane)
    by_number = [entries(history(client, organization, page)) for page in (1, 2)]
    walked = walk_older(client, organization)
    assert walked == by_number
    seen = [line for page in walked for line in page]
    assert len(seen) == len(set(seen)) and "CME staff or the system created the organization." in seen


def test_a_deep_older_page_takes_as_many_queries_as_the_first(
    client, organization, jane, robert, django_assert_max_num_queries
):
    make_history(organization, jane, robert)
    client.force_login(jane)
    second = history(client, organization, 2)
    with django_assert_max_num_queries(HISTORY_QUERIES):
        oldest = client.get(reverse("contacts:history", args=[organization.pk]) + older_link(second)).content.decode()
    assert "CME staff or the system created the organization." in entries(oldest)
    assert older_link(oldest) is None


@pytest.mark.parametrize(
    "before",
    [
        "x",
        "2026-06-01T12:00:00,0,1",
        "2026-06-01T12:00:00+00:00,7,1",
        "2026-06-01T12:00:00+00:00,0,99999999999",
        "2026-06-01T12:00:00+00:00,0,-1",
        ",,",
        "2026-13-01T12:00:00+00:00,0,1",
    ],
)
def test_a_cursor_no_page_wrote_shows_the_newest_changes(client, organization, jane, before):
    client.force_login(jane)
    response = client.get(reverse("contacts:history", args=[organization.pk]), {"before": before})
    assert response.status_code == 200
    assert "CME staff or the system created the organization." in entries(response.content.decode())


@pytest.mark.parametrize(
    ("same_moment", "assignments_per_change"),
    [(False, 1), (True, 1), (False, 3)],
    ids=["alternating", "one moment", "three assignments per change"],
)
def test_pages_past_a_full_roster_stream_still_show_every_change_to_the_people(
    client, organization, jane, robert, same_moment, assignments_per_change
):
    """The roster alone fills the first pages: the people's changes between its entries still show, in order."""
    later = timezone.now() + timedelta(days=1)  # after the fixtures joined the roster
    expected = []
    with time_machine.travel(later, tick=False) if same_moment else nullcontext():
        for number in range(60):
            person = UserFactory(first_name="Staff", last_name=f"Number{number}")
            services.role_assign(organization=organization, person=person, role=Role.STAFF, by=jane)
            expected.append(f"Jane Doe assigned Staff Number{number} as Staff.")
            if number % assignments_per_change == 0:
                change(robert, by=jane, phone=f"(916) 555-2{number:03d}")
                before = f"(916) 555-2{number - assignments_per_change:03d}" if number else "(916) 555-0190"
                expected.append(f"Jane Doe changed Robert Kim's phone from “{before}” to “(916) 555-2{number:03d}”.")
    everything, _ = history_page(organization, page=1, per_page=1000)
    client.force_login(jane)
    walked = [line for page in walk_older(client, organization) for line in page]
    by_number = [line for page in (1, 2, 3, 4, 5) for line in entries(history(client, organization, page))]
    assert walked == by_number
    assert len(walked) == len(everything) == len(expected) + 3
    if same_moment:  # entries of one moment: the roster's, then the people's
        roster, people = expected[0::2], expected[1::2]
        assert walked[: len(expected)] == roster[::-1] + people[::-1]
    else:
        assert walked[: len(expected)] == expected[::-1]


@pytest.mark.parametrize("same_moment", [False, True])
def test_newer_changes_walks_back_up_the_same_pages_older_changes_walked_down(
    client, organization, jane, robert, same_moment
):
    later = timezone.now() + timedelta(days=1)  # after the fixtures joined the roster
    with time_machine.travel(later, tick=False) if same_moment else nullcontext():
        make_history(organization, jane, robert, count=30)
    client.force_login(jane)
    down = walk_older(client, organization)
    up = walk_newer(client, organization, oldest_page_url(client, organization))
    assert len(down) == 4
    assert up == down[::-1]


def test_newer_changes_from_a_deep_page_takes_a_fixed_number_of_queries(
    client, organization, jane, robert, django_assert_max_num_queries
):
    make_history(organization, jane, robert, count=30)
    client.force_login(jane)
    url = oldest_page_url(client, organization)
    link = newer_link(client.get(url).content.decode())
    with django_assert_max_num_queries(HISTORY_QUERIES + 3):  # the three streams' nearest newer entries
        third = client.get(reverse("contacts:history", args=[organization.pk]) + link).content.decode()
    assert "Page 3" in third and newer_link(third) and older_link(third)


def test_newer_changes_after_new_changes_keeps_a_way_to_the_newest(client, organization, jane, robert):
    """Changes made while someone reads an old page: going back up still reaches them."""
    make_history(organization, jane, robert, count=30)
    client.force_login(jane)
    url = oldest_page_url(client, organization)
    for number in range(30):
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-3{number:03d}")
    up = walk_newer(client, organization, url)
    assert up[-1] == entries(history(client, organization, 1))  # up to the newest page, as it is now
    assert "(916) 555-3029”" in up[-1][0]
    newest_first = [line for page in walk_older(client, organization) for line in page]
    assert {line for page in up for line in page} == set(newest_first)  # nothing skipped on the way


@pytest.mark.parametrize("after", ["x", "2026-06-01T12:00:00,0,1", ",,", "2026-06-01T12:00:00+00:00,7,1"])
def test_a_newer_cursor_no_page_wrote_shows_the_newest_changes(client, organization, jane, after):
    client.force_login(jane)
    response = client.get(reverse("contacts:history", args=[organization.pk]), {"after": after})
    assert response.status_code == 200
    html = response.content.decode()
    assert "CME staff or the system created the organization." in entries(html) and newer_link(html) is None
