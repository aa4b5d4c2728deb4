"""Handing over the Primary Contact role: choose, confirm, both notified."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts import services
from contacts.forms import LISTED, NEW
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.views import PRIMARY_TRANSFERRED, SELF_LOST_ACCESS
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def organization():
    return OrganizationFactory(primary=UserFactory(first_name="John", last_name="Roe"))


@pytest.fixture
def jane(organization):
    jane = UserFactory(first_name="Jane", last_name="Doe")
    services.role_assign(organization=organization, person=jane, role=Role.STAFF, by=None)
    return jane


def url(organization):
    return reverse("contacts:primary_transfer", args=[organization.pk])


def test_choosing_shows_what_will_change_and_changes_nothing_yet(
    client, organization, jane, django_capture_on_commit_callbacks
):
    john = organization.primary_contact
    services.role_assign(organization=organization, person=john, role=Role.WEBSITE, by=None)
    client.force_login(john)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(organization), {"who": LISTED, "person": jane.pk})
    html = response.content.decode()
    assert "Confirm the hand-over" in html
    assert "<strong>Jane Doe</strong>" in html and "will become the Primary Contact" in html
    assert "You (John Roe) will no longer be the Primary Contact, and will stay on as Website Contact." in html
    assert "keep_as_staff" not in html  # John keeps access as Website Contact
    assert organization.primary_contact == john
    assert run_email_worker() == []


def test_confirming_hands_over_and_emails_both(client, organization, jane, django_capture_on_commit_callbacks):
    john = organization.primary_contact
    client.force_login(jane)
    data = {"who": LISTED, "person": jane.pk, "confirm": "1", "keep_as_staff": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(organization), data, follow=True)
    organization.refresh_from_db()
    assert organization.holders(Role.PRIMARY) == [jane]
    assert sorted(message.to[0] for message in run_email_worker()) == sorted([jane.email, john.email])
    assert EmailLog.objects.filter(kind=EmailLog.Kind.PRIMARY_HANDOVER, organization=organization).count() == 2
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == [PRIMARY_TRANSFERRED.format(new=jane, previous=john)]
    assert john in organization.holders(Role.STAFF)  # kept on as Staff, as the confirmation offered


def test_previous_primary_without_another_role_is_offered_to_stay_as_staff(client, organization, jane):
    client.force_login(organization.primary_contact)
    html = client.post(url(organization), {"who": LISTED, "person": jane.pk}).content.decode()
    assert 'name="keep_as_staff"' in html and "checked" in html
    assert "Keep John Roe on as Staff" in html


def test_handing_over_yourself_without_staying_ends_your_access(client, organization, jane):
    john = organization.primary_contact
    OrganizationFactory(primary=john)  # a contact elsewhere, so still signed in
    client.force_login(john)
    response = client.post(url(organization), {"who": LISTED, "person": jane.pk, "confirm": "1"})
    assert response.url == reverse("contacts:dashboard")
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert SELF_LOST_ACCESS.format(organization=organization) in messages
    assert client.get(reverse("contacts:profile", args=[organization.pk])).status_code == 404


def test_handing_over_to_a_new_email_creates_and_invites_them(
    client, organization, jane, django_capture_on_commit_callbacks
):
    client.force_login(organization.primary_contact)
    data = {"who": NEW, "email": "new.primary@example.org", "first_name": "Nia", "last_name": "New"}
    html = client.post(url(organization), data).content.decode()
    assert "Nia New" in html and "get an email invitation" in html
    assert not User.objects.filter(email="new.primary@example.org").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(organization), {**data, "confirm": "1", "keep_as_staff": "on"})
    new = User.objects.get(email="new.primary@example.org")
    assert organization.holders(Role.PRIMARY) == [new]
    kinds = sorted(EmailLog.objects.values_list("kind", flat=True))
    assert kinds == ["invitation", "primary_handover", "primary_handover"]


def test_change_my_choice_goes_back_to_the_form_with_the_choice_kept(client, organization, jane):
    client.force_login(organization.primary_contact)
    response = client.post(url(organization), {"who": LISTED, "person": jane.pk, "back": "1"})
    assert "Confirm the hand-over" not in response.content.decode()
    assert response.context["form"]["person"].value() == str(jane.pk)


def test_the_current_primary_cannot_take_over_from_themselves(
    client, organization, jane, django_capture_on_commit_callbacks
):
    john = organization.primary_contact
    client.force_login(john)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(organization), {"who": NEW, "email": john.email, "confirm": "1"})
    assert response.status_code == 200
    assert services.ALREADY_PRIMARY.format(person=john) in response.content.decode()
    assert run_email_worker() == []


def test_roster_choice_excludes_the_current_primary(client, organization, jane):
    client.force_login(jane)
    choices = dict(client.get(url(organization)).context["form"].fields["person"].choices)
    assert str(jane.pk) in choices
    assert str(organization.primary_contact.pk) not in choices
