import pytest
from django.urls import reverse

from accounts.forms import CURRENT_PASSWORD_NEEDED, CURRENT_PASSWORD_WRONG, EMAIL_TAKEN, ProfileForm
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.views import PROFILE_SAVED
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory
from pars.forms import PHONE_INVALID, REQUIRED

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")


@pytest.fixture
def contact():
    person = UserFactory(
        email="jane.doe@example.org",
        first_name="Jane",
        last_name="Doe",
        credentials="MD",
        job_title="CME Coordinator",
        phone="(916) 555-0101",
    )
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


@pytest.fixture
def signed_in(client, contact):
    client.force_login(contact)
    return client


def details(contact, **changes):
    data = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "credentials": contact.credentials,
        "job_title": contact.job_title,
        "phone": contact.phone,
        "email": contact.email,
        "current_password": "",
    }
    return {**data, **changes}


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={PROFILE}"


def test_profile_page_shows_my_details_in_a_fixed_number_of_queries(signed_in, django_assert_max_num_queries):
    # Savepoint, session, me, my access (checked on every request, so a removed contact
    # is out at once), release.
    with django_assert_max_num_queries(5):
        response = signed_in.get(PROFILE)
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Edit My Profile" in html
    for field in ["first_name", "last_name", "credentials", "job_title", "phone", "email", "current_password"]:
        assert f'for="id_{field}"' in html
    assert 'value="(916) 555-0101"' in html
    assert reverse("accounts:password_change") in html


def test_person_changes_their_own_details(signed_in, contact):
    response = signed_in.post(
        PROFILE,
        details(
            contact,
            first_name="Janet",
            last_name="Doe-Smith",
            credentials="MD, MPH",
            job_title="Director",
            phone="916-555-0199",
        ),
        follow=True,
    )
    assert response.redirect_chain == [(PROFILE, 302)]
    assert PROFILE_SAVED in response.content.decode()
    assert 'value="(916) 555-0199"' in response.content.decode()
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.credentials, contact.job_title, contact.phone) == (
        "Janet",
        "Doe-Smith",
        "MD, MPH",
        "Director",
        "(916) 555-0199",  # typed 916-555-0199: every phone number is kept in one format
    )


def test_change_is_recorded_in_the_history_as_made_by_the_person(signed_in, contact):
    signed_in.post(PROFILE, details(contact, phone="916-555-0199"))
    latest = contact.history.latest()
    assert latest.phone == "(916) 555-0199"
    assert latest.history_user == contact
    assert latest.history_type == "~"


def test_changing_the_email_needs_the_current_password(signed_in, contact):
    response = signed_in.post(PROFILE, details(contact, email="jane@newplace.org", phone="916-555-0199"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"current_password": [CURRENT_PASSWORD_NEEDED]}
    html = response.content.decode()
    assert CURRENT_PASSWORD_NEEDED in html
    assert 'value="jane@newplace.org"' in html and 'value="916-555-0199"' in html
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("jane.doe@example.org", "(916) 555-0101")


def test_wrong_current_password_is_refused(signed_in, contact):
    response = signed_in.post(PROFILE, details(contact, email="jane@newplace.org", current_password="guess"))
    assert response.context["form"].errors == {"current_password": [CURRENT_PASSWORD_WRONG]}
    contact.refresh_from_db()
    assert contact.email == "jane.doe@example.org"


def test_new_email_with_the_current_password_waits_for_confirmation(signed_in, contact, client):
    response = signed_in.post(PROFILE, details(contact, email="Jane@NewPlace.org", current_password=PASSWORD))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.email == "jane.doe@example.org"  # until the link emailed to the new address is opened
    client.post(reverse("accounts:logout"))
    signed_in_again = client.post(reverse("accounts:login"), {"username": "jane.doe@example.org", "password": PASSWORD})
    assert signed_in_again.status_code == 302


@pytest.mark.parametrize("typed", ["taken@example.org", "TAKEN@Example.ORG"])
def test_email_of_another_person_is_refused_whatever_its_case(signed_in, contact, typed):
    UserFactory(email="taken@example.org")
    response = signed_in.post(PROFILE, details(contact, email=typed, current_password=PASSWORD, first_name="Janet"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [EMAIL_TAKEN]}
    html = response.content.decode()
    assert EMAIL_TAKEN in html
    assert f'value="{typed}"' in html and 'value="Janet"' in html
    contact.refresh_from_db()
    assert (contact.email, contact.first_name) == ("jane.doe@example.org", "Jane")


def test_page_header_keeps_the_saved_person_when_the_form_is_refused(signed_in, contact):
    response = signed_in.post(PROFILE, details(contact, first_name="Janet", email="not-an-email"))
    assert response.status_code == 200
    assert response.wsgi_request.user.first_name == "Jane"


def test_same_email_in_another_case_needs_no_password(signed_in, contact):
    response = signed_in.post(PROFILE, details(contact, email="Jane.Doe@example.org"))
    assert response.status_code == 302


@pytest.mark.parametrize("field", ["first_name", "last_name", "email"])
def test_a_required_detail_left_empty_is_refused(signed_in, contact, field):
    response = signed_in.post(PROFILE, details(contact, **{field: ""}))
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [REQUIRED.format(what=ProfileForm.required_messages[field])]}


def test_a_phone_number_that_is_not_one_is_refused_with_an_example(signed_in, contact):
    response = signed_in.post(PROFILE, details(contact, phone="abc"))
    assert response.context["form"].errors == {"phone": [PHONE_INVALID]}
    html = response.content.decode()
    assert "<title>Error: " in html
    assert f'<a href="#id_phone">{PHONE_INVALID}</a>' in html


def test_profile_form_never_edits_another_person(signed_in, contact):
    other = UserFactory(email="other@example.org", first_name="Olga")
    signed_in.post(PROFILE, details(contact, first_name="Janet", pk=other.pk, id=other.pk))
    other.refresh_from_db()
    assert other.first_name == "Olga"
