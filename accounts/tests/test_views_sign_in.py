import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from accounts.forms import INVALID_LOGIN, NO_ACCESS
from accounts.tests.factories import PASSWORD, InvitedUserFactory, StaffUserFactory, UserFactory
from accounts.views import SIGNED_OUT
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
DASHBOARD = reverse("contacts:dashboard")


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


def signed_in_as(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def contact():
    """A Staff member of an organization, who has set their password."""
    person = UserFactory(email="jane.doe@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def test_sign_in_page_shows_the_form_in_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    # No SQL of its own: the two statements are ATOMIC_REQUESTS' savepoint and its release.
    with django_assert_max_num_queries(2):
        response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert 'for="id_username"' in html and 'for="id_password"' in html
    assert 'type="email"' in html
    assert reverse("accounts:password_reset") in html


def test_contact_signs_in_with_their_email_in_any_case_and_lands_on_the_dashboard(client, contact):
    response = sign_in(client, "  JANE.Doe@EXAMPLE.org ")
    assert response.status_code == 302
    assert response.url == DASHBOARD
    assert signed_in_as(client) == str(contact.pk)


def test_sign_in_goes_on_to_the_next_page_on_this_site(client, contact):
    response = sign_in(client, contact.email, next=reverse("accounts:profile"))
    assert response.url == reverse("accounts:profile")


def test_sign_in_ignores_a_next_page_on_another_site(client, contact):
    response = sign_in(client, contact.email, next="https://evil.example.com/")
    assert response.url == DASHBOARD


def test_signed_in_person_visiting_sign_in_goes_to_the_dashboard(client, contact):
    client.force_login(contact)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response.url == DASHBOARD


def test_wrong_password_is_refused_and_the_email_is_kept(client, contact):
    response = sign_in(client, contact.email, "not-my-password")
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert f'value="{contact.email}"' in response.content.decode()
    assert signed_in_as(client) is None


def invited_contact():
    person = InvitedUserFactory(email="invited@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def billing_and_ceo_only():
    person = UserFactory(email="billing@example.org")
    organization = OrganizationFactory()
    services.role_assign(organization=organization, person=person, role=Role.BILLING, by=None)
    services.role_assign(organization=organization, person=person, role=Role.CEO, by=None)
    return person


def former_contact():
    person = UserFactory(email="former@example.org")
    role = services.role_assign(
        organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None
    ).contact_role
    services.role_remove(contact_role=role, by=None)
    return person


def deactivated_contact():
    person = UserFactory(email="deactivated@example.org", is_active=False)
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def never_a_contact():
    return UserFactory(email="nobody@example.org")


@pytest.mark.parametrize("make_person", [billing_and_ceo_only, former_contact, never_a_contact])
def test_person_with_the_right_password_but_no_access_is_told_so_and_a_stranger_learns_nothing(
    client, contact, make_person
):
    person = make_person()
    refused = sign_in(client, person.email)
    assert signed_in_as(client) is None
    assert refused.context["form"].errors == {"__all__": [NO_ACCESS.format(support=settings.SUPPORT_EMAIL)]}
    # Without the password, the same address gets the same answer as any wrong password.
    stranger = sign_in(client, person.email, "not-the-password")
    assert stranger.context["form"].errors == {"__all__": [INVALID_LOGIN]}


@pytest.mark.parametrize("make_person", [invited_contact, deactivated_contact])
def test_person_who_may_not_sign_in_gets_the_same_message_as_a_wrong_password(client, contact, make_person):
    person = make_person()
    refused = sign_in(client, person.email)
    wrong_password = sign_in(client, contact.email, "not-my-password")
    assert refused.status_code == 200
    assert signed_in_as(client) is None
    assert refused.context["form"].errors == wrong_password.context["form"].errors == {"__all__": [INVALID_LOGIN]}


def test_invited_contact_cannot_sign_in_with_an_empty_password(client):
    person = invited_contact()
    response = sign_in(client, person.email, "")
    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_cme_staff_without_any_role_signs_in(client):
    staff = StaffUserFactory()
    response = sign_in(client, staff.email)
    assert response.status_code == 302
    assert signed_in_as(client) == str(staff.pk)


def test_contact_with_billing_and_a_staff_role_signs_in(client):
    person = billing_and_ceo_only()
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    assert sign_in(client, person.email).status_code == 302


def test_sign_out_by_post_signs_out_and_says_so(client, contact):
    client.force_login(contact)
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert signed_in_as(client) is None
    assert SIGNED_OUT in response.content.decode()


def test_sign_out_by_get_is_not_allowed(client, contact):
    client.force_login(contact)
    response = client.get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert signed_in_as(client) == str(contact.pk)


def test_fifth_wrong_password_pauses_sign_in_and_the_sixth_attempt_is_refused(client, contact):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert sign_in(client, contact.email, "guess").status_code == 200
    locked = sign_in(client, contact.email, "guess")
    assert locked.status_code == 429
    sixth = sign_in(client, contact.email.upper(), "another-guess")
    assert sixth.status_code == 429
    html = sixth.content.decode()
    assert html.count("<h1") == 1 and "Sign-in paused" in html
    assert reverse("accounts:password_reset") in html
    assert settings.SUPPORT_EMAIL in html
    assert "30 minutes" in html


def test_paused_account_cannot_sign_in_even_with_the_right_password(client, contact):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, contact.email, "guess")
    response = sign_in(client, contact.email)
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_changing_the_case_of_the_email_does_not_earn_more_attempts(client, contact):
    variants = [contact.email, contact.email.upper(), contact.email.title(), "Jane.Doe@example.org"]
    for variant in variants + variants[:1]:
        sign_in(client, variant, "guess")
    assert AccessAttempt.objects.get().username == contact.email
    assert sign_in(client, contact.email).status_code == 429


def test_successful_sign_in_clears_earlier_failures(client, contact):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, contact.email, "guess")
    assert sign_in(client, contact.email).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, contact.email, "guess").status_code == 200


def test_admin_sign_in_is_throttled_by_the_same_rule(client):
    staff = StaffUserFactory(email="reviewer@example.org")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "Reviewer@Example.org", "password": "guess"})
    response = client.post(reverse("admin:login"), {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_contact_removed_from_their_last_role_is_signed_out_at_once(client):
    person = UserFactory()
    role = services.role_assign(
        organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None
    ).contact_role
    client.force_login(person)
    assert client.get(reverse("accounts:profile")).status_code == 200
    services.role_remove(contact_role=role, by=None)
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
