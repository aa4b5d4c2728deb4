"""The admin says what went wrong where staff look (Chromium): a refused save on the form as sent, an error as an error."""

import pytest
from django.urls import reverse

from accounts.admin import PERSON_NOT_SAVED
from accounts.tests.factories import UserFactory
from contacts import services
from contacts.importfile import import_file_read
from contacts.models import Organization
from contacts.tests.import_files import csv_upload
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from e2e.test_admin_pages_axe import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_save_refused_meanwhile_is_said_on_the_form_with_what_was_typed(page, assert_accessible, monkeypatch):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    save = services.person_staff_update

    def someone_takes_the_address_first(**kwargs):
        UserFactory(email="janet@example.org")
        return save(**kwargs)

    monkeypatch.setattr(services, "person_staff_update", someone_takes_the_address_first)
    sign_in_to_admin(page, cme_staff(EDITORS))
    page.goto(reverse("admin:accounts_user_change", args=[jane.pk]))
    page.get_by_label("Email address").fill("janet@example.org")
    page.get_by_label("First name").fill("Janet")
    page.get_by_role("button", name="Save", exact=True).click()

    refusal = page.locator("ul.errorlist.nonfield li")
    assert refusal.inner_text().startswith(PERSON_NOT_SAVED.split("{error}")[0])
    assert page.get_by_label("Email address").input_value() == "janet@example.org"
    assert page.get_by_label("First name").input_value() == "Janet"
    jane.refresh_from_db()
    assert (jane.email, jane.first_name) == ("jane@example.org", "Jane")
    assert_accessible(page)


def test_an_error_message_is_shown_as_an_error(page, assert_accessible):
    editor = cme_staff(EDITORS)
    row = ["CA00123", "Sutter Health CME", "Primary Contact", "ana@sutter.org", "Ana", "Ruiz", "", "Fresno"]
    staged = services.roster_import_stage(rows=import_file_read(csv_upload([row])), filename="p.csv", by=editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    # Changed since the import: its undo is refused, with an error message.
    services.organization_update(organization=Organization.objects.get(), by=None, city="Sacramento")

    sign_in_to_admin(page, editor)
    page.goto(reverse("admin:contacts_organization_import_preview", args=[staged.pk]))
    page.get_by_role("button", name="Undo this import").click()

    message = page.locator("ul.messagelist li")
    assert "Sutter Health CME" in message.inner_text()
    style = message.evaluate("li => getComputedStyle(li).backgroundImage")
    assert "icon-no" in style, style
    assert_accessible(page)
