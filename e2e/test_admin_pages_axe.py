"""CME staff open each admin page, at desktop and phone widths; axe finds no violation on any.

Django's own admin markup had two: empty header cells in tabular inlines and breadcrumb
links told apart by colour only. templates/admin/ overrides fix both.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, InvitedUserFactory, totp_code
from contacts import services
from contacts.models import EmailLog, Role
from contacts.services import PRIMARY_CANNOT_BE_REMOVED
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots/admina11y"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def sign_in_to_admin(page, person):
    """Through the admin's own login page, then the code from the person's authenticator app."""
    page.goto(reverse("admin:index"))
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code").fill(totp_code(person))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def check_at_both_widths(page, assert_accessible, name):
    """The page as it is now: one <h1>, no axe violation and nothing wider than the screen, on desktop and phone."""
    for width, viewport in (("", DESKTOP), ("-phone", PHONE)):
        page.set_viewport_size(viewport)
        expect(page.locator("h1"), name).to_have_count(1)
        assert_accessible(page)
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        page.screenshot(path=f"{SHOTS}/{name}{width}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_admin_login_page_and_its_error_pass_axe(page, assert_accessible):
    page.goto(reverse("admin:login"))
    check_at_both_widths(page, assert_accessible, "login")

    page.get_by_label("Email address").fill("nobody@example.org")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_be_visible()
    check_at_both_widths(page, assert_accessible, "login-error")


def test_reviewer_opens_each_admin_page(page, assert_accessible):
    reviewer = cme_staff(REVIEWERS)
    organization = OrganizationFactory(name="Sutter Health CME")
    OrganizationFactory(name="Kern Medical Education")
    invited = InvitedUserFactory(first_name="Ines", last_name="Invited")
    services.role_assign(organization=organization, person=invited, role=Role.TECHNICAL, by=None)
    changelist = reverse("admin:contacts_organization_changelist")
    pages = {
        "index": reverse("admin:index"),
        "organizations": changelist,
        "organizations-filtered": f"{changelist}?confirmed=stale&q=Sutter",
        "organization": reverse("admin:contacts_organization_change", args=[organization.pk]),
        "organization-history": reverse("admin:contacts_organization_history", args=[organization.pk]),
        "users": reverse("admin:accounts_user_changelist"),
        "user": reverse("admin:accounts_user_change", args=[invited.pk]),
        "emails": reverse("admin:contacts_emaillog_changelist"),
        "email": reverse("admin:contacts_emaillog_change", args=[EmailLog.objects.get().pk]),
    }
    sign_in_to_admin(page, reviewer)
    for name, url in pages.items():
        page.goto(url)
        check_at_both_widths(page, assert_accessible, name)
        if name == "organizations-filtered":
            assert page.locator("#result_list tbody th a").all_inner_texts() == ["Sutter Health CME"]


def test_editor_adds_and_is_told_the_primary_contact_stays_without_axe_violations(page, assert_accessible):
    editor = cme_staff(EDITORS)
    organization = OrganizationFactory(name="Sutter Health CME")
    sign_in_to_admin(page, editor)

    page.goto(reverse("admin:contacts_organization_add"))
    # The person search, empty, is named by its label (static/js/admin.js).
    expect(page.get_by_role("combobox", name="Primary contact")).to_be_visible()
    check_at_both_widths(page, assert_accessible, "organization-add")
    page.goto(reverse("admin:accounts_user_add"))
    check_at_both_widths(page, assert_accessible, "user-add")

    page.goto(reverse("admin:contacts_organization_change", args=[organization.pk]))
    check_at_both_widths(page, assert_accessible, "organization-editor")
    page.locator("#roles-group").get_by_label("Remove from the roster").first.check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#roles-group .errorlist").inner_text() == PRIMARY_CANNOT_BE_REMOVED
    check_at_both_widths(page, assert_accessible, "organization-roster-error")
    assert organization.roles.get().role == Role.PRIMARY

    # A new roster row's empty person search is named by its column.
    page.get_by_role("button", name="Add another contact").click()
    expect(page.locator("#roles-group").get_by_role("combobox", name="Person")).to_have_count(2)
    check_at_both_widths(page, assert_accessible, "organization-row-added")
