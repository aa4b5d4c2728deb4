"""The issue-14 journeys in Chromium, each page at 1280 and 390 px with axe, and no sideways scroll at 320 px.

Add a contact through check-your-answers; replace a role holder with each radio;
an invalid form showing the error summary with focus on it; the admin's update
reminder through its confirmation page. Screenshots go to SHOTS, to be looked at.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.reminder_action import REMINDERS_QUEUED
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from contacts.views import CONTACT_INVITED, ROLE_ASSIGNED
from e2e.test_admin_pages_axe import sign_in_to_admin
from e2e.test_organization_roster import sign_in
from pars.forms import PHONE_INVALID
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots/issue14"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NARROWEST = {"width": 320, "height": 700}


def look(page, assert_accessible, name, shots=SHOTS):
    """axe at both widths, a screenshot of each (into shots), and nothing wider than a 320 px screen."""
    for suffix, viewport in (("", DESKTOP), ("-390", PHONE)):
        page.set_viewport_size(viewport)
        expect(page.locator("h1"), name).to_have_count(1)
        assert_accessible(page)
        page.screenshot(path=f"{shots}/{name}{suffix}.png", full_page=True)
    page.set_viewport_size(NARROWEST)
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROWEST["width"], name
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def organization():
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    return OrganizationFactory(primary=jane, name="Sacramento Valley Medical Society")


def profile_path(organization):
    return reverse("contacts:profile", args=[organization.pk])


def test_add_a_contact_through_check_your_answers(page, assert_accessible, organization):
    sign_in(page, "jane@example.org")
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    look(page, assert_accessible, "profile")
    page.get_by_role("link", name="Add a contact").click()
    look(page, assert_accessible, "add-1-form")

    page.get_by_label("Staff").check()
    page.get_by_label("Email address").fill("ana.ruiz@example.org")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Ruiz")
    page.get_by_label("Phone").fill("916 555 0142")
    page.get_by_role("button", name="Continue").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Check the new contact before adding them"
    assert (
        "We will email Ana Ruiz an invitation to set a password; they will be able to see and edit "
        "Sacramento Valley Medical Society." in page.locator("main").inner_text()
    )
    assert "(916) 555-0142" in page.locator("dl.check-answers").inner_text()
    assert run_email_worker() == []
    look(page, assert_accessible, "add-2-check")

    page.get_by_role("button", name="Change my answers").click()
    assert page.get_by_label("First name").input_value() == "Ana"
    assert page.get_by_label("Staff").is_checked()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Add contact").click()

    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    notice = CONTACT_INVITED.format(email="ana.ruiz@example.org", person="Ana Ruiz", role="Staff")
    expect(page.get_by_role("status").filter(has_text=notice)).to_be_visible()
    look(page, assert_accessible, "add-3-done")
    assert [message.to for message in run_email_worker()] == [["ana.ruiz@example.org"]]


def test_an_invalid_form_shows_the_error_summary_with_focus_on_it(page, assert_accessible, organization):
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:contact_add", args=[organization.pk]))
    page.get_by_label("Phone").fill("abc")
    page.get_by_role("button", name="Continue").click()

    assert page.title().startswith("Error: Add a contact")
    summary = page.locator("[data-error-summary]")
    assert summary.evaluate("element => element === document.activeElement")
    expect(summary.get_by_role("link", name=PHONE_INVALID)).to_be_visible()
    look(page, assert_accessible, "errors")
    summary.get_by_role("link", name=PHONE_INVALID).click()
    assert page.evaluate("document.activeElement.id") == "id_phone"
    assert page.get_by_label("Phone").input_value() == "abc"


def test_replace_with_someone_already_listed(page, assert_accessible, organization):
    sam = UserFactory(email="sam@example.org", first_name="Sam", last_name="Staff")
    services.role_assign(organization=organization, person=sam, role=Role.STAFF, by=None)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:role_assign", args=[organization.pk, "technical"]))
    assert not page.get_by_label("Choose the person").is_visible()  # nothing chosen: no fields yet
    assert not page.get_by_label("Email address").is_visible()
    page.get_by_label("Someone already listed").check()
    expect(page.get_by_label("Choose the person")).to_be_visible()
    assert not page.get_by_label("Email address").is_visible()
    look(page, assert_accessible, "replace-listed")
    page.get_by_label("Choose the person").select_option(label="Sam Staff (sam@example.org)")
    page.get_by_role("button", name="Assign").click()
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    assert page.get_by_role("status").filter(
        has_text=ROLE_ASSIGNED.format(person="Sam Staff", role="Technical Contact")
    )
    assert organization.holder(Role.TECHNICAL) == sam


def test_replace_with_someone_new(page, assert_accessible, organization):
    services.contact_add(organization=organization, email="ben@example.org", role=Role.BILLING, by=None)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:role_assign", args=[organization.pk, "billing"]))
    assert "Receives invoices" in page.locator("main").inner_text()
    page.get_by_label("Someone new").check()
    assert not page.get_by_label("Choose the person").is_visible()
    assert "we do not send them an invitation" in page.locator("#panel-new").inner_text()
    look(page, assert_accessible, "replace-new")
    page.get_by_label("Email address").fill("bill@example.org")
    page.get_by_label("First name").fill("Bill")
    page.get_by_label("Last name").fill("Payer")
    page.get_by_role("button", name="Replace").click()
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    assert organization.holder(Role.BILLING).email == "bill@example.org"
    sent = set(EmailLog.objects.filter(to_email="bill@example.org").values_list("kind", flat=True))
    # A Billing Contact is not invited (they never sign in), but is told of the role (issue 16).
    assert sent == {EmailLog.Kind.ROLE_ADDED}


def test_admin_reminder_goes_through_its_confirmation_page(page, assert_accessible):
    stale = OrganizationFactory(name="Stale CME")  # never confirmed
    fresh = OrganizationFactory(name="Fresh CME")
    services.contacts_confirm(organization=fresh, by=fresh.primary_contact)
    sign_in_to_admin(page, cme_staff(EDITORS))
    page.goto(reverse("admin:contacts_organization_changelist"))
    look(page, assert_accessible, "admin-organizations")
    expect(page.locator("select[name=action] option[value=delete_selected]")).to_have_count(0)
    page.get_by_role("checkbox", name="Select all objects on this page").check()
    page.locator("select[name=action]").select_option("send_update_reminder_action")
    page.get_by_role("button", name="Go").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Send the update reminder?"
    assert stale.primary_contact.email in page.locator("#content-main").inner_text()
    assert "Contacts confirmed on" in page.locator("#content-main").inner_text()
    assert run_email_worker() == []
    look(page, assert_accessible, "admin-reminder-confirm")
    with page.expect_navigation():  # the list's own URL again, after the confirming POST
        page.get_by_role("button", name="Send 1 reminder").click()
    queued = REMINDERS_QUEUED.format(count=1, names=f"Stale CME ({stale.provider_id}) to {stale.primary_contact.email}")
    assert queued in page.locator("ul.messagelist").inner_text()
    assert [message.to for message in run_email_worker()] == [[stale.primary_contact.email]]
