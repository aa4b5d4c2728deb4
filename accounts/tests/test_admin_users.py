"""People in the admin: the list, search, roles held, invitations and set-password, for each kind of staff."""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from accounts.admin import INVITATIONS_QUEUED, NOT_INVITED, PERMISSION_FIELDS, PERSON_NOT_SAVED
from accounts.tests.factories import PASSWORD, InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

User = get_user_model()
CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")
STAFF_KINDS = [REVIEWERS, EDITORS, SUPERUSER]


def change_url(person):
    return reverse("admin:accounts_user_change", args=[person.pk])


def password_url(person):
    return reverse("admin:auth_user_password_change", args=[person.pk])


@pytest.fixture
def jane():
    """Primary Contact at two organizations, Staff at one of them."""
    jane = UserFactory(first_name="Jane", last_name="Doe", email="jane.doe@sutter.example", credentials="MD, MPH")
    OrganizationFactory(name="Sutter Health CME", primary=jane)
    kern = OrganizationFactory(name="Kern Medical Education", primary=jane)
    services.role_assign(organization=kern, person=jane, role=Role.STAFF, by=None)
    return jane


def listed(response):
    return [person.email for person in response.context["cl"].result_list]


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_list_shows_email_name_credentials_staff_and_whether_a_password_is_set(client, jane, kind):
    client.force_login(cme_staff(kind))
    InvitedUserFactory(email="invited@example.org")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "jane.doe@sutter.example" in html and "MD, MPH" in html
    headers = [str(header["text"]).lower() for header in response.context["result_headers"]]
    headers = [header for header in headers if "action-toggle" not in header]
    assert headers == [
        "email address",
        "first name",
        "last name",
        "credentials",
        "cme staff",
        "has set password",
        "email bounces",
    ]
    response = client.get(CHANGELIST, {"has_set_password": "no"})
    assert listed(response) == ["invited@example.org"]


@pytest.mark.parametrize("term", ["jane", "Doe", "sutter.example", "JANE.DOE@"])
def test_search_finds_people_by_name_and_email(client, jane, term):
    UserFactory(first_name="Other", last_name="Person", email="other@example.net")
    client.force_login(cme_staff(REVIEWERS))
    assert listed(client.get(CHANGELIST, {"q": term})) == [jane.email]


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_change_page_lists_the_roles_the_person_holds_with_links(client, jane, kind):
    client.force_login(cme_staff(kind))
    html = client.get(change_url(jane)).content.decode()
    assert "Kern Medical Education</a></td><td>Primary Contact" in html
    assert "Kern Medical Education</a></td><td>Staff" in html
    assert "Sutter Health CME</a></td><td>Primary Contact" in html
    assert reverse("admin:contacts_organization_change", args=[jane.contact_roles.first().organization_id]) in html


def test_person_without_roles_shows_none(client):
    client.force_login(cme_staff(REVIEWERS))
    html = client.get(change_url(UserFactory())).content.decode()
    roles_held = html[html.index("field-roles_held") :]
    assert roles_held[: roles_held.index("</div>\n")].rstrip().endswith('<div class="readonly">None')


# Invitations: the list runs outside a transaction (StaffModelAdmin), so each email is
# sent and logged before the action reports it. These tests commit for real to see that.

invitations = pytest.mark.django_db(transaction=True)


def invite(client, people):
    return client.post(
        CHANGELIST,
        {"action": "send_invitation", helpers.ACTION_CHECKBOX_NAME: [person.pk for person in people]},
        follow=True,
    )


@invitations
@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_invitation_action_emails_the_set_password_link_naming_the_first_organization(client, jane, kind, mailoutbox):
    client.force_login(cme_staff(kind))
    response = invite(client, [jane])
    [log] = EmailLog.objects.all()
    assert (log.kind, log.to_email, log.organization.name) == (
        EmailLog.Kind.INVITATION,
        jane.email,
        "Kern Medical Education",
    )
    assert [message.to for message in run_email_worker()] == [[jane.email]]
    assert "/accounts/" in mail.outbox[0].body
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert INVITATIONS_QUEUED.format(people=f"Jane Doe <{jane.email}>") in messages


@invitations
def test_invitation_action_says_queued_and_the_log_then_shows_the_refusal(client, settings, mailoutbox):
    settings.EMAIL_BACKEND = "contacts.tests.test_reminders.BouncingBackend"
    person = UserFactory(first_name="Bo", last_name="Unce", email="bounce@example.org")
    OrganizationFactory(name="Kern Medical Education", primary=person)
    client.force_login(cme_staff(EDITORS))
    response = invite(client, [person])
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [INVITATIONS_QUEUED.format(people="Bo Unce <bounce@example.org>")], "queued, as it is"
    assert run_email_worker() == []
    [log] = EmailLog.objects.all()
    assert (log.to_email, log.status) == ("bounce@example.org", EmailLog.Status.FAILED)
    assert "User unknown" in log.error


@invitations
def test_invitation_skips_people_who_hold_no_role_that_lets_them_sign_in(client, mailoutbox):
    billing_only = UserFactory(first_name="Bill", last_name="Payne")
    organization = OrganizationFactory()
    services.role_assign(organization=organization, person=billing_only, role=Role.BILLING, by=None)
    client.force_login(cme_staff(EDITORS))
    response = invite(client, [billing_only])
    assert run_email_worker() == []
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert NOT_INVITED.format(people=f"Bill Payne <{billing_only.email}>") in messages


@invitations
def test_reviewer_is_not_offered_the_invitation_action(client, jane, mailoutbox):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(CHANGELIST)
    assert response.context["action_form"] is None, "a reviewer has no action at all"
    invite(client, [jane])
    assert run_email_worker() == []


# Set-password: Django's own form


@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_staff_sets_a_contacts_password_with_the_standard_form(client, kind):
    contact = InvitedUserFactory()
    OrganizationFactory(primary=contact)
    client.force_login(cme_staff(kind))
    assert client.get(password_url(contact)).status_code == 200
    new_password = "a-long-and-unusual-passphrase-42"
    response = client.post(
        password_url(contact), {"usable_password": "true", "password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.check_password(new_password)


def test_reviewer_cannot_open_the_set_password_form(client):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get(password_url(UserFactory())).status_code == 403


# Editors change contacts, never access


def test_editor_changes_a_contacts_details_but_not_their_permissions(client, jane):
    client.force_login(cme_staff(EDITORS))
    response = client.get(change_url(jane))
    form = response.context["adminform"].form
    assert not set(PERMISSION_FIELDS) & set(form.fields)
    data = {"email": jane.email, "first_name": "Janet", "last_name": "Doe", "is_superuser": "on", "is_staff": "on"}
    assert client.post(change_url(jane), data).status_code == 302
    jane.refresh_from_db()
    assert (jane.first_name, jane.is_staff, jane.is_superuser) == ("Janet", False, False)


def test_an_address_taken_while_the_editor_saves_is_said_on_the_page_and_nothing_is_saved(client, jane, monkeypatch):
    save = services.person_staff_update

    def someone_takes_the_address_first(**kwargs):
        UserFactory(email="janet@sutter.example")
        return save(**kwargs)

    monkeypatch.setattr(services, "person_staff_update", someone_takes_the_address_first)
    client.force_login(cme_staff(EDITORS))
    data = {"email": "janet@sutter.example", "first_name": "Janet", "last_name": "Doe"}

    response = client.post(change_url(jane), data)

    # The form again, as sent, with the refusal on it: nothing the editor typed is lost.
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert form.non_field_errors()[0].startswith(PERSON_NOT_SAVED.split("{error}")[0])
    assert (form["email"].value(), form["first_name"].value()) == ("janet@sutter.example", "Janet")
    jane.refresh_from_db()
    assert (jane.email, jane.first_name) == ("jane.doe@sutter.example", "Jane")


def test_editor_cannot_change_another_staff_account_or_its_password(client):
    client.force_login(cme_staff(EDITORS))
    superuser = cme_staff(SUPERUSER)
    assert client.post(change_url(superuser), {"email": "taken@example.org"}).status_code == 403
    response = client.post(
        password_url(superuser), {"usable_password": "true", "password1": "x" * 20, "password2": "x" * 20}
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password(PASSWORD)


def test_superuser_grants_staff_groups(client, jane):
    client.force_login(cme_staff(SUPERUSER))
    form = client.get(change_url(jane)).context["adminform"].form
    assert set(PERMISSION_FIELDS) <= set(form.fields)


def test_reviewer_may_not_add_people(client):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get(ADD).status_code == 403


def test_editor_adds_a_contact_who_is_not_staff_and_has_no_password(client):
    client.force_login(cme_staff(EDITORS))
    response = client.post(
        ADD,
        {
            "email": "new.contact@example.org",
            "first_name": "New",
            "last_name": "Contact",
            "usable_password": "false",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.contact@example.org")
    assert not person.is_staff and not person.is_superuser
    assert not person.has_set_password


# Adding a person: by email


def test_superuser_adds_a_contact_by_email_without_a_password(client):
    client.force_login(cme_staff(SUPERUSER))
    response = client.post(
        ADD, {"email": "New.Person@Example.ORG", "first_name": "New", "last_name": "Person", "usable_password": "false"}
    )
    assert response.status_code == 302
    person = User.objects.get(email__iexact="new.person@example.org")
    # Stored in its canonical form (pars.addresses): every lookup compares with plain equality.
    assert person.email == "new.person@example.org"
    assert not person.has_set_password


def test_adding_an_email_that_differs_only_in_case_is_refused(client, jane):
    client.force_login(cme_staff(SUPERUSER))
    response = client.post(ADD, {"email": "JANE.DOE@sutter.example", "usable_password": "false"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact=jane.email).count() == 1


def test_user_list_keeps_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    client.force_login(cme_staff(EDITORS))
    UserFactory.create_batch(40)
    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) > 40
