"""The admin's messages look like what they say (Chromium): a refused save is an error, not a success."""

import pytest
from django.urls import reverse

from accounts.admin import PERSON_NOT_SAVED
from accounts.tests.factories import UserFactory
from contacts import services
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from e2e.test_admin_pages_axe import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_save_refused_meanwhile_is_shown_as_an_error(page, assert_accessible, monkeypatch):
    jane = UserFactory(email="jane@example.org", first_name="Jane", last_name="Doe")
    save = services.person_staff_update

    def someone_takes_the_address_first(**kwargs):
        UserFactory(email="janet@example.org")
        return save(**kwargs)

    monkeypatch.setattr(services, "person_staff_update", someone_takes_the_address_first)
    sign_in_to_admin(page, cme_staff(EDITORS))
    page.goto(reverse("admin:accounts_user_change", args=[jane.pk]))
    page.get_by_label("Email address").fill("janet@example.org")
    page.get_by_role("button", name="Save", exact=True).click()

    message = page.locator("ul.messagelist li")
    assert message.inner_text().startswith(PERSON_NOT_SAVED.split("{error}")[0])
    style = message.evaluate("li => getComputedStyle(li).backgroundImage")
    assert "icon-no" in style, style
    assert page.get_by_label("Email address").input_value() == "jane@example.org"
    assert_accessible(page)
