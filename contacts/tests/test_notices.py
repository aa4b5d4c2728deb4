"""Notices to the person a change affects: sent once, to them, naming who did it and the support address."""

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from contacts import services
from contacts.models import ROLE_PURPOSES, EmailLog, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

NOT_ME = f"If this was not you, or you did not expect it, tell CME staff at {settings.SUPPORT_EMAIL}"


@pytest.fixture
def organization():
    return OrganizationFactory(
        name="Sacramento Valley Medical Society", primary=UserFactory(first_name="Jane", last_name="Doe")
    )


@pytest.fixture
def robert():
    return UserFactory(first_name="Robert", last_name="Kim", email="robert@example.org")


def test_person_added_to_a_role_hears_which_organization_which_role_and_what_it_asks(organization, robert):
    services.role_assign(organization=organization, person=robert, role=Role.BILLING, by=organization.primary_contact)
    [notice] = run_email_worker()
    assert notice.to == ["robert@example.org"]
    assert notice.subject == "You are now Billing Contact of Sacramento Valley Medical Society"
    assert "Jane Doe added you as Billing Contact of Sacramento Valley Medical Society." in notice.body
    assert f"What the role asks of you: {ROLE_PURPOSES[Role.BILLING]}" in notice.body
    assert NOT_ME in notice.body
    assert settings.SUPPORT_EMAIL in notice.alternatives[0][0]
    assert EmailLog.objects.filter(kind=EmailLog.Kind.ROLE_ADDED, recipient=robert).count() == 1


def test_person_removed_from_their_last_access_role_is_told_who_removed_them_and_that_access_ended(
    organization, robert
):
    role = services.role_assign(organization=organization, person=robert, role=Role.STAFF, by=None).contact_role
    services.role_remove(contact_role=role, by=organization.primary_contact)
    [notice] = run_email_worker()
    assert notice.to == ["robert@example.org"]
    assert "Jane Doe removed you from the Staff role of Sacramento Valley Medical Society." in notice.body
    assert "you no longer have access to PARS contacts" in notice.body
    assert NOT_ME in notice.body


def test_person_removed_but_still_holding_access_elsewhere_is_not_told_they_lost_it(organization, robert):
    other = OrganizationFactory()
    services.role_assign(organization=other, person=robert, role=Role.STAFF, by=None)
    role = services.role_assign(organization=organization, person=robert, role=Role.STAFF, by=None).contact_role
    services.role_remove(contact_role=role, by=organization.primary_contact)
    [notice] = run_email_worker()
    assert "removed you from the Staff role" in notice.body
    assert "no longer have access" not in notice.body


def test_replaced_holder_is_told_and_the_new_one_too_each_once(organization, robert):
    old = UserFactory(email="old@example.org")
    services.role_assign(organization=organization, person=old, role=Role.CEO, by=None)
    services.role_replace(organization=organization, role=Role.CEO, to=robert, by=organization.primary_contact)
    sent = sorted((message.to[0], message.subject) for message in run_email_worker())
    assert sent == [
        ("old@example.org", "You are no longer CEO Contact of Sacramento Valley Medical Society"),
        ("robert@example.org", "You are now CEO Contact of Sacramento Valley Medical Society"),
    ]


def test_details_changed_by_someone_else_say_what_changed_and_who(organization, robert):
    services.person_update(person=robert, by=organization.primary_contact, job_title="Controller", phone=robert.phone)
    [notice] = run_email_worker()
    assert notice.to == ["robert@example.org"]
    assert notice.subject == "Your contact details were changed"
    assert "Jane Doe changed your contact details:" in notice.body
    assert "- Job title: “CME Coordinator” is now “Controller”" in notice.body
    assert "Phone" not in notice.body  # unchanged
    assert NOT_ME in notice.body


def test_details_changed_by_the_person_themselves_send_nothing(robert):
    services.person_update(person=robert, by=robert, job_title="Controller")
    assert run_email_worker() == []


def test_a_change_rolled_back_sends_no_notice(organization, robert):
    with pytest.raises(IntegrityError), transaction.atomic():
        services.role_assign(organization=organization, person=robert, role=Role.CEO, by=organization.primary_contact)
        raise IntegrityError
    assert run_email_worker() == []
    assert not EmailLog.objects.exists()


@pytest.mark.parametrize("kind", [EmailLog.Kind.ROLE_ADDED, EmailLog.Kind.ROLE_REMOVED, EmailLog.Kind.DETAILS_CHANGED])
def test_the_database_accepts_each_notice_kind(kind, robert):
    EmailLog.objects.create(kind=kind, to_email=robert.email, subject="s")


def test_the_database_refuses_an_unknown_kind(robert):
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailLog.objects.create(kind="nonsense", to_email=robert.email, subject="s")
