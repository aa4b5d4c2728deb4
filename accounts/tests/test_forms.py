from datetime import timedelta

import pytest
from django.test import RequestFactory

from accounts.backends import throttle_username
from accounts.forms import CURRENT_PASSWORD_NEEDED, EMAIL_TAKEN, LoggedPasswordResetForm, ProfileForm, SignInForm
from accounts.templatetags.password_links import duration_in_words, link_lifetime
from accounts.tests.factories import InvitedUserFactory, StaffUserFactory, UserFactory
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory


def test_sign_in_form_asks_for_an_email_address():
    field = SignInForm().fields["username"]
    assert field.label == "Email address"
    assert field.widget.input_type == "email"
    assert field.widget.attrs["autocomplete"] == "email"


@pytest.mark.parametrize(
    "credentials, post, expected",
    [
        ({"username": " Jane.Doe@Example.ORG "}, {}, "jane.doe@example.org"),
        (None, {"username": "JANE@example.org"}, "jane@example.org"),
        (None, {}, ""),
    ],
)
def test_throttle_counts_attempts_per_address_in_lower_case(credentials, post, expected):
    request = RequestFactory().post("/accounts/sign-in/", post)
    assert throttle_username(request, credentials) == expected


@pytest.mark.parametrize(
    "value, words",
    [
        (7 * 86400, "7 days"),
        (86400, "1 day"),
        (3600, "1 hour"),
        (36 * 3600, "36 hours"),
        (timedelta(minutes=30), "30 minutes"),
        (59, "1 minute"),
        (None, ""),
    ],
)
def test_durations_read_as_words(value, words):
    assert duration_in_words(value) == words


def test_link_lifetime_follows_the_reset_timeout(settings):
    settings.PASSWORD_RESET_TIMEOUT = 3 * 86400
    assert link_lifetime() == "3 days"


def reset_recipients(email):
    return list(LoggedPasswordResetForm().get_users(email))


def holding(person, role):
    services.role_assign(organization=OrganizationFactory(), person=person, role=role, by=None)
    return person


@pytest.mark.django_db
def test_reset_goes_to_everyone_who_may_sign_in_whatever_the_case_of_the_email():
    contact = holding(UserFactory(email="jane@example.org"), Role.STAFF)
    invited = holding(InvitedUserFactory(email="invited@example.org"), Role.TECHNICAL)
    staff = StaffUserFactory(email="reviewer@example.org")
    assert reset_recipients("JANE@example.org") == [contact]
    assert reset_recipients("invited@example.org") == [invited]
    assert reset_recipients("reviewer@example.org") == [staff]


@pytest.mark.django_db
def test_reset_goes_to_nobody_who_may_not_sign_in():
    holding(UserFactory(email="billing@example.org"), Role.BILLING)
    holding(InvitedUserFactory(email="ceo@example.org"), Role.CEO)
    UserFactory(email="no-role@example.org")
    holding(UserFactory(email="inactive@example.org", is_active=False), Role.STAFF)
    for email in ["billing@example.org", "ceo@example.org", "no-role@example.org", "inactive@example.org", "x@y.org"]:
        assert reset_recipients(email) == []


def profile_form(person, **changes):
    data = {field: getattr(person, field) for field in ProfileForm.Meta.fields}
    return ProfileForm(data={**data, **changes}, instance=person)


@pytest.mark.django_db
def test_profile_form_refuses_an_email_taken_in_another_case():
    UserFactory(email="taken@example.org")
    form = profile_form(UserFactory(), email="Taken@EXAMPLE.org", current_password="anything")
    assert form.errors == {"email": [EMAIL_TAKEN]}


@pytest.mark.django_db
def test_profile_form_needs_the_password_only_when_the_email_changes():
    person = UserFactory(email="jane@example.org")
    assert profile_form(person, phone="916-555-0000").is_valid()
    assert profile_form(person, email="JANE@example.org").is_valid()
    assert profile_form(person, email="jane@elsewhere.org").errors == {"current_password": [CURRENT_PASSWORD_NEEDED]}
