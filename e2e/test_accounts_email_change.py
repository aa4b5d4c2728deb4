"""Issue 17: a person changes their sign-in address, confirms it from the email as really sent, signs in with it.

Each page at 1280 and 390 px with axe; screenshots go to SHOTS, to be looked at.
"""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, InvitedUserFactory, UserFactory
from accounts.views import EMAIL_CONFIRMED
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_email_change import CONFIRM_LINK
from e2e.test_accounts_profile import sign_in
from e2e.test_one_question_at_a_time import look
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots-email"


@pytest.fixture
def jane():
    person = UserFactory(email="jane.doe@old.example", first_name="Jane", last_name="Doe")
    services.role_assign(
        organization=OrganizationFactory(name="Sacramento Valley Medical Society"),
        person=person,
        role=Role.STAFF,
        by=None,
    )
    return person


def test_person_changes_their_email_confirms_it_from_the_email_and_signs_in_with_it(page, assert_accessible, jane):
    sign_in(page, jane)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Edit My Profile").click()
    page.get_by_label("Email address").fill("Jane.Doe@New.Example")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Save my profile").click()

    expect(
        page.get_by_role("status").filter(has_text="We emailed a link to jane.doe@new.example")
    ).to_be_visible()  # waits for the page the button led to
    expect(page.get_by_text("Waiting for confirmation of jane.doe@new.example")).to_be_visible()
    assert page.get_by_label("Email address").input_value() == "jane.doe@old.example"
    look(page, assert_accessible, "profile-waiting", shots=SHOTS)

    # The worker sends the queue; the link is read from the email as sent to the new address.
    [confirmation] = run_email_worker()
    assert confirmation.to == ["jane.doe@new.example"]
    link = CONFIRM_LINK.search(confirmation.body).group(0)
    page.get_by_role("button", name="Sign out", exact=True).click()

    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your new email address"
    look(page, assert_accessible, "confirm", shots=SHOTS)
    page.get_by_role("button", name="Confirm my new email address").click()

    page.wait_for_url(re.compile(r"/accounts/sign-in/"))
    expect(page.get_by_text(EMAIL_CONFIRMED.format(email="jane.doe@new.example"))).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email address").fill("jane.doe@new.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/organizations/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sacramento Valley Medical Society"

    [notice] = run_email_worker()[1:]
    assert notice.to == ["jane.doe@old.example"]
    assert "from jane.doe@old.example to jane.doe@new.example" in notice.body
    assert settings.SUPPORT_EMAIL in notice.body

    # The link works once.
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Email address not changed"
    assert page.get_by_role("alert").inner_text() == services.EMAIL_LINK_INVALID
    look(page, assert_accessible, "link-used", shots=SHOTS)


def test_an_address_someone_else_uses_is_refused_with_the_typing_kept(page, assert_accessible, jane):
    UserFactory(email="taken@example.org")
    sign_in(page, jane)
    page.goto(reverse("accounts:profile"))
    page.get_by_label("Job title").fill("CME Director")
    page.get_by_label("Email address").fill("Taken@Example.org")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Save my profile").click()

    expect(
        page.locator("#div_id_email").get_by_text(services.EMAIL_TAKEN)
    ).to_be_visible()  # waits for the page the button led to
    assert page.get_by_label("Email address").input_value() == "Taken@Example.org"
    assert page.get_by_label("Job title").input_value() == "CME Director"
    look(page, assert_accessible, "profile-taken", shots=SHOTS)


def test_provider_corrects_an_invited_contacts_address(page, assert_accessible):
    organization = OrganizationFactory(name="Sacramento Valley Medical Society")
    ivy = InvitedUserFactory(email="ivy@typo.example", first_name="Ivy", last_name="Vine")
    services.role_assign(organization=organization, person=ivy, role=Role.STAFF, by=organization.primary_contact)
    run_email_worker()
    sign_in(page, organization.primary_contact)
    page.goto(reverse("contacts:person_edit", args=[organization.pk, ivy.pk]))
    look(page, assert_accessible, "person-edit", shots=SHOTS)

    page.get_by_label("Email address").fill("ivy@right.example")
    page.get_by_role("button", name="Save details").click()

    expect(
        page.get_by_role("status").filter(has_text="A new invitation to ivy@right.example is queued")
    ).to_be_visible()  # waits for the page the button led to
    [invitation] = run_email_worker()[1:]
    assert invitation.to == ["ivy@right.example"]
