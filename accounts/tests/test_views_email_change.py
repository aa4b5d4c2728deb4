"""The pages of an email change: Edit My Profile asks, the link's page confirms, a provider or CME staff correct."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.views import EMAIL_CONFIRM_SENT, EMAIL_CONFIRMED, PROFILE_SAVED, _when
from contacts import services
from contacts.models import EmailChange, EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from contacts.tests.test_email_change import CONFIRM_LINK, INVITATION_LINK
from contacts.tests.test_views_history_people import entries
from contacts.views import INVITATION_QUEUED_AGAIN, PERSON_SAVED
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
WAITING = "Waiting for confirmation of <strong>{email}</strong>"


@pytest.fixture
def jane():
    person = UserFactory(email="jane@old.example", first_name="Jane", last_name="Doe", phone="(916) 555-0101")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def profile_data(person, **changes):
    fields = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]
    return {**{name: getattr(person, name) for name in fields}, "current_password": "", **changes}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def link_path(message) -> str:
    return reverse("accounts:email_confirm", args=[CONFIRM_LINK.search(message.body).group(1)])


def ask(client, person, email="jane@new.example"):
    """Sign in as the person and ask for the new address on Edit My Profile; the confirmation link's path."""
    client.force_login(person)
    response = client.post(PROFILE, profile_data(person, email=email, current_password=PASSWORD))
    assert response.status_code == 302
    [message] = [m for m in run_email_worker() if m.to == [email]]
    return link_path(message)


# Edit My Profile


def test_new_address_is_emailed_a_link_and_the_page_waits_for_its_confirmation(client, jane):
    client.force_login(jane)
    response = client.post(
        PROFILE, profile_data(jane, email="Jane@New.Example", phone="916-555-0199", current_password=PASSWORD)
    )

    change = EmailChange.objects.get(person=jane)
    assert messages_of(response) == [
        EMAIL_CONFIRM_SENT.format(
            email="jane@new.example", expires=_when(change.expires_at), current="jane@old.example"
        )
    ]
    jane.refresh_from_db()
    assert (jane.email, jane.phone) == ("jane@old.example", "(916) 555-0199")
    html = client.get(PROFILE).content.decode()
    assert WAITING.format(email="jane@new.example") in html
    assert 'value="jane@old.example"' in html
    [message] = run_email_worker()
    assert message.to == ["jane@new.example"]


def test_profile_page_with_a_waiting_address_costs_the_same_queries(client, jane, django_assert_max_num_queries):
    # Savepoint, session, me, my access, the waiting address, release.
    client.force_login(jane)
    with django_assert_max_num_queries(6):
        assert WAITING.format(email="jane@new.example") not in client.get(PROFILE).content.decode()
    services.email_change_request(person=jane, email="jane@new.example")
    with django_assert_max_num_queries(6):
        assert WAITING.format(email="jane@new.example") in client.get(PROFILE).content.decode()


def test_profile_page_says_when_the_link_has_expired(client, jane):
    services.email_change_request(person=jane, email="jane@new.example")
    EmailChange.objects.update(requested_at=timezone.now() - timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS))
    client.force_login(jane)
    html = client.get(PROFILE).content.decode()
    assert WAITING.format(email="jane@new.example") not in html
    assert "The link we emailed to <strong>jane@new.example</strong> has expired" in html


def test_saving_other_details_keeps_the_waiting_address(client, jane):
    ask(client, jane)
    jane.refresh_from_db()
    response = client.post(PROFILE, profile_data(jane, phone="916-555-0123"), follow=True)
    assert PROFILE_SAVED in response.content.decode()
    assert EmailChange.objects.filter(person=jane, new_email="jane@new.example").exists()


# The link's page


def test_opening_the_link_asks_and_changes_nothing_until_confirmed(client, jane, django_assert_max_num_queries):
    path = ask(client, jane)
    client.post(reverse("accounts:logout"))
    with django_assert_max_num_queries(4):
        response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200 and html.count("<h1") == 1
    assert "<strong>jane@new.example</strong>" in html and "Confirm my new email address" in html
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"


def test_confirming_signed_out_changes_the_address_and_the_new_one_signs_in(client, jane):
    path = ask(client, jane)
    client.post(reverse("accounts:logout"))

    response = client.post(path)

    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert EMAIL_CONFIRMED.format(email="jane@new.example") in client.get(response.url).content.decode()
    jane.refresh_from_db()
    assert jane.email == "jane@new.example"
    signed_in = client.post(reverse("accounts:login"), {"username": "jane@new.example", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.url == reverse("contacts:dashboard")
    [notice] = run_email_worker()[1:]
    assert notice.to == ["jane@old.example"] and settings.SUPPORT_EMAIL in notice.body


def test_confirming_signed_in_stays_signed_in_on_the_profile(client, jane):
    path = ask(client, jane)
    response = client.post(path, follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    html = response.content.decode()
    assert EMAIL_CONFIRMED.format(email="jane@new.example") in html
    assert 'value="jane@new.example"' in html and "Waiting for confirmation" not in html


def test_a_used_link_says_so_on_its_page(client, jane):
    path = ask(client, jane)
    client.post(path)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 200
        assert services.EMAIL_LINK_INVALID in response.content.decode()


def test_an_expired_link_says_so_and_changes_nothing(client, jane):
    path = ask(client, jane)
    EmailChange.objects.update(requested_at=timezone.now() - timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS))
    response = client.post(path)
    expired = services.EMAIL_LINK_EXPIRED.format(hours=settings.EMAIL_CHANGE_LINK_HOURS, email="jane@new.example")
    assert response.status_code == 200 and expired in response.content.decode()
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"


def test_an_address_taken_meanwhile_is_refused_on_the_links_page(client, jane):
    path = ask(client, jane)
    UserFactory(email="jane@new.example")
    response = client.post(path)
    taken = services.EMAIL_TAKEN_MEANWHILE.format(
        email="jane@new.example", current="jane@old.example", support=settings.SUPPORT_EMAIL
    )
    assert response.status_code == 200 and taken in response.content.decode()
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"


# A provider corrects an invited contact's address


@pytest.fixture
def organization():
    return OrganizationFactory(name="Sutter Health CME")


@pytest.fixture
def ivy(organization):
    person = InvitedUserFactory(email="ivy@typo.example", first_name="Ivy", last_name="Vine")
    services.role_assign(organization=organization, person=person, role=Role.STAFF, by=organization.primary_contact)
    return person


def person_data(person, **changes):
    fields = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]
    return {**{name: getattr(person, name) for name in fields}, **changes}


def test_provider_corrects_the_address_and_a_new_invitation_goes_to_it(client, organization, ivy):
    [first] = run_email_worker()
    client.force_login(organization.primary_contact)
    url = reverse("contacts:person_edit", args=[organization.pk, ivy.pk])

    response = client.post(url, person_data(ivy, email="Ivy@Right.Example"))

    assert response.status_code == 302
    ivy.refresh_from_db()
    assert ivy.email == "ivy@right.example"
    assert messages_of(response) == [
        f"{PERSON_SAVED.format(person=ivy)} {INVITATION_QUEUED_AGAIN.format(email='ivy@right.example')}"
    ]
    [second] = run_email_worker()[1:]
    assert second.to == ["ivy@right.example"]
    client.logout()
    old_link, new_link = (INVITATION_LINK.search(m.body).group(0) for m in (first, second))
    assert "This link has been used or has expired" in client.get(old_link, follow=True).content.decode()
    assert "set your password" in client.get(new_link, follow=True).content.decode()


def test_provider_correction_to_a_taken_address_is_refused_with_the_input_kept(client, organization, ivy):
    UserFactory(email="taken@example.org")
    client.force_login(organization.primary_contact)
    url = reverse("contacts:person_edit", args=[organization.pk, ivy.pk])
    response = client.post(url, person_data(ivy, email="TAKEN@example.org", first_name="Ivana"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [services.EMAIL_TAKEN]}
    html = response.content.decode()
    assert 'value="TAKEN@example.org"' in html and 'value="Ivana"' in html
    ivy.refresh_from_db()
    assert (ivy.email, ivy.first_name) == ("ivy@typo.example", "Ivy")


# CME editors in the admin


def test_editor_changes_an_address_in_the_admin_and_history_shows_who(client, jane):
    editor = cme_staff(EDITORS)
    client.force_login(editor)
    url = reverse("admin:accounts_user_change", args=[jane.pk])
    data = {"email": "Jane@Admin.Example", "first_name": "Jane", "last_name": "Doe", "phone": jane.phone}

    assert client.post(url, data).status_code == 302

    jane.refresh_from_db()
    assert jane.email == "jane@admin.example"
    record = jane.history.latest()
    assert (record.email, record.history_user) == ("jane@admin.example", editor)
    history = client.get(reverse("admin:accounts_user_history", args=[jane.pk])).content.decode()
    assert "jane@admin.example" in history and str(editor) in history
    [notice] = run_email_worker()
    assert notice.to == ["jane@old.example"] and str(editor) in notice.body
    assert EmailLog.objects.get(kind=EmailLog.Kind.EMAIL_CHANGED).status == EmailLog.Status.SENT


def test_editor_giving_an_address_another_person_uses_is_refused_on_the_form(client, jane):
    UserFactory(email="taken@example.org")
    client.force_login(cme_staff(EDITORS))
    url = reverse("admin:accounts_user_change", args=[jane.pk])
    response = client.post(url, {"email": "Taken@Example.org", "first_name": "Janet", "last_name": "Doe"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"email": [services.EMAIL_TAKEN]}
    assert 'value="Taken@Example.org"' in response.content.decode()
    jane.refresh_from_db()
    assert (jane.email, jane.first_name) == ("jane@old.example", "Jane")


# What each page costs


def test_asking_for_a_new_address_costs_a_fixed_number_of_queries(client, jane, django_assert_max_num_queries):
    client.force_login(jane)
    data = profile_data(jane, email="jane@new.example", current_password=PASSWORD)
    # The form's checks of the address, the person's lock, the request, the email and its two tasks.
    with django_assert_max_num_queries(22):
        assert client.post(PROFILE, data).status_code == 302


def test_confirming_costs_a_fixed_number_of_queries(client, jane, django_assert_max_num_queries):
    path = ask(client, jane)
    with django_assert_max_num_queries(25):
        assert client.post(path).status_code == 302


def test_correcting_an_address_costs_a_fixed_number_of_queries(
    client, organization, ivy, django_assert_max_num_queries
):
    client.force_login(organization.primary_contact)
    url = reverse("contacts:person_edit", args=[organization.pk, ivy.pk])
    with django_assert_max_num_queries(37):
        assert client.post(url, person_data(ivy, email="ivy@right.example")).status_code == 302


def test_admin_change_costs_a_fixed_number_of_queries(client, jane, django_assert_max_num_queries):
    client.force_login(cme_staff(EDITORS))
    url = reverse("admin:accounts_user_change", args=[jane.pk])
    with django_assert_max_num_queries(11):  # 10, and the addresses merged into the person (accounts.merging)
        assert client.get(url).status_code == 200
    data = {"email": "jane@admin.example", "first_name": "Jane", "last_name": "Doe"}
    with django_assert_max_num_queries(40):
        assert client.post(url, data).status_code == 302


def test_the_organizations_history_tab_names_the_editor_who_changed_an_address(client, organization, ivy):
    editor = cme_staff(EDITORS)
    services.person_email_correct(person=ivy, email="ivy@right.example", by=editor)
    client.force_login(organization.primary_contact)
    [latest, *_] = entries(client.get(reverse("contacts:history", args=[organization.pk])).content.decode())
    assert latest.startswith(f"{editor} ") and "“ivy@typo.example” to “ivy@right.example”" in latest
