"""Sign-in throttling sees the real client, behind trusted proxies or none, and limits each email across addresses."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from accounts.throttle import client_address
from contacts.tests.factories import provider_user

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
PROXY = "10.0.0.2"
ATTACKER = "203.0.113.9"
USER = "198.51.100.7"


@pytest.fixture
def jane():
    return provider_user(email="jane.doe@example.org")


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def sign_in(client, person, *, password=PASSWORD, remote=PROXY, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(LOGIN, {"username": person.email, "password": password}, **extra)


def guess(client, person, times, **where):
    for _ in range(times):
        response = sign_in(client, person, password="wrong-guess", **where)
    return response


def test_defaults_five_per_address_and_twenty_per_email():
    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_FAILURE_LIMIT_PER_EMAIL, settings.TRUSTED_PROXY_COUNT) == (
        5,
        20,
        0,
    )


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "client"),
    [
        (0, PROXY, f"{ATTACKER}", PROXY),  # no trusted proxy: the header is ignored
        (1, PROXY, f"{USER}", USER),
        (1, PROXY, f"1.2.3.4, {USER}", USER),  # the client wrote 1.2.3.4 itself: ignored
        (2, PROXY, f"1.2.3.4, {USER}, 10.0.0.1", USER),
        (1, PROXY, None, PROXY),  # not through the proxy: the connection's address
        (2, PROXY, f"{USER}", PROXY),
        (1, PROXY, "not-an-address", PROXY),
    ],
)
def test_client_address_counts_only_entries_our_proxies_wrote(settings, count, remote, forwarded, client):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == client


def test_without_a_proxy_a_forged_header_does_not_buy_more_guesses(client, jane):
    for number in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, jane, password="wrong-guess", remote=ATTACKER, forwarded=f"192.0.2.{number}")
    assert response.status_code == 429
    assert sign_in(client, jane, remote=ATTACKER, forwarded="192.0.2.99").status_code == 429


def test_without_a_proxy_the_lock_is_per_address(client, jane):
    assert guess(client, jane, settings.AXES_FAILURE_LIMIT, remote=ATTACKER).status_code == 429
    response = sign_in(client, jane, remote=USER)
    assert response.status_code == 302


def test_behind_a_proxy_an_attacker_locks_out_only_their_own_address(client, jane, behind_one_proxy):
    assert guess(client, jane, settings.AXES_FAILURE_LIMIT, forwarded=ATTACKER).status_code == 429
    assert sign_in(client, jane, forwarded=ATTACKER).status_code == 429
    # Jane, through the same proxy from her own address, signs in.
    response = sign_in(client, jane, forwarded=USER)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(jane.pk)


def test_behind_a_proxy_a_forged_header_does_not_buy_more_guesses(client, jane, behind_one_proxy):
    for number in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, jane, password="wrong-guess", forwarded=f"192.0.2.{number}, {ATTACKER}")
    assert response.status_code == 429


def test_behind_a_proxy_an_unconfigured_header_would_have_locked_everyone_out(client, jane, settings):
    # What the issue observed: with the proxy not trusted, everyone shares the proxy's address.
    settings.TRUSTED_PROXY_COUNT = 0
    guess(client, jane, settings.AXES_FAILURE_LIMIT, forwarded=ATTACKER)
    assert sign_in(client, jane, forwarded=USER).status_code == 429


@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_addresses_stops_at_the_per_email_limit(client, jane, settings, proxies):
    settings.TRUSTED_PROXY_COUNT = proxies
    per_address = settings.AXES_FAILURE_LIMIT - 1  # never locked at any one address
    addresses = [f"192.0.2.{number}" for number in range(settings.AXES_FAILURE_LIMIT_PER_EMAIL // per_address)]

    def where(address):
        return {"remote": address} if proxies == 0 else {"forwarded": address}

    for address in addresses[:-1]:
        assert guess(client, jane, per_address, **where(address)).status_code == 200
    response = guess(client, jane, per_address, **where(addresses[-1]))
    assert response.status_code == 429
    # Now the email is paused from everywhere, Jane's own address and right password included.
    assert sign_in(client, jane, **where(USER)).status_code == 429
    # Another person is not affected.
    other = provider_user(email="john@example.org")
    assert sign_in(client, other, **where(addresses[0])).status_code == 302
