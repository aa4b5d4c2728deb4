import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-brand-new-passphrase-42"
NEW_PASSWORD_LABEL = re.compile(r"New password(?! confirmation)")


@pytest.fixture
def contact():
    person = UserFactory(email="jane.doe@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def test_person_resets_their_password_from_the_email_link_and_signs_in(page, assert_accessible, contact):
    page.goto(reverse("accounts:login"))
    page.get_by_role("link", name="Forgot your password?").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Reset your password"
    assert_accessible(page)

    page.get_by_label("Email address").fill("JANE.DOE@example.org")
    page.get_by_role("button", name="Email me a reset link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    assert_accessible(page)

    [message] = run_email_worker()
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", message.body).group(0)
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new password"
    assert_accessible(page)
    page.get_by_label(NEW_PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my new password").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Your password is set"
    assert_accessible(page)
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(contact.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/organizations/"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "This link has been used or has expired"
    assert_accessible(page)


def test_unknown_email_gets_the_same_page_and_no_email(page, contact):
    page.goto(reverse("accounts:password_reset"))
    page.get_by_label("Email address").fill("nobody@example.org")
    page.get_by_role("button", name="Email me a reset link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    assert run_email_worker() == []
