import re
import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.forms import PASSWORD_RULES
from accounts.tests.factories import InvitedUserFactory
from accounts.views import INVITATION_ACCEPTED
from contacts import services
from contacts.models import Role
from contacts.services import invitation_url
from contacts.tests.factories import OrganizationFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"
USED_OR_EXPIRED = "This link has been used or has expired"


@pytest.fixture
def organization():
    return OrganizationFactory(name="Bay Area CME Council")


@pytest.fixture
def invitation(organization, django_capture_on_commit_callbacks):
    """(person, path of the link in their "system access granted" email)."""
    with django_capture_on_commit_callbacks(execute=True):
        role = services.contact_add(
            organization=organization,
            email="maria.lopez@example.org",
            role=Role.STAFF,
            by=organization.primary_contact,
            first_name="Maria",
            last_name="Lopez",
        )
    [message] = run_email_worker()
    url = re.search(r"https?://\S+/accounts/invitation/\S+/", message.body).group(0)
    return role.person, url.removeprefix(settings.SITE_URL)


def test_invitation_email_says_how_long_the_link_works_and_how_to_get_another(invitation):
    _person, path = invitation
    [message] = run_email_worker()
    assert "expires in 7 days" in message.body
    assert "Forgot your password?" in message.body
    assert path in message.alternatives[0][0]


def open_link(client, path):
    """Django moves the token into the session and redirects to the set-password form."""
    return client.get(path, follow=True)


def accept(client, path, password=NEW_PASSWORD):
    form_page = open_link(client, path)
    return client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def test_invitation_page_welcomes_the_person_by_name(client, invitation, django_assert_max_num_queries):
    person, path = invitation
    form_page = open_link(client, path)
    with django_assert_max_num_queries(6):
        response = client.get(form_page.redirect_chain[-1][0])
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Welcome — set your password" in html
    assert "Maria Lopez" in html and person.email in html
    assert "Bay Area CME Council" in html
    assert 'for="id_new_password1"' in html and 'for="id_new_password2"' in html


def test_setting_the_password_signs_the_person_in_and_lands_on_the_dashboard(client, invitation):
    person, path = invitation
    response = accept(client, path)
    assert response.status_code == 302
    assert response.url == reverse("contacts:dashboard")
    assert client.session["_auth_user_id"] == str(person.pk)
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [INVITATION_ACCEPTED]


def test_weak_password_is_refused_and_the_person_stays_invited(client, invitation):
    person, path = invitation
    response = accept(client, path, password="password")
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    person.refresh_from_db()
    assert not person.has_usable_password()


def test_used_invitation_link_cannot_be_reused(client, invitation):
    _person, path = invitation
    accept(client, path)
    client.post(reverse("accounts:logout"))
    response = open_link(client, path)
    html = response.content.decode()
    assert html.count("<h1") == 1 and USED_OR_EXPIRED in html
    assert reverse("accounts:password_reset") in html
    assert "new_password1" not in html


def test_expired_invitation_link_shows_the_used_or_expired_page(client, invitation):
    person, path = invitation
    later = time.time() + settings.PASSWORD_RESET_TIMEOUT + 60
    with time_machine.travel(later):
        response = open_link(client, path)
    assert USED_OR_EXPIRED in response.content.decode()
    person.refresh_from_db()
    assert not person.has_usable_password()


def test_invitation_link_works_until_just_before_it_expires(client, invitation):
    _person, path = invitation
    almost = time.time() + settings.PASSWORD_RESET_TIMEOUT - 60
    with time_machine.travel(almost):
        response = accept(client, path)
    assert response.status_code == 302


def test_tampered_invitation_link_shows_the_used_or_expired_page(client, invitation):
    _person, path = invitation
    response = open_link(client, path.rstrip("/") + "x/")
    assert USED_OR_EXPIRED in response.content.decode()


def test_invitation_of_a_person_removed_before_accepting_no_longer_works(client, organization, invitation):
    person, path = invitation
    services.role_remove(contact_role=person.contact_roles.get(), by=organization.primary_contact)
    response = open_link(client, path)
    assert USED_OR_EXPIRED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_invitation_page_states_the_password_rules_in_one_sentence(client):
    person = InvitedUserFactory()
    OrganizationFactory(primary=person)
    html = client.get(invitation_url(person), follow=True).content.decode()
    assert PASSWORD_RULES in html
    assert "too similar to your other personal information" not in html  # Django's stock list
