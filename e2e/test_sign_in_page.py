import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_page_has_no_axe_violations(page, assert_accessible):
    page.goto(reverse("accounts:login"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    expect(page.get_by_label("Email address")).to_be_visible()
    assert_accessible(page)
