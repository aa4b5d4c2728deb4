import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def directory():
    """25 learning centres (two pages), the 23rd with a website contact; and one unrelated provider."""
    target = None
    for n in range(25):
        organization = OrganizationFactory(
            name=f"Learning Centre {n:02d}",
            city="San José",
            primary=UserFactory(first_name="Primary", last_name=f"Person {n:02d}"),
        )
        if n == 22:
            target = organization
    website = UserFactory(
        first_name="Wendy",
        last_name="Web",
        credentials="MD, MPH",
        email="wendy.web@example.org",
        phone="(408) 555-0122",
    )
    services.role_assign(organization=target, person=website, role=Role.WEBSITE, by=None)
    OrganizationFactory(name="Redding Surgical Society", city="Redding")
    return target


def tab_to(page, locator, limit=30):
    """Press Tab until the locator has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} was not reachable with Tab")


def test_visitor_searches_pages_and_opens_a_provider_by_keyboard_and_mouse(page, assert_accessible, directory):
    page.goto(reverse("contacts:directory"))
    assert page.get_by_role("heading", level=1).inner_text() == "Find a CME Provider"
    assert_accessible(page)

    search = page.get_by_label("Name or city")
    tab_to(page, search)
    page.keyboard.type("SAN JOSE learning")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"q=SAN\+JOSE\+learning"))
    expect(page.get_by_role("heading", name="25 providers found, page 1 of 2")).to_be_visible()
    expect(page.get_by_role("link", name="Redding Surgical Society")).to_have_count(0)
    assert page.get_by_label("Name or city").input_value() == "SAN JOSE learning"
    assert_accessible(page)

    page.get_by_role("navigation", name="Pages of results").get_by_role("link", name="Next").click()

    page.wait_for_url(re.compile(r"page=2"))
    assert "q=SAN+JOSE+learning" in page.url
    expect(page.get_by_role("heading", name="25 providers found, page 2 of 2")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Learning Centre 22").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Learning Centre 22"
    contact = page.get_by_role("region", name="Contact")
    assert "Wendy Web, MD, MPH" in contact.inner_text()
    assert "(408) 555-0122" in contact.inner_text()
    assert contact.get_by_role("link", name="wendy.web@example.org").get_attribute("href") == (
        "mailto:wendy.web@example.org"
    )
    assert "Primary Person 22" not in page.content()
    assert_accessible(page)


def test_filters_are_usable_by_keyboard_alone(page, assert_accessible, directory):
    page.goto(reverse("contacts:directory"))

    status = page.get_by_label("Accreditation status")
    tab_to(page, status)
    for _ in range(4):  # Any, Provisional, Accreditation, Commendation, Probation
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # one accreditor in the directory: no accreditor filter between
    expect(page.get_by_label("Accreditor")).to_have_count(0)
    assert page.get_by_role("button", name="Search").evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"status=probation"))
    expect(page.get_by_role("heading", name="No accredited provider matches your search.")).to_be_visible()
    assert page.get_by_label("Accreditation status").input_value() == "probation"
    assert_accessible(page)


def test_visitor_downloads_every_page_of_a_search_as_csv_and_json_by_keyboard(page, assert_accessible, directory):
    page.goto(reverse("contacts:directory") + "?q=SAN+JOSE+learning&page=2")
    assert_accessible(page)

    csv_link = page.get_by_role("link", name="CSV file")
    tab_to(page, csv_link)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 25  # the header and both pages
    assert rows[23][:5] == ["Learning Centre 22", "CMA", "Accreditation", "San José", "CA"]
    assert rows[23][6:] == ["Wendy Web, MD, MPH", "(408) 555-0122", "wendy.web@example.org"]

    page.keyboard.press("Tab")
    assert page.get_by_role("link", name="JSON file").evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"providers\.json\?q=SAN\+JOSE\+learning$"))
    document = json.loads(page.locator("pre").first.inner_text())
    assert (document["version"], document["count"]) == (1, 25)
    assert document["providers"][22]["contact"]["name"] == "Wendy Web, MD, MPH"
