"""The custom user: one person per email address whatever its case, signing in by email."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from accounts.backends import EmailBackend
from accounts.tests.factories import PASSWORD, InvitedUserFactory, StaffUserFactory, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
EMAIL_TAKEN = next(
    c for c in User._meta.constraints if c.name == "accounts_user_email_ci_unique"
).violation_error_message


def backend_sign_in(email, password=PASSWORD):
    return EmailBackend().authenticate(None, username=email, password=password)


def test_user_model_signs_in_by_email_and_has_no_username():
    assert User.USERNAME_FIELD == "email"
    assert "username" not in {field.name for field in User._meta.get_fields()}


def test_createsuperuser_takes_an_email_and_creates_cme_staff(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase")
    call_command(
        "createsuperuser",
        "--noinput",
        "--email=Admin@CMA.example.org",
        "--first_name=Alex",
        "--last_name=Admin",
        stdout=StringIO(),
    )
    admin = User.objects.get(email__iexact="admin@cma.example.org")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("a-long-admin-passphrase")
    assert backend_sign_in("ADMIN@cma.example.org", "a-long-admin-passphrase") == admin


class Terminal(StringIO):
    def isatty(self):
        return True


def test_createsuperuser_asks_for_the_email_not_a_username(monkeypatch):
    answers = {"Email address": "Kim@CMA.example.org", "First name": "Kim", "Last name": "Lee"}
    prompts = []

    def answer(prompt):
        prompts.append(prompt)
        return next(value for label, value in answers.items() if prompt.lower().startswith(label.lower()))

    monkeypatch.setattr("builtins.input", answer)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-long-admin-passphrase")
    call_command("createsuperuser", interactive=True, stdin=Terminal(), stdout=StringIO(), stderr=StringIO())
    assert prompts[0].lower().startswith("email address")
    assert not any("username" in prompt.lower() for prompt in prompts)
    assert User.objects.get(email="kim@cma.example.org").is_superuser


def test_create_user_stores_the_canonical_address():
    assert User.objects.create_user("Jane.Doe@Example.ORG").email == "jane.doe@example.org"


def test_create_user_refuses_an_empty_email():
    with pytest.raises(ValueError):
        User.objects.create_user("")


def test_create_user_without_a_password_gives_an_unusable_one():
    assert not User.objects.create_user("invited@example.org").has_usable_password()


def test_email_differing_only_in_case_is_refused_with_a_readable_message():
    UserFactory(email="jane@x.org")
    with pytest.raises(ValidationError) as error:
        User.objects.create_user("JANE@x.org", PASSWORD)
    assert EMAIL_TAKEN in error.value.messages


def test_natural_key_finds_the_person_whatever_the_case():
    jane = UserFactory(email="Jane@X.org")
    assert User.objects.get_by_natural_key("jane@x.org") == jane


def test_contact_signs_in_with_their_email_in_another_case():
    jane = UserFactory(email="Jane@X.org")
    services.role_assign(organization=OrganizationFactory(), person=jane, role=Role.STAFF, by=None)
    assert backend_sign_in("jane@x.org") == jane
    assert backend_sign_in("JANE@X.ORG") == jane


def test_invited_contact_without_a_password_cannot_sign_in():
    invited = InvitedUserFactory()
    services.role_assign(organization=OrganizationFactory(), person=invited, role=Role.STAFF, by=None)
    assert not invited.has_usable_password()
    assert backend_sign_in(invited.email, "") is None
    assert backend_sign_in(invited.email, "!unusable") is None


def test_invited_contact_signs_in_once_they_set_a_password():
    invited = InvitedUserFactory()
    services.role_assign(organization=OrganizationFactory(), person=invited, role=Role.STAFF, by=None)
    invited.set_password("their-own-long-passphrase")
    invited.save()
    assert backend_sign_in(invited.email, "their-own-long-passphrase") == invited


def test_billing_only_contact_with_a_password_cannot_sign_in():
    person = UserFactory()
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.BILLING, by=None)
    assert backend_sign_in(person.email) is None


def test_cme_staff_sign_in_without_any_role():
    staff = StaffUserFactory()
    assert backend_sign_in(staff.email) == staff


def test_deactivated_person_cannot_sign_in():
    person = OrganizationFactory().primary_contact
    person.is_active = False
    person.save()
    assert backend_sign_in(person.email) is None


def test_display_name_adds_credentials():
    assert (
        UserFactory.build(first_name="Jane", last_name="Doe", credentials="MD, MPH").display_name == "Jane Doe, MD, MPH"
    )
    assert UserFactory.build(first_name="Jane", last_name="Doe", credentials="").display_name == "Jane Doe"
    assert UserFactory.build(email="x@y.org", first_name="", last_name="", credentials="").display_name == "x@y.org"


def test_signing_in_records_last_login_without_a_history_row(client):
    person = OrganizationFactory().roles.get(role=Role.PRIMARY).person
    rows = person.history.count()
    response = client.post(reverse("accounts:login"), {"username": person.email, "password": PASSWORD})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.last_login is not None
    assert person.history.count() == rows


def test_get_user_answers_none_for_an_id_that_names_nobody():
    assert EmailBackend().get_user(987654321) is None
    assert EmailBackend().get_user("not a number") is None


def test_get_user_loads_every_field_with_the_databases_types():
    person = UserFactory(first_name="Ann")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.TECHNICAL, by=None)
    User.objects.filter(pk=person.pk).update(last_login="2026-01-02T03:04:05Z")

    loaded = EmailBackend().get_user(str(person.pk))

    assert loaded == person and loaded.first_name == "Ann" and loaded.is_active is True
    assert loaded.last_login.isoformat() == "2026-01-02T03:04:05+00:00"
    assert not loaded.get_deferred_fields()
