"""One journey with the keyboard only (Tab, Shift+Tab, Enter, Space, typing; no clicks).

Sign in, open an organization from the dashboard, add a contact, confirm the
contacts are current. Every element reached shows where the focus is, and
every page passes axe.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, UserFactory
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from contacts.views import CONTACT_INVITED, CONTACTS_CONFIRMED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The focused element and whether it shows a focus ring (an outline or a box-shadow).
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  return {
    tag: el.tagName.toLowerCase(),
    name: el.getAttribute("name") || "",
    text: (el.innerText || el.value || "").trim(),
    visible: Boolean(outline || shadow),
  };
}"""
MAX_TABS = 60


def tab_to(page, matches, *, backwards=False) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches; each stop must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        page.wait_for_timeout(20)  # let the focus ring's transition start
        focused = page.evaluate(FOCUSED)
        assert focused["visible"], f"focus is not visible on {focused} at {page.url}"
        if matches(focused):
            return focused
    raise AssertionError(f"never reached the element on {page.url} within {MAX_TABS} tabs")


def text_is(text):
    return lambda focused: focused["text"] == text


def name_is(name):
    return lambda focused: focused["name"] == name


def test_keyboard_only_journey_from_sign_in_to_confirming_the_contacts(page, assert_accessible):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    sierra = OrganizationFactory(primary=jane, name="Sierra CME")
    OrganizationFactory(primary=jane, name="Coast CME")  # two organizations: the dashboard lists them
    profile = re.compile(re.escape(reverse("contacts:profile", args=[sierra.pk])) + "$")

    page.goto(reverse("accounts:login"))
    assert_accessible(page)
    assert page.evaluate(FOCUSED)["name"] == "username"  # the email field has the focus on arrival
    page.keyboard.type("jane@example.org")
    tab_to(page, name_is("password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(reverse("contacts:dashboard")) + "$"))
    assert_accessible(page)

    tab_to(page, text_is("Sierra CME"))
    page.keyboard.press("Enter")
    page.wait_for_url(profile)
    assert_accessible(page)

    tab_to(page, text_is("Add a contact"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(reverse("contacts:contact_add", args=[sierra.pk])) + "$"))
    assert_accessible(page)
    tab_to(page, name_is("role"))  # the role first: a radio group, chosen with the arrow keys
    for _ in range(len(Role)):
        if page.evaluate("document.activeElement.value") == Role.TECHNICAL:
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.checked")
    tab_to(page, name_is("email"))
    page.keyboard.type("nia@example.org")
    tab_to(page, name_is("first_name"))
    page.keyboard.type("Nia")
    tab_to(page, name_is("last_name"))
    page.keyboard.type("New")
    tab_to(page, name_is("first_name"), backwards=True)  # back to check the name, then on again
    assert page.evaluate("document.activeElement.value") == "Nia"
    tab_to(page, text_is("Continue"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Check the new contact before adding them").wait_for()
    assert_accessible(page)
    tab_to(page, text_is("Add contact"))
    page.keyboard.press("Enter")
    page.wait_for_url(profile)
    notice = CONTACT_INVITED.format(email="nia@example.org", person="Nia New", role="Technical Contact")
    expect(page.get_by_role("status").filter(has_text=notice)).to_be_visible()
    assert_accessible(page)

    tab_to(page, text_is("Confirm contacts are current"))
    with page.expect_navigation(url=profile):  # the same URL again, after the POST
        page.keyboard.press("Space")
    expect(
        page.get_by_role("status").filter(has_text=CONTACTS_CONFIRMED.format(organization="Sierra CME"))
    ).to_be_visible()
    expect(page.locator(".stale-banner")).to_have_count(0)
    assert_accessible(page)
    sierra.refresh_from_db()
    assert sierra.contacts_confirmed_by == jane
    assert sierra.roles.filter(role=Role.TECHNICAL, person__email="nia@example.org").exists()
