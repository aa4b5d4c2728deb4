"""The yearly confirmation in Chromium: the banner, confirming, and the History tab that records it and the roster."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from contacts.views import CONTACTS_CONFIRMED, PERSON_SAVED
from e2e.test_organization_roster import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/history")


def test_stale_organization_shows_the_banner_until_confirmed_and_history_records_it(page, assert_accessible):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    stale = OrganizationFactory(primary=jane, name="Stale CME")
    fresh = OrganizationFactory(primary=jane, name="Fresh CME")
    services.contacts_confirm(organization=fresh, by=jane)
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        services.contacts_confirm(organization=stale, by=jane)

    sign_in(page, "jane@example.org")
    page.wait_for_url(re.compile(re.escape(reverse("contacts:dashboard")) + "$"))
    banners = page.locator(".stale-banner")
    expect(banners).to_have_count(1)
    assert "Stale CME" in banners.inner_text() and "more than 365 days ago" in banners.inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="Review contacts of Stale CME").click()
    expect(page.locator(".stale-banner")).to_be_visible()
    page.get_by_role("button", name="Confirm contacts are current").click()
    page.wait_for_url(re.compile(re.escape(reverse("contacts:profile", args=[stale.pk])) + "$"))
    expect(
        page.get_by_role("status").filter(has_text=CONTACTS_CONFIRMED.format(organization="Stale CME"))
    ).to_be_visible()
    expect(page.locator(".stale-banner")).to_have_count(0)
    today = timezone.localdate().strftime("%B %-d, %Y")
    assert f"{today} by Jane Doe" in page.locator("dl.details").inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="History").click()
    assert page.get_by_role("link", name="History").get_attribute("aria-current") == "page"
    newest = page.locator("ol.history > li").first.inner_text()
    assert newest.startswith("Jane Doe confirmed the contacts are current.")
    assert_accessible(page)

    page.goto(reverse("contacts:dashboard"))
    expect(page.locator(".stale-banner")).to_have_count(0)


def test_history_shows_who_changed_a_roster_persons_phone(page, assert_accessible):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    organization = OrganizationFactory(primary=jane, name="Sierra CME")
    robert = InvitedUserFactory(first_name="Robert", last_name="Kim", credentials="", phone="(916) 555-0190")
    services.role_assign(organization=organization, person=robert, role=Role.BILLING, by=jane)

    sign_in(page, "jane@example.org")
    page.get_by_role("link", name="Edit details of Robert Kim (Billing Contact)").click()
    assert_accessible(page)
    page.get_by_label("Phone").fill("(916) 555-0199")
    page.get_by_role("button", name="Save details").click()
    page.wait_for_url(re.compile(re.escape(reverse("contacts:profile", args=[organization.pk])) + "$"))
    expect(page.get_by_role("status").filter(has_text=PERSON_SAVED.format(person="Robert Kim"))).to_be_visible()

    page.get_by_role("link", name="History").click()
    newest = page.locator("ol.history > li").first
    assert newest.inner_text().startswith(
        "Jane Doe changed Robert Kim's phone from “(916) 555-0190” to “(916) 555-0199”."
    )
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, width in (("desktop", 1280), ("phone", 390)):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=SHOTS / f"history-people-{name}.png", full_page=True)
