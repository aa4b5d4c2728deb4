"""The use-case services that do several things at once: each is one call, all or nothing."""

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from contacts import services
from contacts.models import ContactRole, EmailLog, Role
from contacts.services import (
    ALREADY_PRIMARY,
    PRIMARY_CANNOT_BE_REMOVED,
    PRIMARY_ROLE_FIXED,
    ROLE_ALREADY_FILLED,
    ROSTER_CHANGED_MEANWHILE,
    RosterRow,
)
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PERSON = {"first_name": "Ana", "last_name": "Ruiz", "credentials": "", "job_title": "", "phone": ""}


def roster(organization) -> set[tuple[str, str]]:
    return set(organization.roles.values_list("person__email", "role"))


# The hand-over


def test_hand_over_to_a_new_email_creates_the_person_invites_them_and_notifies_both():
    organization = OrganizationFactory()
    previous = organization.primary_contact
    handover = services.primary_contact_transfer(
        organization=organization, email="ana.ruiz@example.org", details=NEW_PERSON, by=previous
    )
    assert (handover.previous, handover.new.email) == (previous, "ana.ruiz@example.org")
    assert handover.person_created and handover.invited
    assert handover.new.get_full_name() == "Ana Ruiz" and not handover.new.has_usable_password()
    assert organization.roles.get(role=Role.PRIMARY).person == handover.new
    kinds = sorted(EmailLog.objects.values_list("to_email", "kind"))
    assert kinds == sorted(
        [
            ("ana.ruiz@example.org", EmailLog.Kind.INVITATION),
            ("ana.ruiz@example.org", EmailLog.Kind.PRIMARY_HANDOVER),
            (previous.email, EmailLog.Kind.PRIMARY_HANDOVER),
        ]
    )


def test_hand_over_keeping_the_previous_primary_as_staff_keeps_their_access():
    organization = OrganizationFactory()
    previous, new = organization.primary_contact, UserFactory()
    handover = services.primary_contact_transfer(
        organization=organization, to=new, keep_previous_as_staff=True, by=previous
    )
    assert handover.kept_as_staff
    assert roster(organization) == {(new.email, Role.PRIMARY), (previous.email, Role.STAFF)}


def test_hand_over_refused_leaves_no_new_person_behind():
    organization = OrganizationFactory()
    previous = organization.primary_contact
    with pytest.raises(ValidationError) as refused:
        services.primary_contact_transfer(organization=organization, email=previous.email.upper(), by=previous)
    assert refused.value.messages == [ALREADY_PRIMARY.format(person=previous)]
    assert roster(organization) == {(previous.email, Role.PRIMARY)}


# Replacing by email


def test_replace_by_a_new_email_creates_the_person_and_replaces_the_holder():
    organization = OrganizationFactory()
    services.role_assign(
        organization=organization, person=UserFactory(email="old@example.org"), role="technical", by=None
    )
    change = services.role_replace(
        organization=organization, role=Role.TECHNICAL, email="tech@example.org", details=NEW_PERSON, by=None
    )
    assert change.person_created and change.invited
    assert organization.roles.get(role=Role.TECHNICAL).person.email == "tech@example.org"


def test_replace_by_a_known_email_in_another_case_reuses_the_person():
    organization = OrganizationFactory()
    known = InvitedUserFactory(email="known@example.org")
    change = services.role_replace(organization=organization, role=Role.BILLING, email="KNOWN@example.org", by=None)
    assert change.person == known and not change.person_created
    assert not change.invited  # a Billing Contact never signs in, so is not invited


# The admin's roster edit, as plain data


def test_roster_apply_removes_changes_and_adds_in_one_go():
    organization = OrganizationFactory()
    primary = organization.primary_contact
    staff = services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)
    billing = services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
    newcomer, successor = UserFactory(), UserFactory()
    applied = services.roster_apply(
        organization=organization,
        removed=[staff.contact_role.pk],
        changed={
            billing.contact_role.pk: RosterRow(billing.person, Role.CEO),
            organization.roles.get(role=Role.PRIMARY).pk: RosterRow(successor, Role.PRIMARY),
        },
        added=[RosterRow(newcomer, Role.BILLING)],
        by=primary,
    )
    assert roster(organization) == {
        (successor.email, Role.PRIMARY),
        (billing.person.email, Role.CEO),
        (newcomer.email, Role.BILLING),
    }
    assert [(row.person, row.role) for row in applied.removed] == [(staff.person, Role.STAFF)]
    assert {row.role for row in applied.changed} == {Role.PRIMARY, Role.CEO}
    assert [row.person for row in applied.added] == [newcomer]


def test_roster_apply_refused_late_undoes_everything():
    organization = OrganizationFactory()
    staff = services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)
    ceo = services.role_assign(organization=organization, person=UserFactory(), role=Role.CEO, by=None).person
    before = roster(organization)
    with pytest.raises(ValidationError) as refused:
        services.roster_apply(
            organization=organization,
            removed=[staff.contact_role.pk],
            added=[RosterRow(UserFactory(), Role.CEO)],
            by=None,
        )
    assert refused.value.messages == [
        ROLE_ALREADY_FILLED.format(organization=organization, role=Role.CEO.label, person=ceo)
    ]
    assert roster(organization) == before


def test_roster_apply_never_removes_the_primary_or_changes_its_role():
    organization = OrganizationFactory()
    primary_row = organization.roles.get(role=Role.PRIMARY)
    with pytest.raises(ValidationError) as removing:
        services.roster_apply(organization=organization, removed=[primary_row.pk], by=None)
    assert removing.value.messages == [PRIMARY_CANNOT_BE_REMOVED]
    with pytest.raises(ValidationError) as demoting:
        services.roster_apply(
            organization=organization, changed={primary_row.pk: RosterRow(primary_row.person, Role.STAFF)}, by=None
        )
    assert demoting.value.messages == [PRIMARY_ROLE_FIXED]
    assert organization.roles.get(role=Role.PRIMARY) == primary_row


def test_roster_apply_refuses_rows_of_another_organization_or_gone_meanwhile():
    ours, theirs = OrganizationFactory(), OrganizationFactory()
    their_staff = services.role_assign(organization=theirs, person=UserFactory(), role=Role.STAFF, by=None)
    for removed in ([their_staff.contact_role.pk], [10**9]):
        with pytest.raises(ValidationError) as refused:
            services.roster_apply(organization=ours, removed=removed, by=None)
        assert refused.value.messages == [ROSTER_CHANGED_MEANWHILE]
    assert ContactRole.objects.filter(pk=their_staff.contact_role.pk).exists()


# Editing a contact's details


def test_person_update_saves_the_details_and_records_who_changed_them():
    organization = OrganizationFactory()
    person = InvitedUserFactory()
    editor = organization.primary_contact
    services.person_update(person=person, by=editor, phone="(916) 555-0199", job_title="Controller")
    person.refresh_from_db()
    assert (person.phone, person.job_title) == ("(916) 555-0199", "Controller")
    record = person.history.latest()
    assert (record.history_user, record.phone) == (editor, "(916) 555-0199")


# The shape of the code: one service per request, no transaction opened by a view


@pytest.mark.parametrize("module", ["contacts/views.py", "contacts/public_views.py", "accounts/views.py"])
def test_views_open_no_transaction_and_call_at_most_one_service_per_method(module):
    tree = ast.parse(Path(module).read_text())
    for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)):
        calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
        names = [ast.unparse(call.func) for call in calls]
        assert not [name for name in names if name.endswith("atomic")], f"{module}:{function.name} opens a transaction"
        service_calls = [name for name in names if name.startswith("services.")]
        assert len(service_calls) <= 1, f"{module}:{function.name} calls {service_calls}"
