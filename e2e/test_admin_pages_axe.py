"""A CME reviewer signs in to the admin and opens each of its pages; axe checks every one."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD, InvitedUserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import REVIEWERS, cme_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots/admin"


# What axe finds in Django's own admin markup, which these pages do not override.
DJANGO_MARKUP = {
    # admin/edit_inline/tabular.html: the header cells above the row titles and the delete boxes.
    "empty-table-header": lambda node: node["html"] in ('<th class="original"></th>', "<th></th>"),
    # admin/base.html: the breadcrumbs are links told apart from their separators by colour only.
    "link-in-text-block": lambda node: any(".breadcrumbs" in target for target in node["target"]),
}


def axe_violations_of_ours(page):
    """axe's violations on an admin page, less those in Django's own markup (reported, not ours to fix)."""
    from axe_playwright_python.sync_playwright import Axe

    ours = {}
    for violation in Axe().run(page).response["violations"]:
        known = DJANGO_MARKUP.get(violation["id"], lambda node: False)
        nodes = [node["html"][:100] for node in violation["nodes"] if not known(node)]
        if nodes:
            ours[violation["id"]] = nodes
    return ours


def sign_in_to_admin(page, person):
    """Through the admin's own login page."""
    page.goto(reverse("admin:index"))
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def test_reviewer_opens_each_admin_page(page):
    reviewer = cme_staff(REVIEWERS)
    organization = OrganizationFactory(name="Sutter Health CME")
    invited = InvitedUserFactory(first_name="Ines", last_name="Invited")
    services.role_assign(organization=organization, person=invited, role=Role.TECHNICAL, by=None)
    pages = {
        "index": reverse("admin:index"),
        "organizations": reverse("admin:contacts_organization_changelist"),
        "organization": reverse("admin:contacts_organization_change", args=[organization.pk]),
        "organization-history": reverse("admin:contacts_organization_history", args=[organization.pk]),
        "users": reverse("admin:accounts_user_changelist"),
        "user": reverse("admin:accounts_user_change", args=[invited.pk]),
        "emails": reverse("admin:contacts_emaillog_changelist"),
        "email": reverse("admin:contacts_emaillog_change", args=[EmailLog.objects.get().pk]),
    }
    sign_in_to_admin(page, reviewer)
    found = {}
    for name, url in pages.items():
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        assert page.locator("h1").count() == 1, name
        found[name] = axe_violations_of_ours(page)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}/{name}-phone.png", full_page=True)
    assert found == {name: {} for name in pages}
