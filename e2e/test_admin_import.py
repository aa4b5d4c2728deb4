"""A CME editor imports organizations from an Excel file: reads the preview, corrects the file, confirms,
and sees the organizations; axe finds nothing on the pages, at desktop and phone widths."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import Organization, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.import_files import known_row, xlsx_bytes
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from e2e.test_admin_pages_axe import DESKTOP, PHONE, check_at_both_widths, sign_in_to_admin
from pars.testing import run_email_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-import")

NEW = [
    [
        "CA00456",
        "Kern Medical Education",
        "Primary Contact",
        "kim@kern.org",
        "Kim",
        "Park",
        "(661) 555-0100",
        "Bakersfield",
    ],
    ["CA00456", "Kern Medical Education", "Billing Contact", "bill@kern.org", "Bill", "Ortiz", "", ""],
    ["CA00456", "Kern Medical Education", "Staff", "sam@kern.org", "Sam", "Lee", "", ""],
    ["CA00789", "Fresno Heart Institute", "Primary Contact", "fay@fresnoheart.org", "Fay", "Nguyen", "", "Fresno"],
    ["CA00789", "Fresno Heart Institute", "Medical Director", "dr.roy@fresnoheart.org", "Roy", "Chan", "", ""],
]


def shoot(page, name):
    SHOTS.mkdir(exist_ok=True)
    for suffix, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SHOTS / f"{name}-{suffix}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def upload(page, tmp_path, name, rows):
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(rows))
    page.get_by_label("CSV or Excel file").set_input_files(str(path))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(re.compile(r"/admin/contacts/organization/import/\d+/$"))


def test_editor_uploads_reads_the_preview_confirms_and_sees_the_organizations(page, assert_accessible, tmp_path):
    editor = cme_staff(EDITORS)
    sutter = OrganizationFactory(provider_id="CA00123", name="Sutter Health CME", city="Sacramento")
    ana = sutter.primary_contact
    robert = UserFactory(first_name="Robert", last_name="Kim")
    services.role_assign(organization=sutter, person=robert, role=Role.BILLING, by=None)
    moved = known_row(sutter, "Primary Contact", ana, phone=ana.phone, city="Fresno")
    staff = ["CA00123", "Sutter Health CME", "Staff", "sam@kern.org", "Sam", "Lee", "", ""]
    kept = ["CA00123", "Sutter Health CME", "Billing Contact", robert.email, "Robert", "Kim", "", ""]
    replacing = ["CA00123", "Sutter Health CME", "Billing Contact", "bill@kern.org", "Bill", "Ortiz", "", ""]
    broken = ["CA00789", "Fresno Heart Institute", "Staff", "jane@", "Jane", "Roe", "", ""]

    sign_in_to_admin(page, editor)
    page.get_by_role("link", name="Organizations", exact=True).first.click()
    page.get_by_role("link", name="Import from a file").click()
    check_at_both_widths(page, assert_accessible, "import-upload")

    # A file with mistakes: the preview says which rows, and why, and offers no confirmation.
    upload(page, tmp_path, "providers-2026.xlsx", [moved, staff, *NEW, replacing, broken])
    reasons = page.locator("#import-reasons li").all_inner_texts()
    assert reasons == [
        "row 9: Billing Contact already held by Robert Kim: this file would replace them",
        "row 10: 'jane@' is not an email address",
    ]
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    check_at_both_widths(page, assert_accessible, "import-preview-refused")
    shoot(page, "preview-refused")

    # Corrected: every row created, updated or unchanged; nothing imported until the editor confirms.
    page.get_by_role("link", name="upload it again").click()
    upload(page, tmp_path, "providers-2026.xlsx", [moved, kept, staff, *NEW])
    counts = dict(
        zip(
            page.locator("#import-counts dt").all_inner_texts(),
            page.locator("#import-counts dd").all_inner_texts(),
            strict=True,
        )
    )
    assert counts == {"Created": "6", "Updated": "1", "Unchanged": "1", "Refused": "0"}
    first_row = page.locator("#import-rows tbody tr").first
    assert first_row.locator("th, td").all_inner_texts()[:2] == ["2", "updated"]
    assert "city: “Sacramento” → “Fresno”" in first_row.inner_text()
    assert not Organization.objects.filter(provider_id="CA00456").exists()
    check_at_both_widths(page, assert_accessible, "import-preview")
    shoot(page, "preview")

    page.get_by_role("button", name="Import 8 rows").click()
    assert page.get_by_role("status").inner_text().startswith("Importing 8 rows from providers-2026.xlsx")
    check_at_both_widths(page, assert_accessible, "import-running")
    run_email_worker()  # the worker imports it
    page.get_by_role("link", name="Check whether it is done").click()
    page.locator("#import-status").wait_for()
    assert page.locator("#import-status").inner_text().endswith("2 new organization(s), 4 more role(s), 5 new people.")
    assert page.locator("#import-organizations a").all_inner_texts() == [
        "Fresno Heart Institute",
        "Kern Medical Education",
        "Sutter Health CME",
    ]
    check_at_both_widths(page, assert_accessible, "import-done")
    shoot(page, "done")

    page.get_by_role("link", name="All organizations").click()
    page.wait_for_url(re.compile(r"/admin/contacts/organization/$"))
    listed = page.locator("#result_list tbody th a").all_inner_texts()
    assert listed == ["Fresno Heart Institute", "Kern Medical Education", "Sutter Health CME"]
    sutter.refresh_from_db()
    assert sutter.city == "Fresno"

    # Its History names the import, which can be undone from there.
    page.goto(reverse("admin:contacts_organization_history", args=[sutter.pk]))
    page.get_by_role("link", name=f"Imported by {editor} from providers-2026.xlsx").click()
    page.get_by_role("button", name="Undo this import").click()
    page.locator(".messagelist .success").wait_for()
    assert "is undone" in page.locator(".messagelist .success").inner_text()
    assert list(Organization.objects.values_list("name", flat=True)) == ["Sutter Health CME"]
