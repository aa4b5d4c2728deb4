"""The roster services: each rule, with the readable message a person sees when it refuses."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from contacts import services
from contacts.models import ACCESS_ROLES, NO_ACCESS_ROLES, EmailLog, Organization, Role
from contacts.services import (
    ALREADY_PRIMARY,
    NOT_A_ROLE,
    PRIMARY_CANNOT_BE_REMOVED,
    PRIMARY_ONLY_BY_TRANSFER,
    ROLE_ALREADY_FILLED,
    ROLE_ALREADY_HELD,
)
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

User = get_user_model()

GRANTING_ROLES = [role for role in ACCESS_ROLES if role != Role.PRIMARY]


def holders(organization, role):
    return list(organization.roles.filter(role=role).values_list("person__email", flat=True))


# organization_create


def test_organization_is_created_with_its_primary_contact():
    person = UserFactory()
    organization = services.organization_create(
        primary=person, by=None, name="Sutter CME", provider_id="CA10001"
    ).organization
    assert holders(organization, Role.PRIMARY) == [person.email]


def test_organization_is_not_created_when_its_primary_cannot_be_added(monkeypatch):
    def refuse(**kwargs):
        raise ValidationError("no primary")

    monkeypatch.setattr(services, "_role_create", refuse)
    with pytest.raises(ValidationError):
        services.organization_create(primary=UserFactory(), by=None, name="Orphan", provider_id="CA10002")
    assert not Organization.objects.filter(provider_id="CA10002").exists()


def test_organization_created_with_an_invited_primary_sends_them_the_invitation(
    mailoutbox, django_capture_on_commit_callbacks
):
    person = InvitedUserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        created = services.organization_create(primary=person, by=None, name="UC Davis CME", provider_id="CA10003")
    assert created.invited
    assert [m.to for m in run_email_worker()] == [[person.email]]
    assert EmailLog.objects.get().kind == EmailLog.Kind.INVITATION
    assert EmailLog.objects.get().organization == created.organization


def test_organization_created_with_a_primary_who_has_a_password_sends_no_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = services.organization_create(primary=UserFactory(), by=None, name="Kaiser CME", provider_id="CA10004")
    assert not created.invited
    assert run_email_worker() == []
    assert not EmailLog.objects.exists()


# contact_add


def test_contact_add_reuses_a_known_email_whatever_its_case():
    jane = UserFactory(email="Jane@X.org")
    organization = OrganizationFactory()
    people_before = User.objects.count()
    contact_role = services.contact_add(organization=organization, email="jane@x.org", role=Role.STAFF, by=None)
    assert contact_role.person == jane
    assert User.objects.count() == people_before


def test_contact_add_creates_an_unknown_person_without_a_usable_password():
    organization = OrganizationFactory()
    contact_role = services.contact_add(
        organization=organization,
        email="new.person@example.org",
        role=Role.STAFF,
        by=None,
        first_name="Nia",
        last_name="Ortiz",
    )
    person = User.objects.get(email="new.person@example.org")
    assert contact_role.person == person
    assert (person.first_name, person.last_name) == ("Nia", "Ortiz")
    assert not person.has_usable_password()


def test_contact_add_refuses_an_invalid_email():
    organization = OrganizationFactory()
    with pytest.raises(ValidationError) as error:
        services.contact_add(organization=organization, email="not-an-email", role=Role.STAFF, by=None)
    assert error.value.message_dict == {"email": ["Enter a valid email address."]}


@pytest.mark.parametrize("role", GRANTING_ROLES)
def test_new_contact_in_a_role_with_access_gets_the_invitation(role, mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    by = organization.primary_contact
    with django_capture_on_commit_callbacks(execute=True):
        contact_role = services.contact_add(organization=organization, email="invitee@example.org", role=role, by=by)
    assert contact_role.invited
    log = EmailLog.objects.get()
    assert (log.kind, log.to_email, log.organization) == (EmailLog.Kind.INVITATION, "invitee@example.org", organization)
    assert [m.to for m in run_email_worker()] == [["invitee@example.org"]]
    assert "/accounts/invitation/" in run_email_worker()[0].body


@pytest.mark.parametrize("role", NO_ACCESS_ROLES)
def test_new_billing_or_ceo_contact_gets_no_invitation(role, mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        contact_role = services.contact_add(organization=organization, email="no-login@example.org", role=role, by=None)
    assert not contact_role.invited
    assert run_email_worker() == []
    assert not EmailLog.objects.exists()


def test_known_person_who_has_a_password_gets_no_invitation(mailoutbox, django_capture_on_commit_callbacks):
    person = UserFactory()
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        contact_role = services.contact_add(organization=organization, email=person.email, role=Role.STAFF, by=None)
    assert not contact_role.invited
    assert run_email_worker() == []


def test_billing_contact_later_given_staff_gets_the_invitation_then(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        billing = services.contact_add(organization=organization, email="pay@example.org", role=Role.BILLING, by=None)
    assert run_email_worker() == []
    with django_capture_on_commit_callbacks(execute=True):
        staff = services.role_assign(organization=organization, person=billing.person, role=Role.STAFF, by=None)
    assert staff.invited
    assert [m.to for m in run_email_worker()] == [["pay@example.org"]]


def test_invited_contact_added_at_a_second_organization_is_not_invited_twice(
    mailoutbox, django_capture_on_commit_callbacks
):
    first, second = OrganizationFactory(), OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_add(organization=first, email="twice@example.org", role=Role.STAFF, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.contact_add(organization=second, email="twice@example.org", role=Role.STAFF, by=None)
    assert not again.invited
    assert len(run_email_worker()) == 1


# role_assign, role_replace, role_remove


def test_role_assign_refuses_a_filled_singular_role_with_a_readable_message():
    organization = OrganizationFactory()
    billing = UserFactory()
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)
    with pytest.raises(ValidationError) as error:
        services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    assert error.value.messages == [
        ROLE_ALREADY_FILLED.format(organization=organization, role="Billing Contact", person=billing)
    ]
    assert holders(organization, Role.BILLING) == [billing.email]


def test_role_assign_refuses_a_role_the_person_already_holds():
    organization = OrganizationFactory()
    person = UserFactory()
    services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    with pytest.raises(ValidationError) as error:
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    assert error.value.messages == [ROLE_ALREADY_HELD.format(person=person, role="Staff", organization=organization)]


def test_role_assign_gives_a_second_staff_member_a_place():
    organization = OrganizationFactory()
    for person in UserFactory.create_batch(2):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    assert len(holders(organization, Role.STAFF)) == 2


def test_role_assign_refuses_the_primary_role():
    organization = OrganizationFactory()
    with pytest.raises(ValidationError) as error:
        services.role_assign(organization=organization, person=UserFactory(), role=Role.PRIMARY, by=None)
    assert error.value.messages == [PRIMARY_ONLY_BY_TRANSFER]


def test_role_assign_refuses_an_unknown_role():
    with pytest.raises(ValidationError) as error:
        services.role_assign(organization=OrganizationFactory(), person=UserFactory(), role="janitor", by=None)
    assert error.value.messages == [NOT_A_ROLE.format(role="janitor")]


def test_role_replace_puts_the_new_holder_in_place_of_the_old():
    organization = OrganizationFactory()
    old, new = UserFactory(), UserFactory()
    services.role_assign(organization=organization, person=old, role=Role.WEBSITE, by=None)
    services.role_replace(organization=organization, role=Role.WEBSITE, to=new, by=None)
    assert holders(organization, Role.WEBSITE) == [new.email]
    assert not old.contact_roles.exists()


def test_role_replace_fills_an_empty_role():
    organization = OrganizationFactory()
    person = UserFactory()
    services.role_replace(organization=organization, role=Role.TECHNICAL, to=person, by=None)
    assert holders(organization, Role.TECHNICAL) == [person.email]


def test_role_replace_refuses_the_current_holder():
    organization = OrganizationFactory()
    person = UserFactory()
    services.role_assign(organization=organization, person=person, role=Role.CEO, by=None)
    with pytest.raises(ValidationError) as error:
        services.role_replace(organization=organization, role=Role.CEO, to=person, by=None)
    assert error.value.messages == [
        ROLE_ALREADY_HELD.format(person=person, role="CEO Contact", organization=organization)
    ]


def test_role_replace_of_the_primary_is_a_hand_over(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    new = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.role_replace(organization=organization, role=Role.PRIMARY, to=new, by=None)
    assert holders(organization, Role.PRIMARY) == [new.email]
    assert EmailLog.objects.filter(kind=EmailLog.Kind.PRIMARY_HANDOVER).count() == 2


def test_role_remove_takes_the_role_from_its_holder():
    organization = OrganizationFactory()
    staff = services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None).contact_role
    services.role_remove(contact_role=staff, by=None)
    assert holders(organization, Role.STAFF) == []


def test_role_remove_refuses_the_primary_contact():
    organization = OrganizationFactory()
    primary = organization.roles.get(role=Role.PRIMARY)
    with pytest.raises(ValidationError) as error:
        services.role_remove(contact_role=primary, by=None)
    assert error.value.messages == [PRIMARY_CANNOT_BE_REMOVED]
    assert holders(organization, Role.PRIMARY) == [primary.person.email]


# deleting people


def test_deleting_a_person_who_is_a_primary_contact_is_refused():
    organization = OrganizationFactory()
    with pytest.raises(ProtectedError):
        organization.primary_contact.delete()
    assert organization.roles.filter(role=Role.PRIMARY).exists()


def test_deleting_a_person_who_holds_any_role_is_refused():
    person = UserFactory()
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.BILLING, by=None)
    with pytest.raises(ProtectedError):
        person.delete()


def test_deleting_a_person_who_holds_no_role_is_allowed():
    person = UserFactory()
    person.delete()
    assert not User.objects.filter(pk=person.pk).exists()


# primary_contact_transfer


def test_primary_contact_transfer_moves_the_role_and_emails_both_people(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    previous, new = organization.primary_contact, UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.primary_contact_transfer(organization=organization, to=new, by=previous)
    assert holders(organization, Role.PRIMARY) == [new.email]
    logs = EmailLog.objects.filter(kind=EmailLog.Kind.PRIMARY_HANDOVER, organization=organization)
    assert sorted(logs.values_list("to_email", flat=True)) == sorted([previous.email, new.email])
    assert sorted(m.to[0] for m in run_email_worker()) == sorted([previous.email, new.email])


def test_primary_contact_transfer_to_an_invited_person_also_invites_them(
    mailoutbox, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory()
    new = InvitedUserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        primary = services.primary_contact_transfer(organization=organization, to=new, by=None)
    assert primary.invited
    kinds = sorted(EmailLog.objects.filter(to_email=new.email).values_list("kind", flat=True))
    assert kinds == [EmailLog.Kind.INVITATION, EmailLog.Kind.PRIMARY_HANDOVER]


def test_primary_contact_transfer_keeps_the_previous_primarys_other_roles():
    organization = OrganizationFactory()
    previous = organization.primary_contact
    services.role_assign(organization=organization, person=previous, role=Role.STAFF, by=None)
    services.primary_contact_transfer(organization=organization, to=UserFactory(), by=None)
    assert list(previous.contact_roles.values_list("role", flat=True)) == [Role.STAFF]


def test_primary_contact_transfer_refuses_the_current_primary(mailoutbox, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    primary = organization.primary_contact
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.primary_contact_transfer(organization=organization, to=primary, by=primary)
    assert error.value.messages == [ALREADY_PRIMARY.format(person=primary)]
    assert run_email_worker() == []


# contacts_confirm


def test_contacts_confirm_records_who_and_when():
    organization = OrganizationFactory()
    person = organization.primary_contact
    moment = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        services.contacts_confirm(organization=organization, by=person)
    organization.refresh_from_db()
    assert organization.contacts_confirmed_at == moment
    assert organization.contacts_confirmed_by == person


def test_contacts_just_confirmed_are_not_stale():
    organization = OrganizationFactory()
    assert organization.contacts_are_stale
    services.contacts_confirm(organization=organization, by=organization.primary_contact)
    organization.refresh_from_db()
    assert not organization.contacts_are_stale


# Organization.objects.for_user


@pytest.mark.parametrize("role", ACCESS_ROLES)
def test_for_user_includes_an_organization_where_the_person_holds_an_access_role(role):
    person = UserFactory()
    organization = OrganizationFactory()
    OrganizationFactory()  # someone else's
    if role == Role.PRIMARY:
        services.primary_contact_transfer(organization=organization, to=person, by=None)
    else:
        services.role_assign(organization=organization, person=person, role=role, by=None)
    assert list(Organization.objects.for_user(person)) == [organization]


@pytest.mark.parametrize("role", NO_ACCESS_ROLES)
def test_for_user_leaves_out_an_organization_where_the_person_is_only_billing_or_ceo(role):
    person = UserFactory()
    services.role_assign(organization=OrganizationFactory(), person=person, role=role, by=None)
    assert list(Organization.objects.for_user(person)) == []


def test_for_user_lists_each_organization_once_whatever_the_number_of_roles():
    person = UserFactory()
    first = OrganizationFactory(name="A Medical Society", primary=person)
    second = OrganizationFactory(name="B Hospital")
    for role in (Role.STAFF, Role.TECHNICAL, Role.BILLING):
        services.role_assign(organization=first, person=person, role=role, by=None)
    services.role_assign(organization=second, person=person, role=Role.STAFF, by=None)
    assert list(Organization.objects.for_user(person)) == [first, second]


def test_for_user_drops_the_organization_once_the_last_role_is_removed():
    person = UserFactory()
    organization = OrganizationFactory()
    staff = services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None).contact_role
    website = services.role_assign(organization=organization, person=person, role=Role.WEBSITE, by=None).contact_role
    services.role_remove(contact_role=staff, by=None)
    assert list(Organization.objects.for_user(person)) == [organization]
    services.role_remove(contact_role=website, by=None)
    assert list(Organization.objects.for_user(person)) == []


def test_for_user_drops_the_organization_when_only_billing_remains():
    person = UserFactory()
    organization = OrganizationFactory()
    staff = services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None).contact_role
    services.role_assign(organization=organization, person=person, role=Role.BILLING, by=None)
    services.role_remove(contact_role=staff, by=None)
    assert list(Organization.objects.for_user(person)) == []


def test_for_user_gives_a_deactivated_person_nothing():
    organization = OrganizationFactory()
    person = organization.primary_contact
    person.is_active = False
    person.save()
    assert list(Organization.objects.for_user(person)) == []


def test_for_user_gives_an_anonymous_visitor_nothing():
    from django.contrib.auth.models import AnonymousUser

    OrganizationFactory()
    assert list(Organization.objects.for_user(AnonymousUser())) == []


# Fallbacks


def test_invoice_goes_to_the_billing_contact_when_there_is_one():
    organization = OrganizationFactory()
    billing = UserFactory()
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)
    assert organization.invoice_recipient() == (billing, False)


def test_invoice_goes_to_the_primary_contact_without_a_billing_contact():
    organization = OrganizationFactory()
    assert organization.invoice_recipient() == (organization.primary_contact, True)


def test_published_contact_is_the_website_contact_when_there_is_one():
    organization = OrganizationFactory()
    website = UserFactory()
    services.role_assign(organization=organization, person=website, role=Role.WEBSITE, by=None)
    assert organization.published_contact() == (website, False)


def test_published_contact_is_the_primary_contact_without_a_website_contact():
    organization = OrganizationFactory()
    assert organization.published_contact() == (organization.primary_contact, True)


def test_official_communications_go_to_the_primary_contact_even_with_billing_and_website_contacts():
    primary = UserFactory()
    organization = OrganizationFactory(primary=primary)
    services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    services.role_assign(organization=organization, person=UserFactory(), role=Role.WEBSITE, by=None)
    assert organization.primary_contact == primary


def test_fallbacks_follow_a_primary_hand_over():
    organization = OrganizationFactory()
    new = UserFactory()
    services.primary_contact_transfer(organization=organization, to=new, by=None)
    organization = Organization.objects.get(pk=organization.pk)
    assert organization.invoice_recipient() == (new, True)
    assert organization.published_contact() == (new, True)
    assert organization.primary_contact == new


def test_with_roster_serves_every_fallback_without_another_query(django_assert_num_queries):
    expected = {}
    for n in range(4):
        organization = OrganizationFactory()
        role = Role.BILLING if n % 2 else Role.WEBSITE
        holder = services.role_assign(organization=organization, person=UserFactory(), role=role, by=None).person
        for person in UserFactory.create_batch(3):
            services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
        primary = organization.primary_contact
        expected[organization.pk] = (
            (holder, False) if role == Role.BILLING else (primary, True),
            (holder, False) if role == Role.WEBSITE else (primary, True),
            primary,
        )
    with django_assert_num_queries(2):  # the organizations, then every role with its holder
        organizations = list(Organization.objects.with_roster())
    with django_assert_num_queries(0):
        answers = {o.pk: (o.invoice_recipient(), o.published_contact(), o.primary_contact) for o in organizations}
    assert answers == expected
