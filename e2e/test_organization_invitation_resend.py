"""A contact's invitation bounced: the Profile tab says so, and the primary contact sends it again (Chromium)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from contacts.views import INVITATION_QUEUED_AGAIN
from e2e.test_organization_roster import profile_path, sign_in
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def organization():
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    return OrganizationFactory(primary=jane, name="Sierra CME")


def test_failed_invitation_is_shown_and_sent_again_from_the_profile_tab(
    page, assert_accessible, organization, settings
):
    settings.EMAIL_BACKEND = "contacts.tests.test_reminders.BouncingBackend"
    services.contact_add(
        organization=organization, email="bounce@example.org", role=Role.STAFF, by=None, first_name="Bo"
    )
    run_email_worker()
    assert EmailLog.objects.get().status == EmailLog.Status.FAILED

    sign_in(page, "jane@example.org")
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    expect(page.get_by_text("Invitation failed")).to_be_visible()
    assert_accessible(page)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the mailbox works again
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Send the invitation again")).click()
    expect(page.get_by_text(INVITATION_QUEUED_AGAIN.format(email="bounce@example.org"))).to_be_visible()
    expect(page.get_by_text("Invitation queued")).to_be_visible()
    assert_accessible(page)

    [message] = run_email_worker()
    assert message.to == ["bounce@example.org"]
    page.goto(reverse("contacts:profile", args=[organization.pk]))
    expect(page.get_by_text("Invitation sent")).to_be_visible()


def test_profile_tab_with_a_pending_invitation_reads_well_on_a_phone(page, assert_accessible, organization):
    services.contact_add(organization=organization, email="nia@example.org", role=Role.STAFF, by=None)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "jane@example.org")
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    button = page.get_by_role("button", name=re.compile(r"^Send the invitation again"))
    expect(button).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text(INVITATION_QUEUED_AGAIN.format(email="nia@example.org"))).to_be_visible()
    assert_accessible(page)
