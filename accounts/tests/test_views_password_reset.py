import re
import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import PASSWORD, InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

User = get_user_model()
RESET = reverse("accounts:password_reset")
NEW_PASSWORD = "a-brand-new-passphrase-42"


def staff_member(person):
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


@pytest.fixture
def contact():
    return staff_member(UserFactory(email="jane.doe@example.org"))


@pytest.fixture
def ask_for_reset(client, django_capture_on_commit_callbacks):
    """Ask for a link on the reset page; the request commits, and its email goes out."""

    def ask(email, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(RESET, {"email": email}, **kwargs)

    return ask


def link_path(message) -> str:
    url = re.search(r"https?://\S+/accounts/password/reset/\S+/", message.body).group(0)
    assert url.startswith(settings.SITE_URL)
    return url.removeprefix(settings.SITE_URL)


def set_password(client, path, password=NEW_PASSWORD):
    """Open the link (Django moves the token into the session) and submit the new password."""
    form_page = client.get(path, follow=True)
    return client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def test_reset_page_has_one_heading_and_a_labelled_email_field(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get(RESET)
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Reset your password" in html
    assert 'for="id_email"' in html


def test_reset_answers_the_same_for_a_known_and_an_unknown_email(client, contact, ask_for_reset):
    known = ask_for_reset(contact.email, follow=True)
    unknown = ask_for_reset("nobody@example.org", follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [(reverse("accounts:password_reset_done"), 302)]
    assert known.content == unknown.content
    assert len(run_email_worker()) == 1


def test_reset_email_is_sent_to_the_person_and_logged(client, contact, ask_for_reset):
    ask_for_reset("JANE.DOE@example.ORG")
    [message] = run_email_worker()
    assert message.to == [contact.email]
    assert message.subject == "PARS contacts: reset your password"
    log = EmailLog.objects.get()
    assert (log.kind, log.recipient, log.to_email, log.subject) == (
        EmailLog.Kind.PASSWORD_RESET,
        contact,
        contact.email,
        message.subject,
    )
    assert link_path(message) in message.alternatives[0][0]


def test_reset_link_sets_the_new_password(client, contact, ask_for_reset):
    ask_for_reset(contact.email)
    response = set_password(client, link_path(run_email_worker()[0]))
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_complete")
    contact.refresh_from_db()
    assert contact.check_password(NEW_PASSWORD)
    complete = client.get(response.url).content.decode()
    assert complete.count("<h1") == 1 and reverse("accounts:login") in complete


def test_new_password_can_be_used_to_sign_in(client, contact, ask_for_reset):
    ask_for_reset(contact.email)
    set_password(client, link_path(run_email_worker()[0]))
    response = client.post(reverse("accounts:login"), {"username": contact.email, "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_mismatched_new_passwords_are_refused_with_a_message(client, contact, ask_for_reset):
    ask_for_reset(contact.email)
    form_page = client.get(link_path(run_email_worker()[0]), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    contact.refresh_from_db()
    assert contact.check_password(PASSWORD)


def test_used_reset_link_shows_the_used_or_expired_page(client, contact, ask_for_reset):
    ask_for_reset(contact.email)
    path = link_path(run_email_worker()[0])
    set_password(client, path)
    response = client.get(path, follow=True)
    html = response.content.decode()
    assert html.count("<h1") == 1 and "This link has been used or has expired" in html
    assert RESET in html
    assert "new_password1" not in html


def test_reset_link_expires_after_the_reset_timeout(client, contact, ask_for_reset):
    ask_for_reset(contact.email)
    path = link_path(run_email_worker()[0])
    later = time.time() + settings.PASSWORD_RESET_TIMEOUT + 60
    with time_machine.travel(later):
        response = client.get(path, follow=True)
    assert "This link has been used or has expired" in response.content.decode()


def test_invited_contact_without_a_password_can_get_a_link_and_set_a_first_password(client, ask_for_reset):
    invited = staff_member(InvitedUserFactory(email="new.person@example.org"))
    run_email_worker().clear()
    ask_for_reset(invited.email)
    [message] = run_email_worker()
    set_password(client, link_path(message))
    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("role", [Role.BILLING, Role.CEO])
def test_no_link_goes_to_a_billing_or_ceo_contact_who_may_not_sign_in(client, role, ask_for_reset):
    person = UserFactory(email="money@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=role, by=None)
    run_email_worker().clear()
    ask_for_reset(person.email)
    assert run_email_worker() == []


def test_no_link_goes_to_a_former_contact(client, ask_for_reset):
    person = UserFactory(email="former@example.org")
    role = services.role_assign(
        organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None
    ).contact_role
    services.role_remove(contact_role=role, by=None)
    ask_for_reset(person.email)
    assert run_email_worker() == []


def test_link_stops_working_once_the_person_loses_their_last_role(client, ask_for_reset):
    person = UserFactory(email="leaving@example.org")
    role = services.role_assign(
        organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None
    ).contact_role
    ask_for_reset(person.email)
    [message] = run_email_worker()  # the link goes out while they still hold the role
    services.role_remove(contact_role=role, by=None)
    response = client.get(link_path(message), follow=True)
    assert "This link has been used or has expired" in response.content.decode()


def test_setting_a_password_by_the_link_lifts_a_sign_in_pause(client, contact, ask_for_reset):
    login = reverse("accounts:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": contact.email, "password": "guess"})
    assert client.post(login, {"username": contact.email, "password": PASSWORD}).status_code == 429
    ask_for_reset(contact.email)
    set_password(client, link_path(run_email_worker()[0]))
    response = client.post(login, {"username": contact.email.upper(), "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_reset_page_does_the_same_for_a_known_and_an_unknown_address_it_only_queues(client, contact):
    """The fault: the known address's email was sent inside the request, so its page took longer."""
    with CaptureQueriesContext(connection) as known:
        client.post(RESET, {"email": contact.email})
    with CaptureQueriesContext(connection) as unknown:
        client.post(RESET, {"email": "nobody@example.org"})
    assert [q["sql"].split()[0] for q in known] == [q["sql"].split()[0] for q in unknown]
    assert not EmailLog.objects.exists(), "nothing is looked up or written for the address in the request"
    assert (
        list(DBTaskResult.objects.values_list("task_path", flat=True)) == ["accounts.tasks.password_reset_request"] * 2
    )
    assert [message.to for message in run_email_worker()] == [[contact.email]]
