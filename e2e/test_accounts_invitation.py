import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.views import INVITATION_ACCEPTED
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-brand-new-passphrase-42"
NEW_PASSWORD_LABEL = re.compile(r"New password(?! confirmation)")


@pytest.fixture
def invitation_url(page):
    """The link in the invitation email of a contact just added (the page fixture set SITE_URL)."""
    organization = OrganizationFactory(name="Bay Area CME Council")
    services.contact_add(
        organization=organization,
        email="maria.lopez@example.org",
        role=Role.STAFF,
        by=organization.primary_contact,
        first_name="Maria",
        last_name="Lopez",
    )
    [message] = run_email_worker()
    assert message.to == ["maria.lopez@example.org"]
    return re.search(r"https?://\S+/accounts/invitation/\S+/", message.body).group(0)


def test_invited_contact_sets_a_password_from_the_email_and_is_signed_in(page, assert_accessible, invitation_url):
    page.goto(invitation_url)
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome — set your password"
    expect(page.get_by_text("Maria Lopez, your account is ready.")).to_be_visible()
    assert_accessible(page)

    page.get_by_label(NEW_PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password and sign in").click()

    # Her only organization: the dashboard takes her straight to its Profile tab.
    page.wait_for_url(re.compile(r"/organizations/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Bay Area CME Council"
    expect(page.get_by_text(INVITATION_ACCEPTED)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_accessible(page)

    page.goto(reverse("accounts:profile"))
    assert page.get_by_label("Email address").input_value() == "maria.lopez@example.org"


def test_used_invitation_link_explains_itself_and_offers_a_new_link(page, assert_accessible, invitation_url):
    page.goto(invitation_url)
    page.get_by_label(NEW_PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password and sign in").click()
    page.wait_for_url(re.compile(r"/organizations/"))
    page.get_by_role("button", name="Sign out").click()

    page.goto(invitation_url)
    assert page.get_by_role("heading", level=1).inner_text() == "This link has been used or has expired"
    expect(page.get_by_label(NEW_PASSWORD_LABEL)).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Email me a new link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Reset your password"


def test_mismatched_passwords_are_refused_on_the_invitation_page(page, assert_accessible, invitation_url):
    page.goto(invitation_url)
    page.get_by_label(NEW_PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Set my password and sign in").click()
    expect(
        page.locator("#div_id_new_password2").get_by_text("The two password fields didn\u2019t match.")
    ).to_be_visible()
    assert (
        page.locator("[data-error-summary]")
        .get_by_role("link", name="The two password fields didn\u2019t match.")
        .is_visible()
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome — set your password"
    assert_accessible(page)
