"""Paging through History by keyboard: "Older changes" and back, axe-clean on every page."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts import services
from e2e.test_organization_pages import jane, organization_of  # noqa: F401 -- jane is a fixture used by name
from e2e.test_organization_roster import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def focus(page, text):
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText.trim()") == text:
            return
    pytest.fail(f"{text!r} is not reachable by keyboard")


def test_a_person_pages_to_the_oldest_change_and_back_by_keyboard(page, assert_accessible, jane):  # noqa: F811 -- the fixture
    organization = organization_of(jane)
    for number in range(30):
        services.organization_update(organization=organization, by=jane, phone=f"(916) 555-{number:04d}")
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:history", args=[organization.pk]))
    expect(page.get_by_text("(916) 555-0029”")).to_have_count(1)
    focus(page, "Older changes")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"before="))
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.get_by_text("created the organization")).to_have_count(1)
    expect(page.get_by_text("(916) 555-0029”")).to_have_count(0)
    assert_accessible(page)
    focus(page, "Newer changes")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"page=1&after="))
    expect(page.get_by_text("(916) 555-0029”")).to_have_count(1)
    assert_accessible(page)
