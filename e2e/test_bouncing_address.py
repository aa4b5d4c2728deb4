"""The Profile tab with a billing address that bounces: the warning reads right, axe-clean on desktop and phone."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from e2e.test_organization_roster import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/site")


def test_profile_tab_warns_of_the_bouncing_billing_address(page, assert_accessible):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    organization = OrganizationFactory(primary=jane, name="Sacramento Valley Medical Society")
    robert = UserFactory(first_name="Robert", last_name="Kim", email="robert.kim@svms.example.org")
    services.role_assign(organization=organization, person=robert, role=Role.BILLING, by=None)
    services.email_bounce_record(email=robert.email, at=timezone.now() - timedelta(days=3))
    sign_in(page, jane.email)
    page.goto(organization.get_absolute_url())
    warning = page.locator(".bouncing")
    assert warning.inner_text().startswith("Email to Robert Kim bounces (since ")
    assert "correct the address" in warning.inner_text()
    needed = page.get_by_text("Needed", exact=True)
    expect(needed).to_have_count(1)  # the CEO Contact, the other required role
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        page.set_viewport_size(viewport)
        assert_accessible(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(SHOTS / f"profile-bouncing-{name}.png"), full_page=True)
