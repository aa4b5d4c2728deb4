"""Every organization page in Chromium: axe, the keyboard, and a 390-pixel-wide phone."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from e2e.test_organization_roster import sign_in
from pars.forms import EMAIL_INVALID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/site")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def jane():
    """Primary Contact of a well-staffed, never-confirmed organization, and Staff at a second one."""
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe", credentials="MD, MPH")
    organization = OrganizationFactory(primary=jane, name="Sierra Continuing Medical Education Council")
    people = [
        (Role.CEO, UserFactory(first_name="Carla", last_name="Executive", job_title="Chief Executive Officer")),
        (
            Role.STAFF,
            InvitedUserFactory(first_name="Ina", last_name="Vited", email="ina.with.a.long.address@example.org"),
        ),
        (Role.STAFF, UserFactory(first_name="Sam", last_name="Staff")),
        (Role.TECHNICAL, UserFactory(first_name="Tess", last_name="Tech", job_title="IT Manager")),
    ]
    for role, person in people:
        services.role_assign(organization=organization, person=person, role=role, by=jane)
    other = OrganizationFactory(name="Bay Area CME Council")
    services.role_assign(organization=other, person=jane, role=Role.STAFF, by=None)
    services.contacts_confirm(organization=other, by=other.primary_contact)
    return jane


def organization_of(jane):
    return jane.contact_roles.get(role=Role.PRIMARY).organization


def assert_fits(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_every_organization_page_passes_axe(page, assert_accessible, jane):
    organization = organization_of(jane)
    invited = organization.holders(Role.STAFF)[0]
    sam = organization.roles.get(person__first_name="Sam")
    sign_in(page, "jane@example.org")
    paths = [
        reverse("contacts:dashboard"),
        reverse("contacts:profile", args=[organization.pk]),
        reverse("contacts:organization_edit", args=[organization.pk]),
        reverse("contacts:contact_add", args=[organization.pk]),
        reverse("contacts:role_assign", args=[organization.pk, "billing"]),
        reverse("contacts:role_assign", args=[organization.pk, "technical"]),
        reverse("contacts:role_remove", args=[organization.pk, sam.pk]),
        reverse("contacts:primary_transfer", args=[organization.pk]),
        reverse("contacts:history", args=[organization.pk]),
        reverse("contacts:person_edit", args=[organization.pk, invited.pk]),
    ]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        expect(page.locator("h1"), path).to_have_count(1)
        assert_accessible(page)


def test_invalid_input_is_shown_accessibly(page, assert_accessible, jane):
    organization = organization_of(jane)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:contact_add", args=[organization.pk]))
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#div_id_email").get_by_text(EMAIL_INVALID)).to_be_visible()
    assert page.get_by_label("Email address").input_value() == "not-an-email"
    assert_accessible(page)


def test_the_main_actions_are_reachable_by_keyboard(page, jane):
    organization = organization_of(jane)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:profile", args=[organization.pk]))
    reached = []
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.innerText.trim()"))
        if reached[-1] == "Edit details":  # the details come after the roster and its confirmation
            break
    assert reached[0] == "Skip to main content"
    for action in ("History", "Add a contact", "Confirm contacts are current", "Edit details"):
        assert action in reached
    # The roster comes before its confirmation: the person sees every contact before confirming.
    assert reached.index("Add a contact") < reached.index("Confirm contacts are current")
    while page.evaluate("document.activeElement.innerText.trim()") != "Add a contact":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(reverse("contacts:contact_add", args=[organization.pk])) + "$"))
    page.keyboard.press("Tab")  # the skip link, then into the page
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", {"width": 1280, "height": 900})])
def test_dashboard_and_profile_fit_the_screen(page, jane, name, viewport):
    SHOTS.mkdir(parents=True, exist_ok=True)
    organization = organization_of(jane)
    page.set_viewport_size(viewport)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:dashboard"))
    assert_fits(page)
    page.screenshot(path=SHOTS / f"dashboard-{name}.png", full_page=True)
    page.goto(reverse("contacts:profile", args=[organization.pk]))
    assert_fits(page)
    page.screenshot(path=SHOTS / f"profile-{name}.png", full_page=True)
    page.goto(reverse("contacts:history", args=[organization.pk]))
    assert_fits(page)
    page.screenshot(path=SHOTS / f"history-{name}.png", full_page=True)
