"""A CME staff member enrols in two-factor sign-in, then signs in with an app's code and with a backup code."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.services import WRONG_CODE, two_factor_key_from_text
from accounts.tests.factories import PASSWORD, StaffUserFactory
from e2e.test_admin_pages_axe import check_at_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def app_code(secret: str, *, periods_ahead: int = 0) -> str:
    """What an authenticator app holding the secret shows (a code once used cannot be used again in its period)."""
    return f"{totp(bytes.fromhex(two_factor_key_from_text(secret)), drift=periods_ahead):06d}"


def password_step(page, person):
    page.goto(reverse("admin:index"))
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def enter_code(page, code):
    page.get_by_role("textbox", name=re.compile(r"^Code")).fill(code)
    page.get_by_role("button", name="Continue").click()


def sign_out_of_admin(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/sign-in/"))


def test_staff_member_enrols_then_signs_in_with_app_and_backup_codes(page, assert_accessible):
    newcomer = StaffUserFactory(email="new.staff@cma.example.org", is_superuser=True, two_factor=False)

    # Password alone: the admin sends them to enrol first.
    password_step(page, newcomer)
    page.wait_for_url(re.compile(r"/accounts/two-factor/set-up/"))
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    check_at_both_widths(page, assert_accessible, "enrol")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    page.get_by_role("textbox", name=re.compile(r"^Code")).fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_url(re.compile(r"/accounts/two-factor/backup-codes/"))
    codes = page.get_by_role("list", name="Backup codes").get_by_role("listitem").all_inner_texts()
    assert len(codes) == 10
    check_at_both_widths(page, assert_accessible, "backup-codes")
    page.get_by_role("link", name="I have kept my codes: continue").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    sign_out_of_admin(page)

    # Next sign-in: the password, then the code the app shows. A wrong code is refused.
    password_step(page, newcomer)
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    check_at_both_widths(page, assert_accessible, "code")
    wrong = f"{(int(app_code(secret, periods_ahead=1)) + 1) % 1_000_000:06d}"
    enter_code(page, wrong)
    expect(page.locator("#div_id_code").get_by_text(WRONG_CODE)).to_be_visible()  # and in the error summary
    check_at_both_widths(page, assert_accessible, "code-wrong")
    page.wait_for_timeout(1100)  # the app's codes pause for a second after a wrong one
    enter_code(page, app_code(secret, periods_ahead=1))
    page.wait_for_url(re.compile(r"/admin/$"))
    sign_out_of_admin(page)

    # Without the phone: a backup code works, once.
    password_step(page, newcomer)
    enter_code(page, codes[0])
    page.wait_for_url(re.compile(r"/admin/$"))
    sign_out_of_admin(page)
    password_step(page, newcomer)
    enter_code(page, codes[0])
    expect(page.locator("#div_id_code").get_by_text(WRONG_CODE)).to_be_visible()  # and in the error summary
    assert "/admin/" not in page.url.split("?")[0]
