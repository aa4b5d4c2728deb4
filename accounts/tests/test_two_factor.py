"""Two-factor sign-in: CME staff enrol before any admin page, then give a code after the password; providers may opt in."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils.html import escape
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.admin import TWO_FACTOR_RESET_DONE
from accounts.security_views import BACKUP_CODES_GONE, TWO_FACTOR_OFF, TWO_FACTOR_ON
from accounts.tests.factories import PASSWORD, StaffUserFactory, totp_code
from contacts.tests.factories import provider_user

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
ADMIN_LOGIN = reverse("admin:login")
VERIFY = reverse("accounts:two_factor_verify")
SETUP = reverse("accounts:two_factor_setup")
BACKUP_CODES = reverse("accounts:two_factor_backup_codes")
ADMIN = reverse("admin:index")
PROFILE = reverse("accounts:profile")
DASHBOARD = reverse("contacts:dashboard")
# A moment well inside one 30-second TOTP step, so a frozen clock never straddles two.
NOON = datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def newcomer():
    """A CME staff member who has not enrolled yet."""
    return StaffUserFactory(email="new.staff@cma.example.org", two_factor=False)


@pytest.fixture
def staff():
    return StaffUserFactory(email="rachel@cma.example.org")


@pytest.fixture
def provider():
    return provider_user(email="jane.doe@example.org")


def password_sign_in(client, person, url=LOGIN, **extra):
    return client.post(url, {"username": person.email, "password": PASSWORD, **extra})


def code_from_setup_page(html: str, *, drift: int = 0) -> str:
    """What the person's app would show, from the secret the page shows as text."""
    secret = re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)
    return f"{totp(bytes.fromhex(services.two_factor_key_from_text(secret)), drift=drift):06d}"


def test_staff_without_a_device_is_sent_to_enrolment_before_any_admin_page(client, newcomer):
    password_sign_in(client, newcomer, url=ADMIN_LOGIN, next=ADMIN)
    response = client.get(reverse("admin:contacts_organization_changelist"), follow=True)
    assert response.redirect_chain[-1][0].startswith(SETUP)
    assert response.status_code == 200
    assert "Turn on two-factor sign-in" in response.content.decode()
    # Nor any page of the site: CME staff see every organization.
    assert client.get(DASHBOARD).url.startswith(VERIFY)


def test_enrolment_page_shows_the_qr_code_and_the_secret_in_a_fixed_number_of_queries(
    client, newcomer, django_assert_max_num_queries
):
    client.force_login(newcomer)
    # The session and the person, is there a device (two models), the new secret saved in the session.
    with django_assert_max_num_queries(9):
        response = client.get(SETUP)
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert '<svg role="img" aria-label="QR code for your authenticator app"' in html
    secret = re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)
    assert len(secret) == 32
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html
    assert "<script" not in html.split("</main>")[0].split("<main")[1]
    # The same secret until it is confirmed: a reload does not change what the app holds.
    assert secret in client.get(SETUP).content.decode()


def test_a_wrong_first_code_is_refused_and_enrols_nothing(client, newcomer, frozen):
    client.force_login(newcomer)
    html = client.get(SETUP).content.decode()
    wrong = f"{(int(code_from_setup_page(html)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"code": wrong})
    assert response.status_code == 200
    assert services.WRONG_FIRST_CODE in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    assert client.get(ADMIN).url.startswith(VERIFY)


def test_the_first_right_code_enrols_and_shows_ten_backup_codes_once(
    client, newcomer, frozen, django_assert_max_num_queries
):
    client.force_login(newcomer)
    html = client.get(SETUP + "?next=" + ADMIN).content.decode()
    response = client.post(SETUP, {"code": code_from_setup_page(html), "next": ADMIN})
    assert response.url.startswith(BACKUP_CODES)
    # The session and the person, the device verifying it, the session written without the codes.
    with django_assert_max_num_queries(8):
        response = client.get(response.url)
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert TWO_FACTOR_ON in html
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", html)
    assert len(codes) == 10
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=newcomer).values_list("token", flat=True))
    assert f'href="{ADMIN}"' in html
    # Once: a second look shows none, and the admin is open now.
    again = client.get(BACKUP_CODES, follow=True)
    assert BACKUP_CODES_GONE in again.content.decode()
    assert not any(code in again.content.decode() for code in codes)
    assert client.get(ADMIN).status_code == 200


def test_staff_sign_in_on_the_site_asks_for_the_code_after_the_password(client, staff, frozen):
    response = password_sign_in(client, staff)
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    assert client.get(ADMIN).url.startswith(VERIFY)

    response = client.post(VERIFY, {"code": totp_code(staff), "next": ADMIN})
    assert response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_staff_sign_in_through_the_admin_login_asks_for_the_code(client, staff, frozen):
    response = password_sign_in(client, staff, url=ADMIN_LOGIN, next=ADMIN)
    assert response.url == ADMIN
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0] == f"{VERIFY}?next=%2Fadmin%2F"
    assert "Enter your sign-in code" in response.content.decode()


def test_code_page_has_a_fixed_number_of_queries(client, staff, django_assert_max_num_queries):
    password_sign_in(client, staff)
    with django_assert_max_num_queries(7):
        response = client.get(VERIFY)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    # Every other link would lead back here: the layout offers only signing out.
    assert f'href="{PROFILE}"' not in html and f'href="{ADMIN}"' not in html
    assert reverse("accounts:logout") in html


def test_a_wrong_code_is_refused_and_the_admin_stays_closed(client, staff, frozen):
    password_sign_in(client, staff)
    wrong = f"{(int(totp_code(staff)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"code": wrong, "next": ADMIN})
    assert response.status_code == 200
    assert services.WRONG_CODE in response.content.decode()
    assert client.get(ADMIN).url.startswith(VERIFY)


def test_a_right_code_straight_after_a_wrong_one_waits_for_the_pause(client, staff, frozen):
    password_sign_in(client, staff)
    client.post(VERIFY, {"code": "000000" if totp_code(staff) != "000000" else "111111"})
    response = client.post(VERIFY, {"code": totp_code(staff)})
    assert services.TOO_MANY_CODES.format(seconds=1) in response.content.decode()
    frozen.shift(2)
    assert client.post(VERIFY, {"code": totp_code(staff), "next": ADMIN}).url == ADMIN


def test_a_backup_code_works_once(client, staff, frozen):
    key = services.two_factor_secret_new()
    enrolment = services.two_factor_enrol(person=staff, key=key, code=f"{totp(bytes.fromhex(key)):06d}")
    code = enrolment.backup_codes[0]

    password_sign_in(client, staff)
    assert client.post(VERIFY, {"code": code.upper(), "next": ADMIN}).url == ADMIN
    client.post(reverse("accounts:logout"))

    frozen.shift(60)
    password_sign_in(client, staff)
    response = client.post(VERIFY, {"code": code, "next": ADMIN})
    assert response.status_code == 200
    assert services.WRONG_CODE in response.content.decode()
    assert StaticToken.objects.filter(device__user=staff).count() == 9


def test_wrong_codes_count_as_failed_sign_ins_and_lock_out_like_passwords(client, staff, frozen):
    password_sign_in(client, staff)
    right = totp_code(staff)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        frozen.shift(2**attempt + 1)  # past each device pause: only django-axes' count stops them
        response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert AccessAttempt.objects.get(username=staff.email).failures_since_start == settings.AXES_FAILURE_LIMIT
    frozen.shift(60)
    assert client.post(VERIFY, {"code": totp_code(staff)}).status_code == 429
    # The password is paused too.
    client.post(reverse("accounts:logout"))
    assert password_sign_in(client, staff).status_code == 429


def test_a_password_alone_cannot_enrol_a_second_device(client, staff):
    password_sign_in(client, staff)
    response = client.get(SETUP)
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    assert client.post(SETUP, {"code": "123456"}).url.startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_the_code_page_ignores_a_next_page_on_another_site(client, staff, frozen):
    password_sign_in(client, staff)
    response = client.post(VERIFY, {"code": totp_code(staff), "next": "https://evil.example.com/"})
    assert response.url == ADMIN


def test_superuser_resets_a_staff_members_device_and_the_admin_logs_it(client, staff):
    superuser = StaffUserFactory(is_superuser=True)
    staff_client = type(client)()
    staff_client.force_login(staff)
    assert staff_client.get(ADMIN).status_code == 200

    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "two_factor_reset", "_selected_action": [staff.pk]},
        follow=True,
    )
    assert escape(TWO_FACTOR_RESET_DONE.format(people=f"{staff} <{staff.email}>")) in response.content.decode()
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert not StaticDevice.objects.filter(user=staff).exists()
    entry = LogEntry.objects.get(object_id=str(staff.pk))
    assert entry.user == superuser and entry.change_message == services.RESET_LOGGED
    # Their session ended; signing in again leads to enrolment.
    assert staff_client.get(ADMIN).url.startswith(ADMIN_LOGIN)
    password_sign_in(staff_client, staff)
    assert staff_client.get(VERIFY).url.startswith(SETUP)


def test_only_superusers_may_reset_two_factor(client):
    from contacts.tests.test_admin_groups import EDITORS, cme_staff

    target = StaffUserFactory()
    client.force_login(cme_staff(EDITORS))
    html = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "two_factor_reset" not in html
    client.post(
        reverse("admin:accounts_user_changelist"), {"action": "two_factor_reset", "_selected_action": [target.pk]}
    )
    assert TOTPDevice.objects.filter(user=target).exists()


def test_provider_turns_two_factor_on_from_the_profile_and_then_needs_a_code(client, provider, frozen):
    client.force_login(provider)
    profile = client.get(PROFILE).content.decode()
    assert f"{SETUP}?next={PROFILE}" in profile
    html = client.get(SETUP).content.decode()
    client.post(SETUP, {"code": code_from_setup_page(html), "next": PROFILE})
    assert len(client.get(BACKUP_CODES).context["codes"]) == 10
    assert "Turn off two-factor sign-in" in client.get(PROFILE).content.decode()

    client.post(reverse("accounts:logout"))
    frozen.shift(60)
    password_sign_in(client, provider)
    assert client.get(DASHBOARD).url.startswith(VERIFY)
    assert client.post(VERIFY, {"code": totp_code(provider)}).url == DASHBOARD
    assert client.get(PROFILE).status_code == 200


def test_provider_without_two_factor_signs_in_with_the_password_alone(client, provider):
    password_sign_in(client, provider)
    assert client.get(PROFILE).status_code == 200
    assert client.get(VERIFY).url == DASHBOARD


def test_provider_turns_two_factor_off(client):
    person = provider_user(two_factor=True)
    client.force_login(person)
    response = client.post(reverse("accounts:two_factor_remove"), follow=True)
    assert TWO_FACTOR_OFF in response.content.decode()
    assert not TOTPDevice.objects.filter(user=person).exists()


def test_staff_cannot_turn_two_factor_off(client, staff):
    client.force_login(staff)
    response = client.post(reverse("accounts:two_factor_remove"), follow=True)
    assert services.STAFF_KEEP_TWO_FACTOR in response.content.decode()
    assert TOTPDevice.objects.filter(user=staff).exists()
    assert "Turn off two-factor sign-in" not in client.get(PROFILE).content.decode()
