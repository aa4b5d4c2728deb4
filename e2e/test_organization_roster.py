"""The roster journeys in Chromium: add a contact, hand over the primary role, remove a staff member."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from contacts.views import CONTACT_INVITED, PRIMARY_TRANSFERRED, ROLE_REMOVED
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email, password=PASSWORD):
    """Through the real sign-in page."""
    page.goto(reverse("accounts:login"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def profile_path(organization):
    return reverse("contacts:profile", args=[organization.pk])


@pytest.fixture
def organization():
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    return OrganizationFactory(primary=jane, name="Sierra CME")


def test_adding_a_contact_sends_the_invitation(page, assert_accessible, organization):
    sign_in(page, "jane@example.org")
    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))  # one organization: straight to it
    assert_accessible(page)

    page.get_by_role("link", name="Add a contact").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Add a contact to Sierra CME"
    assert_accessible(page)
    page.get_by_label("Technical Contact").check()
    page.get_by_label("Email address").fill("nia@example.org")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("New")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check the new contact before adding them"
    assert run_email_worker() == []
    page.get_by_role("button", name="Add contact").click()

    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    notice = CONTACT_INVITED.format(email="nia@example.org", person="Nia New", role="Technical Contact")
    expect(page.get_by_role("status").filter(has_text=notice)).to_be_visible()
    technical = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Technical Contact"))
    assert "Nia New" in technical.inner_text()
    assert "Has not set a password yet" in technical.inner_text()
    assert_accessible(page)
    assert [message.to for message in run_email_worker()] == [["nia@example.org"]]
    assert f"{page.url.split('/organizations')[0]}/accounts/invitation/" in run_email_worker()[0].body


def test_handing_over_the_primary_role_notifies_both(page, assert_accessible, organization):
    john = UserFactory(email="john@example.org", first_name="John", last_name="Roe")
    services.role_assign(organization=organization, person=john, role=Role.STAFF, by=None)
    sign_in(page, "jane@example.org")
    page.get_by_role("link", name="Hand over the Primary Contact role").click()
    assert_accessible(page)
    page.get_by_label("Someone already listed").check()
    page.get_by_label("Choose the person").select_option(label="John Roe (john@example.org)")
    page.get_by_role("button", name="Continue").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Confirm the hand-over"
    changes = page.locator("ul.changes").inner_text()
    assert "John Roe (john@example.org) will become the Primary Contact of Sierra CME" in changes
    assert "You (Jane Doe) will no longer be the Primary Contact" in changes
    assert page.get_by_label("Keep Jane Doe on as Staff, so that they keep access").is_checked()
    assert_accessible(page)
    assert run_email_worker() == []
    page.get_by_role("button", name="Hand over the Primary Contact role").click()

    page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
    notice = PRIMARY_TRANSFERRED.format(new="John Roe", previous="Jane Doe")
    expect(page.get_by_role("status").filter(has_text=notice)).to_be_visible()
    primary = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Primary Contact"))
    assert "John Roe" in primary.inner_text()
    assert_accessible(page)
    assert sorted(message.to[0] for message in run_email_worker()) == ["jane@example.org", "john@example.org"]
    assert all("Primary Contact for Sierra CME changed" in message.subject for message in run_email_worker())


def test_a_removed_staff_member_loses_access_at_once(page, browser, live_server, assert_accessible, organization):
    sam = UserFactory(email="sam@example.org", first_name="Sam", last_name="Staff")
    services.role_assign(organization=organization, person=sam, role=Role.STAFF, by=None)
    OrganizationFactory(primary=sam, name="Sam's Other CME")  # so Sam can still sign in afterwards
    sams = browser.new_context(base_url=live_server.url)
    sams_page = sams.new_page()
    try:
        sign_in(sams_page, "sam@example.org")
        sams_page.goto(profile_path(organization))
        assert sams_page.get_by_role("heading", level=1).inner_text() == "Sierra CME"

        sign_in(page, "jane@example.org")
        page.get_by_role("link", name="Remove Sam Staff from Staff").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Remove Sam Staff as Staff?"
        assert_accessible(page)
        page.get_by_role("button", name="Remove Sam Staff").click()
        page.wait_for_url(re.compile(re.escape(profile_path(organization)) + "$"))
        assert (
            page.get_by_role("status")
            .filter(has_text=ROLE_REMOVED.format(person="Sam Staff", role="Staff"))
            .is_visible()
        )
        assert "Sam Staff" not in page.locator("ul.roster").inner_text()

        response = sams_page.goto(profile_path(organization))
        assert response.status == 404
        assert sams_page.get_by_role("heading", level=1).inner_text() == "Page not found"
        assert "Sierra CME" not in sams_page.content()
        sams_page.goto(reverse("contacts:dashboard"))  # one organization left: straight to it
        assert sams_page.get_by_role("heading", level=1).inner_text() == "Sam's Other CME"
        assert "Sierra CME" not in sams_page.content()
    finally:
        sams.close()


def test_removing_yourself_asks_first_and_ends_on_the_dashboard(page, assert_accessible, organization):
    kim = UserFactory(email="kim@example.org", first_name="Kim", last_name="Lee")
    services.role_assign(organization=organization, person=kim, role=Role.STAFF, by=None)
    other = OrganizationFactory(primary=kim, name="Kim's CME")
    services.role_assign(organization=OrganizationFactory(name="Third CME"), person=kim, role=Role.STAFF, by=None)
    sign_in(page, "kim@example.org")
    page.goto(profile_path(organization))
    page.get_by_role("link", name="Remove Kim Lee from Staff").click()
    expect(page.get_by_role("alert").filter(has_text="you will lose access to Sierra CME")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Remove me").click()
    page.wait_for_url(re.compile(re.escape(reverse("contacts:dashboard")) + "$"))
    expect(page.get_by_role("status").filter(has_text="You are no longer a contact of Sierra CME")).to_be_visible()
    expect(page.get_by_role("link", name=other.name, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Sierra CME", exact=True)).to_have_count(0)
    assert_accessible(page)
