"""Sessions end: after idle and absolute limits (shorter for CME staff), on a password change, and on request."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import SESSION_EXPIRED
from accounts.models import Session
from accounts.security_views import OTHER_SESSIONS_ENDED
from accounts.sessions import SessionStore
from accounts.tests.client import Client
from accounts.tests.factories import PASSWORD, StaffUserFactory
from contacts.tests.factories import provider_user

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
ADMIN = reverse("admin:index")


@pytest.fixture
def provider():
    return provider_user(email="jane.doe@example.org")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def signed_in(client, url=PROFILE) -> bool:
    return client.get(url).status_code == 200


def test_default_limits_are_shorter_for_cme_staff():
    assert (settings.SESSION_IDLE_MINUTES_STAFF, settings.SESSION_ABSOLUTE_HOURS_STAFF) == (30, 12)
    assert (settings.SESSION_IDLE_MINUTES, settings.SESSION_ABSOLUTE_HOURS) == (8 * 60, 14 * 24)


def test_staff_session_ends_after_30_idle_minutes(client, clock):
    client.force_login(StaffUserFactory())
    clock.shift(timedelta(minutes=29))
    assert signed_in(client, ADMIN)
    clock.shift(timedelta(minutes=31))
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    assert SESSION_EXPIRED in response.content.decode()


def test_staff_session_ends_12_hours_after_sign_in_however_busy(client, clock):
    client.force_login(StaffUserFactory())
    for _ in range(12 * 3 - 1):
        clock.shift(timedelta(minutes=20))
        assert signed_in(client, ADMIN)
    clock.shift(timedelta(minutes=21))
    assert client.get(ADMIN).status_code == 302


def test_provider_session_lasts_8_idle_hours(client, provider, clock):
    client.force_login(provider)
    clock.shift(timedelta(hours=7, minutes=59))
    assert signed_in(client)
    clock.shift(timedelta(hours=8, minutes=1))
    assert not signed_in(client)


def test_provider_session_ends_14_days_after_sign_in(client, provider, clock):
    client.force_login(provider)
    for _ in range(14 * 24 // 7 - 1):  # busy every 7 hours, never idle for 8
        clock.shift(timedelta(hours=7))
        assert signed_in(client)
    clock.shift(timedelta(hours=7, minutes=1))
    assert not signed_in(client)


def test_limits_come_from_the_settings(client, provider, clock, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client.force_login(provider)
    clock.shift(timedelta(minutes=6))
    assert not signed_in(client)


def test_changing_the_password_signs_out_every_other_session(client, provider):
    other = Client()
    other.force_login(provider)
    client.force_login(provider)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other)


def test_sign_out_of_every_other_device_keeps_this_one(client, provider):
    other = Client()
    other.force_login(provider)
    client.force_login(provider)
    assert "Sign out of every other device" in client.get(PROFILE).content.decode()
    response = client.post(reverse("accounts:sign_out_elsewhere"), follow=True)
    assert OTHER_SESSIONS_ENDED in response.content.decode()
    assert signed_in(client)
    assert not signed_in(other)
    # Signing in again afterwards works as ever.
    other.post(reverse("accounts:login"), {"username": provider.email, "password": PASSWORD})
    assert signed_in(other)


def test_staff_sign_out_elsewhere_keeps_this_session_verified(client):
    staff = StaffUserFactory()
    other = Client()
    other.force_login(staff)
    client.force_login(staff)
    client.post(reverse("accounts:sign_out_elsewhere"))
    assert signed_in(client, ADMIN)
    assert not signed_in(other, ADMIN)


# The session engine (accounts.sessions): Django's database sessions, loaded with one written-out query.


def test_a_session_reads_back_what_was_saved():
    session = SessionStore()
    session["seen"] = [1, "two"]
    session.save()

    loaded = SessionStore(session.session_key)
    assert loaded["seen"] == [1, "two"]
    assert loaded.session_key == session.session_key


def test_an_expired_or_unknown_session_reads_empty_and_gets_a_new_key_on_save(clock):
    session = SessionStore()
    session["seen"] = True
    session.set_expiry(60)
    session.save()
    clock.shift(timedelta(seconds=61))

    for key in (session.session_key, "x" * 32):
        loaded = SessionStore(key)
        assert "seen" not in loaded
        # A key nobody holds is never taken over (session fixation): saving makes a new one.
        loaded["again"] = True
        loaded.save()
        assert loaded.session_key != key


# The session row names its person, so one query reads both (accounts.sessions, accounts.middleware).


def session_row(client):
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_signing_in_writes_the_person_on_the_session_row(client, provider):
    client.force_login(provider)
    assert session_row(client).person == provider


def test_a_session_saved_before_the_column_existed_still_signs_its_person_in_and_gets_the_column(
    client, provider, django_assert_num_queries, clock
):
    client.force_login(provider)
    Session.objects.filter(person=provider).update(person=None)
    with django_assert_num_queries(2):  # the session, then the person the slow way
        assert client.get(reverse("accounts:password_change")).status_code == 200
    clock.shift(timedelta(minutes=2))  # the session is saved again once its last-seen time is due
    assert signed_in(client)
    assert session_row(client).person == provider


def person_values(person) -> dict:
    return {field.attname: getattr(person, field.attname) for field in person._meta.concrete_fields}


@pytest.mark.parametrize("with_the_session", [True, False], ids=["read with the session", "read alone"])
def test_the_signed_in_person_is_the_person_the_orm_reads_field_for_field(client, provider, with_the_session):
    """The person is built from the written-out query's row: dates must be dates, not SQLite's text."""
    client.force_login(provider)
    if not with_the_session:
        Session.objects.filter(person=provider).update(person=None)
    user = client.get(PROFILE).wsgi_request.user
    stored = type(provider).objects.get(pk=provider.pk)

    assert person_values(user) == person_values(stored)
    assert stored.last_login is not None and user.last_login.tzinfo is not None
    # Saving the person read with the session updates their row, as saving the ORM's would.
    people = type(stored).objects.count()
    user.first_name = "Janet"
    user.save(update_fields=["first_name"])
    assert type(stored).objects.count() == people
    assert type(stored).objects.get(pk=provider.pk).first_name == "Janet"


def test_a_session_row_naming_someone_else_than_its_data_is_not_trusted(client, provider):
    client.force_login(provider)
    someone_else = provider_user(email="someone.else@example.org")
    Session.objects.filter(person=provider).update(person=someone_else)
    page = client.get(PROFILE)
    assert page.status_code == 200
    assert page.wsgi_request.user == provider


def test_a_removed_person_is_signed_out_even_with_their_row_on_the_session(client, provider):
    client.force_login(provider)
    provider.contact_roles.all().delete()
    assert not signed_in(client)


def test_deleting_a_person_deletes_their_sessions(client, provider):
    client.force_login(provider)
    provider.contact_roles.all().delete()  # a person with roles cannot be deleted
    provider.delete()
    assert not Session.objects.exists()
    assert not signed_in(client)


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_open_sessions_over_without_a_person(clock):
    from django.apps import apps
    from django.contrib.sessions.models import Session as DjangoSession

    carry_over = importlib.import_module("accounts.migrations.0009_session_with_person").sessions_carried_over
    now = timezone.now()
    DjangoSession.objects.create(session_key="a" * 32, session_data="open", expire_date=now + timedelta(hours=1))
    DjangoSession.objects.create(session_key="b" * 32, session_data="expired", expire_date=now - timedelta(hours=1))

    carry_over(apps, SimpleNamespace(connection=connection))

    assert list(Session.objects.values_list("session_key", "session_data", "person")) == [("a" * 32, "open", None)]


def test_deleting_a_person_in_the_admin_lists_their_sessions_without_their_keys(client, provider):
    from accounts.tests.client import Client as VerifyingClient
    from contacts.tests.test_admin_groups import SUPERUSER, cme_staff

    provider.contact_roles.all().delete()
    browser = VerifyingClient()
    browser.force_login(provider)
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    client.force_login(cme_staff(SUPERUSER))

    page = client.get(reverse("admin:accounts_user_delete", args=[provider.pk])).content.decode()

    assert f"a session of {provider}" in page
    assert key not in page


def test_clearsessions_deletes_the_expired_sessions_and_keeps_the_open_ones(clock):
    from django.core.management import call_command

    expired, still_open = SessionStore(), SessionStore()
    expired.set_expiry(60)
    still_open.set_expiry(3600)
    expired.save()
    still_open.save()
    clock.shift(timedelta(seconds=61))

    call_command("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [still_open.session_key]
