"""Passwords are hashed with Argon2; an older PBKDF2 hash is upgraded at the person's next sign-in."""

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

import pars.settings as production
from accounts.tests.factories import PASSWORD, UserFactory
from contacts.tests.factories import provider_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_hashers(settings):
    """The production hasher list (the suite otherwise uses a fast MD5 hasher)."""
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_argon2_comes_first_and_the_older_hashers_stay_to_read_old_hashes():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in production.PASSWORD_HASHERS


def test_a_new_password_is_hashed_with_argon2(real_hashers):
    person = UserFactory()
    person.set_password("a-new-long-passphrase-42")
    assert person.password.startswith("argon2$argon2id$")


def test_a_pbkdf2_hash_is_upgraded_to_argon2_at_the_next_sign_in(client, real_hashers):
    person = provider_user(email="jane.doe@example.org")
    # As stored before Argon2 came first.
    type(person).objects.filter(pk=person.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    person.refresh_from_db()
    assert person.password.startswith("pbkdf2_sha256$")

    response = client.post(reverse("accounts:login"), {"username": person.email, "password": PASSWORD})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.password.startswith("argon2$")
    assert person.check_password(PASSWORD)
