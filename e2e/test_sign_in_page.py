import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_page_has_no_axe_violations(page, assert_accessible):
    page.goto(reverse("accounts:login"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert page.get_by_label("Email address").is_visible()
    assert_accessible(page)
