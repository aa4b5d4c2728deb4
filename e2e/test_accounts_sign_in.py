import re

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from accounts.forms import INVALID_LOGIN
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.views import SIGNED_OUT
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contact():
    """Staff at two organizations (with one, the dashboard goes straight to its Profile tab)."""
    person = UserFactory(email="jane.doe@example.org", first_name="Jane", last_name="Doe")
    for name in ["Bay Area CME Council", "Redding Surgical Society"]:
        services.role_assign(organization=OrganizationFactory(name=name), person=person, role=Role.STAFF, by=None)
    return person


def fill_sign_in(page, email, password):
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # The click returns once the answer's page is on its way; is_visible() does not wait for it to be drawn.
    page.wait_for_load_state()


def test_contact_signs_in_lands_on_the_dashboard_and_signs_out(page, assert_accessible, contact):
    page.goto(reverse("accounts:login"))
    assert_accessible(page)
    fill_sign_in(page, "Jane.Doe@Example.org", PASSWORD)

    page.wait_for_url(re.compile(re.escape(reverse("contacts:dashboard")) + "$"))
    assert page.get_by_role("heading", level=1).inner_text() == "My organizations"
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(reverse("accounts:login")) + "$"))
    expect(page.get_by_role("status").filter(has_text=SIGNED_OUT)).to_be_visible()
    expect(page.get_by_role("link", name="Edit My Profile")).to_have_count(0)
    assert_accessible(page)


def test_sign_in_by_keyboard_goes_on_to_the_page_that_asked_for_it(page, contact):
    page.goto(reverse("accounts:profile"))
    page.wait_for_url(re.compile(r"/accounts/sign-in/\?next="))
    # The email field has the focus on arrival; Tab to the password, Enter to submit.
    page.keyboard.type(contact.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(reverse("accounts:profile")) + "$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Edit My Profile"


def test_wrong_password_keeps_the_email_and_says_so(page, assert_accessible, contact):
    page.goto(reverse("accounts:login"))
    fill_sign_in(page, contact.email, "not-my-password")
    expect(page.get_by_text(INVALID_LOGIN)).to_be_visible()
    assert page.get_by_label("Email address").input_value() == contact.email
    assert page.get_by_label("Password").input_value() == ""
    assert_accessible(page)


def test_repeated_wrong_passwords_pause_sign_in_with_a_clear_page(page, assert_accessible, contact):
    page.goto(reverse("accounts:login"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fill_sign_in(page, contact.email, "guess")
        expect(page.get_by_text(INVALID_LOGIN)).to_be_visible()
    fill_sign_in(page, contact.email, "guess")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign-in paused"
    expect(page.get_by_role("link", name="reset your password")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name=settings.SUPPORT_EMAIL)).to_be_visible()
    assert_accessible(page)

    page.goto(reverse("accounts:login"))
    fill_sign_in(page, contact.email, PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Sign-in paused"


def test_sign_in_page_fits_a_phone_screen(page, assert_accessible):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(reverse("accounts:login"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_accessible(page)
