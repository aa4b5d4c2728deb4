"""Two people editing one organization's details at once, in Chromium (issue 12).

Jane opens the details form; meanwhile Ann saves a new phone. Jane changes the
phone and the city: the page shows Ann's phone beside hers, who changed it and
when, keeps what Jane typed, passes axe on a desktop and on a 390-pixel phone,
and lets her keep theirs by keyboard, which saves her city and leaves Ann's phone.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import Organization, Role
from contacts.tests.factories import OrganizationFactory
from e2e.test_organization_pages import PHONE, assert_fits
from e2e.test_organization_roster import sign_in
from pars.concurrency import EDIT_CONFLICT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_field_both_changed_shows_theirs_beside_mine_and_keep_theirs_saves_the_rest(
    page, live_server, assert_accessible
):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    organization = OrganizationFactory(primary=jane, phone="(916) 555-0100", city="Fresno")
    ann = UserFactory(first_name="Ann", last_name="Able")
    services.role_assign(organization=organization, person=ann, role=Role.STAFF, by=None)
    sign_in(page, "jane@example.org")
    page.goto(reverse("contacts:organization_edit", args=[organization.pk]))

    services.organization_update(organization=organization, by=ann, phone="(916) 555-0222")
    page.get_by_label("Phone").fill("(916) 555-0333")
    page.get_by_label("City").fill("Davis")
    page.get_by_role("button", name="Save details").click()

    expect(page.get_by_text(EDIT_CONFLICT)).to_be_visible()
    table = page.get_by_role("table")
    assert "(916) 555-0222" in table.inner_text() and "(916) 555-0333" in table.inner_text()
    assert "Ann Able" in table.inner_text()
    assert page.get_by_label("City").input_value() == "Davis"
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_accessible(page)

    keep_theirs = page.get_by_role("button", name="Keep theirs")
    keep_theirs.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{reverse('contacts:profile', args=[organization.pk])}")
    saved = Organization.objects.get(pk=organization.pk)
    assert (saved.phone, saved.city) == ("(916) 555-0222", "Davis")


def test_a_contact_shared_with_another_organization_says_so_and_passes_axe(page, live_server, assert_accessible):
    jane = UserFactory(email="jane@example.org")
    mine = OrganizationFactory(primary=jane)
    grace = InvitedUserFactory(first_name="Grace", last_name="Lee")
    for organization in (mine, OrganizationFactory()):
        services.role_assign(organization=organization, person=grace, role=Role.STAFF, by=None)
    sign_in(page, "jane@example.org")

    page.goto(reverse("contacts:person_edit", args=[mine.pk, grace.pk]))

    expect(page.get_by_text(services.PERSON_DETAILS_SHARED.format(person=grace))).to_be_visible()
    expect(page.get_by_role("button", name="Save details")).to_have_count(0)
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_accessible(page)


def test_the_admin_change_form_shows_a_conflict_that_passes_axe_and_keep_theirs_works(page, assert_accessible):
    from contacts.tests.test_admin_groups import EDITORS, cme_staff
    from e2e.test_admin_pages_axe import check_at_both_widths, sign_in_to_admin

    organization = OrganizationFactory(phone="(916) 555-0100", city="Fresno")
    editor = cme_staff(EDITORS)
    sign_in_to_admin(page, editor)
    page.goto(reverse("admin:contacts_organization_change", args=[organization.pk]))

    services.organization_update(organization=organization, by=None, phone="(916) 555-0222")
    page.locator("#id_phone").fill("(916) 555-0333")
    page.locator("#id_city").fill("Davis")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()

    assert EDIT_CONFLICT in page.locator("#content").inner_text()
    assert "(916) 555-0222" in page.get_by_role("region", name="Fields changed by someone else").inner_text()
    check_at_both_widths(page, assert_accessible, "organization-conflict")
    page.get_by_role("button", name="Keep theirs").click()
    page.wait_for_load_state()
    saved = Organization.objects.get(pk=organization.pk)
    assert (saved.phone, saved.city) == ("(916) 555-0222", "Davis")
