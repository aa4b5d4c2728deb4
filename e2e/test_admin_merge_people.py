"""A CME editor merges the same physician's old-address record into the new one: preview, choose, confirm."""

import os
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.merge_admin import MOVE_BOTH, REMOVE_IT
from accounts.merging import MERGE_STAFF
from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import ContactRole, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from e2e.test_admin_pages_axe import DESKTOP, PHONE, sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots-merge"
User = get_user_model()


def check_and_shoot(page, assert_accessible, name):
    """axe-clean and never wider than the screen, at desktop and at 390 px; a screenshot of each."""
    os.makedirs(SHOTS, exist_ok=True)
    for suffix, viewport in (("", DESKTOP), ("-phone", PHONE)):
        page.set_viewport_size(viewport)
        expect(page.locator("h1")).to_have_count(1)
        assert_accessible(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        page.screenshot(path=f"{SHOTS}/{name}{suffix}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_editor_previews_and_confirms_a_merge(page, assert_accessible):
    editor = cme_staff(EDITORS)
    new = UserFactory(first_name="Jane", last_name="Doe", email="jane.doe@sutter.example", phone="")
    old = UserFactory(
        first_name="Jane", last_name="Doe", email="jdoe@kern.example", phone="(661) 555-0134", credentials="MD"
    )
    kern = OrganizationFactory(name="Kern Medical Education", provider_id="CA00123", primary=old)
    services.role_assign(organization=kern, person=old, role=Role.BILLING, by=None)
    services.role_assign(organization=kern, person=new, role=Role.STAFF, by=None)
    sutter = OrganizationFactory(name="Sutter Health CME", provider_id="CA00456")
    for person in (new, old):
        services.role_assign(organization=sutter, person=person, role=Role.STAFF, by=None)
    services.role_assign(
        organization=OrganizationFactory(name="Valley Children's CME", provider_id="CA00789"),
        person=old,
        role=Role.MEDICAL_DIRECTOR,
        by=None,
    )

    sign_in_to_admin(page, editor)
    page.locator("#content-main a[href='/admin/accounts/user/']").first.click()
    page.get_by_role("link", name="Merge two people").click()
    page.get_by_label("Person to keep (email address)").fill("Jane.Doe@Sutter.example")
    page.get_by_label("Duplicate to merge into them (email address)").fill("jdoe@kern.example")
    page.get_by_role("button", name="Preview the merge").click()

    roles = page.locator("table.merge-roles tbody tr")
    expect(roles).to_have_count(4)
    assert page.locator("tr.merge-primary_moves").inner_text().startswith("Kern Medical Education (CA00123)")
    assert "becomes the Primary Contact" in page.locator("tr.merge-primary_moves").inner_text()
    assert "Staff here already" in page.locator("tr.merge-duplicate_removed").inner_text()
    decision = page.get_by_role("group", name="Both are on this roster: choose for the Billing Contact role")
    assert decision.get_by_label(MOVE_BOTH).is_checked()
    assert "The person kept has no phone: it takes “(661) 555-0134”" in page.locator(".merge-rules").inner_text()
    check_and_shoot(page, assert_accessible, "merge-preview")

    decision.get_by_label(REMOVE_IT).check()
    page.get_by_role("button", name="Merge jdoe@kern.example into jane.doe@sutter.example").click()

    page.wait_for_url(re.compile(rf"/admin/accounts/user/{new.pk}/change/"))
    message = page.locator(".messagelist .success").inner_text()
    assert message.startswith("Merged Jane Doe <jdoe@kern.example> into Jane Doe <jane.doe@sutter.example>")
    assert "2 role(s) moved, 2 removed" in message
    assert set(ContactRole.objects.filter(person=new).values_list("organization__name", "role")) == {
        ("Kern Medical Education", Role.PRIMARY),
        ("Kern Medical Education", Role.STAFF),
        ("Sutter Health CME", Role.STAFF),
        ("Valley Children's CME", Role.MEDICAL_DIRECTOR),
    }
    check_and_shoot(page, assert_accessible, "merged-kept-person")

    # The old address is an alias: the people search finds the person kept.
    page.goto("/admin/accounts/user/?q=jdoe%40kern.example")
    expect(page.locator("#result_list").get_by_role("link", name="jane.doe@sutter.example")).to_be_visible()
    assert_accessible(page)


def test_editor_is_told_why_two_people_cannot_be_merged(page, assert_accessible):
    editor = cme_staff(EDITORS)
    colleague = cme_staff(EDITORS)
    contact = UserFactory(first_name="Robert", last_name="Kim", email="robert.kim@kern.example")
    OrganizationFactory(name="Kern Medical Education", primary=contact)

    sign_in_to_admin(page, editor)
    page.goto(f"/admin/accounts/user/merge/?keep={contact.email}&merge={colleague.email}")

    assert MERGE_STAFF.format(person=colleague) in page.get_by_role("alert").inner_text()
    expect(page.get_by_role("button", name=re.compile("^Merge "))).to_have_count(0)
    check_and_shoot(page, assert_accessible, "merge-refused")
