import pytest
from django.urls import reverse

from accounts.forms import CURRENT_PASSWORD_WRONG
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.views import PASSWORD_CHANGED
from contacts import services
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

CHANGE = reverse("accounts:password_change")
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def contact():
    person = UserFactory(email="jane.doe@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


@pytest.mark.parametrize("url", [CHANGE, reverse("accounts:password_change_done")])
def test_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_password_change_page_has_one_heading_and_labelled_fields(client, contact, django_assert_max_num_queries):
    client.force_login(contact)
    with django_assert_max_num_queries(5):
        response = client.get(CHANGE)
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Change your password" in html
    for field in ["old_password", "new_password1", "new_password2"]:
        assert f'for="id_{field}"' in html
    assert "Current password" in html


def test_person_changes_their_password_and_stays_signed_in(client, contact):
    client.force_login(contact)
    response = client.post(
        CHANGE,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("accounts:password_change_done"), 302)]
    html = response.content.decode()
    assert PASSWORD_CHANGED in html and html.count("<h1") == 1
    assert client.session["_auth_user_id"] == str(contact.pk)
    contact.refresh_from_db()
    assert contact.check_password(NEW_PASSWORD)


def test_wrong_current_password_is_refused(client, contact):
    client.force_login(contact)
    response = client.post(
        CHANGE, {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"old_password": [CURRENT_PASSWORD_WRONG]}
    contact.refresh_from_db()
    assert contact.check_password(PASSWORD)


def test_too_short_new_password_is_refused(client, contact):
    client.force_login(contact)
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": "x7q", "new_password2": "x7q"})
    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()
