"""A CME editor finds the organizations without a billing contact and gives one a billing contact."""

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import Organization, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from e2e.test_admin_pages_axe import SHOTS, sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_gives_an_organization_without_billing_contact_its_billing_contact(page, assert_accessible):
    editor = cme_staff(EDITORS)
    without = OrganizationFactory(name="Kern Medical Education")
    billing = UserFactory(first_name="Bill", last_name="Payne", email="bill.payne@kern.example")
    services.role_assign(
        organization=OrganizationFactory(name="Sutter Health CME"), person=UserFactory(), role=Role.BILLING, by=None
    )

    sign_in_to_admin(page, editor)
    assert_accessible(page)

    page.get_by_role("link", name="Organizations", exact=True).first.click()
    page.screenshot(path=f"{SHOTS}/changelist.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("link", name="No Billing Contact").click()
    page.wait_for_url(re.compile(r"unfilled=billing"))
    listed = page.locator("#result_list tbody th a")
    assert listed.all_inner_texts() == ["Kern Medical Education"]
    expect(page.get_by_text("(primary — no billing contact)")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/changelist-no-billing.png", full_page=True)
    assert_accessible(page)

    listed.first.click()
    page.wait_for_url(re.compile(rf"/admin/contacts/organization/{without.pk}/change/"))
    page.get_by_role("button", name="Add another contact").click()
    row = page.locator("#roles-group tr.form-row.dynamic-roles").last
    row.locator("select[name$='-role']").select_option(Role.BILLING.value)
    row.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("Payne")
    page.locator(".select2-results__option", has_text="Bill Payne").click()
    page.screenshot(path=f"{SHOTS}/change-billing-added.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Save", exact=True).click()

    # Back on the list, still filtered: the organization has left it.
    page.wait_for_url(re.compile(r"/admin/contacts/organization/\?.*unfilled%3Dbilling|unfilled=billing"))
    assert page.locator(".messagelist .success").inner_text().startswith("The organization “Kern Medical Education”")
    assert Organization.objects.get(pk=without.pk).invoice_recipient() == (billing, False)
    expect(page.locator("#changelist-form").get_by_role("link", name="Kern Medical Education")).to_have_count(0)
    assert page.locator("#changelist-form .paginator").inner_text().strip() == "0 organizations"
    page.screenshot(path=f"{SHOTS}/changelist-no-billing-after.png", full_page=True)
    assert_accessible(page)
