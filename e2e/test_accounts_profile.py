import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.forms import CURRENT_PASSWORD_NEEDED, CURRENT_PASSWORD_WRONG
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.views import PASSWORD_CHANGED, PROFILE_SAVED
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contact():
    person = UserFactory(email="jane.doe@example.org", first_name="Jane", last_name="Doe", phone="(916) 555-0101")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def sign_in(page, person):
    page.goto(reverse("accounts:login"))
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/organizations/"))


def test_person_edits_their_phone_and_sees_it_saved(page, assert_accessible, contact):
    sign_in(page, contact)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Edit My Profile").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Edit My Profile"
    assert page.get_by_label("Phone").input_value() == "(916) 555-0101"
    assert_accessible(page)

    page.get_by_label("Phone").fill("(916) 555-0199")
    page.get_by_role("button", name="Save my profile").click()

    expect(page.get_by_role("status").filter(has_text=PROFILE_SAVED)).to_be_visible()
    assert page.get_by_label("Phone").input_value() == "(916) 555-0199"
    assert_accessible(page)
    contact.refresh_from_db()
    assert contact.phone == "(916) 555-0199"


def test_new_email_without_the_current_password_is_refused_and_the_typing_kept(page, assert_accessible, contact):
    sign_in(page, contact)
    page.goto(reverse("accounts:profile"))
    page.get_by_label("First name").fill("Janet")
    page.get_by_label("Email address").fill("janet@newplace.org")
    page.get_by_role("button", name="Save my profile").click()

    expect(page.locator("#div_id_current_password").get_by_text(CURRENT_PASSWORD_NEEDED)).to_be_visible()
    assert page.get_by_label("First name").input_value() == "Janet"
    assert page.get_by_label("Email address").input_value() == "janet@newplace.org"
    assert_accessible(page)

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Save my profile").click()
    # Since issue 17 the new address waits for its link to be opened (e2e/test_accounts_email_change.py).
    expect(page.get_by_role("status").filter(has_text="We emailed a link to janet@newplace.org")).to_be_visible()
    contact.refresh_from_db()
    assert (contact.first_name, contact.email) == ("Janet", "jane.doe@example.org")


def test_profile_page_fits_a_phone_screen(page, assert_accessible, contact):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, contact)
    page.goto(reverse("accounts:profile"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Save my profile")).to_be_visible()
    assert_accessible(page)


def test_person_changes_their_password_from_the_profile_page(page, assert_accessible, contact):
    sign_in(page, contact)
    page.goto(reverse("accounts:profile"))
    page.get_by_role("link", name="Change your password").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Change your password"
    assert_accessible(page)

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label(re.compile(r"New password(?! confirmation)")).fill("a-brand-new-passphrase-42")
    page.get_by_label("New password confirmation").fill("a-brand-new-passphrase-42")
    page.get_by_role("button", name="Change my password").click()
    expect(page.locator("#div_id_old_password").get_by_text(CURRENT_PASSWORD_WRONG)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label(re.compile(r"New password(?! confirmation)")).fill("a-brand-new-passphrase-42")
    page.get_by_label("New password confirmation").fill("a-brand-new-passphrase-42")
    page.get_by_role("button", name="Change my password").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Password changed"
    expect(page.get_by_role("status").filter(has_text=PASSWORD_CHANGED)).to_be_visible()
    assert_accessible(page)
