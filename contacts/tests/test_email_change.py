"""Changing an email address: confirmed by a link (a person's own), at once (someone else's correction).

Each rule is a service of contacts.services; the emails are read as the worker sends them.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import services
from contacts.models import EmailChange, EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://\S+/accounts/email/confirm/([^/\s]+)/")
INVITATION_LINK = re.compile(r"https?://\S+/accounts/invitation/([^/\s]+)/([^/\s]+)/")


@pytest.fixture
def jane():
    person = UserFactory(email="jane@old.example", first_name="Jane")
    OrganizationFactory(primary=person)
    return person


def confirm_token(message) -> str:
    return CONFIRM_LINK.search(message.body).group(1)


def requested(person, email) -> str:
    """Ask for the new address; the token of the link as emailed to it."""
    services.email_change_request(person=person, email=email)
    [message] = [m for m in run_email_worker() if m.to == [email.lower()]][-1:]
    return confirm_token(message)


def refusal_of(call) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.messages


# Asking: a link to the new address, the sign-in address unchanged


def test_request_emails_a_link_to_the_new_address_and_keeps_the_sign_in_address(jane):
    result = services.email_change_request(person=jane, email="Jane@New.Example")

    assert result.new_email == "jane@new.example" and result.queued
    assert result.expires_at - timezone.now() > timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS) - timedelta(minutes=1)
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"
    [message] = run_email_worker()
    assert message.to == ["jane@new.example"]
    assert CONFIRM_LINK.search(message.body)
    assert f"expires in {settings.EMAIL_CHANGE_LINK_HOURS} hours" in message.body
    log = EmailLog.objects.get(kind=EmailLog.Kind.EMAIL_CONFIRM)
    assert (log.to_email, log.recipient, log.status) == ("jane@new.example", jane, EmailLog.Status.SENT)


def test_only_a_digest_of_the_token_is_stored(jane):
    token = requested(jane, "jane@new.example")
    assert token not in EmailChange.objects.get(person=jane).token_digest


@pytest.mark.parametrize("typed", ["taken@example.org", "TAKEN@Example.ORG"])
def test_request_for_an_address_another_person_uses_is_refused(jane, typed):
    UserFactory(email="taken@example.org")
    with pytest.raises(ValidationError) as refused:
        services.email_change_request(person=jane, email=typed)
    assert refused.value.message_dict == {"email": [services.EMAIL_TAKEN]}
    assert not EmailChange.objects.exists()
    assert run_email_worker() == []


def test_a_new_request_replaces_the_earlier_one_whose_link_stops_working(jane):
    first = requested(jane, "jane@first.example")
    second = requested(jane, "jane@second.example")

    assert refusal_of(lambda: services.email_change_confirm(token=first)) == [services.EMAIL_LINK_INVALID]
    assert services.email_change_confirm(token=second).new_email == "jane@second.example"


def test_confirmation_emails_to_one_address_are_limited(jane):
    for _ in range(3):
        assert services.email_change_request(person=jane, email="victim@example.org").queued
    held = services.email_change_request(person=jane, email="victim@example.org")
    assert not held.queued
    assert held.log.status == EmailLog.Status.SUPPRESSED and "limit" in held.log.error


# Confirming: single use, expiring, the old address told


def test_opening_the_link_changes_the_sign_in_address_and_tells_the_old_one(jane):
    token = requested(jane, "jane@new.example")

    result = services.email_change_confirm(token=token)

    assert (result.old_email, result.new_email, result.notified) == ("jane@old.example", "jane@new.example", True)
    jane.refresh_from_db()
    assert jane.email == "jane@new.example"
    assert not EmailChange.objects.exists()
    [notice] = run_email_worker()[1:]
    assert notice.to == ["jane@old.example"]
    assert "from jane@old.example to jane@new.example" in notice.body
    assert settings.SUPPORT_EMAIL in notice.body
    record = jane.history.latest()
    assert (record.email, record.history_user) == ("jane@new.example", jane)


def test_a_link_works_once(jane):
    token = requested(jane, "jane@new.example")
    services.email_change_confirm(token=token)
    assert refusal_of(lambda: services.email_change_confirm(token=token)) == [services.EMAIL_LINK_INVALID]


def test_a_link_works_until_it_expires(jane):
    token = requested(jane, "jane@new.example")
    lifetime = timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS)
    EmailChange.objects.update(requested_at=timezone.now() - lifetime + timedelta(minutes=1))
    assert services.email_change_pending(token=token).new_email == "jane@new.example"

    EmailChange.objects.update(requested_at=timezone.now() - lifetime)
    expired = services.EMAIL_LINK_EXPIRED.format(hours=settings.EMAIL_CHANGE_LINK_HOURS, email="jane@new.example")
    assert refusal_of(lambda: services.email_change_confirm(token=token)) == [expired]
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"


def test_an_unknown_token_is_refused():
    assert refusal_of(lambda: services.email_change_confirm(token="not-a-token")) == [services.EMAIL_LINK_INVALID]


def test_an_address_taken_after_the_request_is_refused_at_confirmation_and_the_request_dropped(jane):
    token = requested(jane, "jane@new.example")
    UserFactory(email="jane@new.example")

    taken = services.EMAIL_TAKEN_MEANWHILE.format(
        email="jane@new.example", current="jane@old.example", support=settings.SUPPORT_EMAIL
    )
    assert refusal_of(lambda: services.email_change_confirm(token=token)) == [taken]
    jane.refresh_from_db()
    assert jane.email == "jane@old.example"
    assert not EmailChange.objects.filter(person=jane).exists()
    assert refusal_of(lambda: services.email_change_confirm(token=token)) == [services.EMAIL_LINK_INVALID]


def test_profile_update_saves_details_and_only_requests_the_new_address(jane):
    result = services.profile_update(person=jane, phone="(916) 555-0199", email="jane@new.example")
    assert result.person.phone == "(916) 555-0199" and result.person.email == "jane@old.example"
    assert result.email_change.new_email == "jane@new.example"


def test_profile_update_with_a_taken_address_saves_nothing(jane):
    UserFactory(email="taken@example.org")
    with pytest.raises(ValidationError):
        services.profile_update(person=jane, phone="(916) 555-0199", email="taken@example.org")
    jane.refresh_from_db()
    assert jane.phone != "(916) 555-0199"


# Someone else corrects an address: at once


@pytest.fixture
def invited():
    """A Staff contact of an organization who has not set a password, invited at a mistyped address."""
    organization = OrganizationFactory(name="Sutter Health CME")
    services.contact_add(
        organization=organization,
        email="ivy@typo.example",
        role=Role.STAFF,
        by=organization.primary_contact,
        first_name="Ivy",
        last_name="Vine",
    )
    return organization, organization.holders(Role.STAFF)[0]


def test_provider_corrects_an_invited_contacts_address_and_the_old_invitation_link_stops_working(invited):
    organization, ivy = invited
    [old_invitation] = run_email_worker()
    old_token = INVITATION_LINK.search(old_invitation.body).group(2)

    result = services.person_update(
        person=ivy, by=organization.primary_contact, organization=organization, email="Ivy@Right.Example"
    )

    assert result.person.email == "ivy@right.example"
    assert result.email_change.invited
    [new_invitation] = run_email_worker()[1:]
    assert new_invitation.to == ["ivy@right.example"]
    assert "Sutter Health CME" in new_invitation.body
    new_token = INVITATION_LINK.search(new_invitation.body).group(2)
    ivy.refresh_from_db()
    assert not default_token_generator.check_token(ivy, old_token)
    assert default_token_generator.check_token(ivy, new_token)
    record = ivy.history.latest()
    assert (record.email, record.history_user) == ("ivy@right.example", organization.primary_contact)


def test_provider_cannot_take_an_address_another_person_uses(invited):
    organization, ivy = invited
    UserFactory(email="taken@example.org")
    with pytest.raises(ValidationError) as refused:
        services.person_update(
            person=ivy, by=organization.primary_contact, organization=organization, email="taken@example.org"
        )
    assert refused.value.message_dict == {"email": [services.EMAIL_TAKEN]}


def test_provider_cannot_change_the_address_of_someone_who_signs_in():
    organization = OrganizationFactory()
    colleague = UserFactory(email="colleague@example.org")
    services.role_assign(organization=organization, person=colleague, role=Role.STAFF, by=None)
    with pytest.raises(ValidationError) as refused:
        services.person_email_correct(person=colleague, email="other@example.org", by=organization.primary_contact)
    assert refused.value.message_dict == {"email": [services.EMAIL_KEPT_BY_PERSON.format(person=colleague)]}


def test_a_billing_contact_corrected_gets_no_invitation():
    organization = OrganizationFactory()
    billing = InvitedUserFactory(email="bill@typo.example")
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)
    run_email_worker()
    result = services.person_email_correct(person=billing, email="bill@right.example", by=organization.primary_contact)
    assert not result.invited and not result.notified
    assert run_email_worker()[1:] == []


def test_cme_staff_change_the_address_of_someone_who_signs_in_and_the_old_address_is_told(jane):
    editor = UserFactory(is_staff=True, first_name="Eduardo", last_name="Morales")
    pending = requested(jane, "jane@elsewhere.example")

    result = services.person_email_correct(person=jane, email="jane@new.example", by=editor)

    assert (result.new_email, result.notified, result.invited) == ("jane@new.example", True, False)
    [notice] = run_email_worker()[1:]
    assert notice.to == ["jane@old.example"] and "Eduardo Morales changed" in notice.body
    # The address she had asked for no longer replaces the one CME staff gave her.
    assert refusal_of(lambda: services.email_change_confirm(token=pending)) == [services.EMAIL_LINK_INVALID]


def test_email_taken_reads_the_canonical_address_of_other_people(jane):
    assert services.email_taken(email="jane@old.example")
    assert not services.email_taken(email="jane@old.example", person=jane)


def test_asking_for_the_address_one_already_has_is_refused(jane):
    with pytest.raises(ValidationError) as refused:
        services.email_change_request(person=jane, email="JANE@old.example")
    assert refused.value.message_dict == {"email": [services.EMAIL_ALREADY_YOURS]}
