"""Merging a duplicate person (accounts.merging): each conflict, the alias, sign-in and history afterwards."""

from dataclasses import FrozenInstanceError

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.forms import INVALID_LOGIN
from accounts.merging import (
    CHOICE,
    DUPLICATE_REMOVED,
    MERGE_ALREADY_MERGED,
    MERGE_CHANGED_MEANWHILE,
    MERGE_INTO_SELF,
    MERGE_KEPT_WAS_MERGED,
    MERGE_NOT_A_CHOICE,
    MERGE_STAFF,
    MOVES,
    PRIMARY_MOVES,
    MergeRefused,
    person_merge,
    person_merge_preview,
)
from accounts.tests.factories import PASSWORD, InvitedUserFactory, UserFactory
from contacts import services
from contacts.models import ContactRole, EmailLog, Organization, Role
from contacts.services import PERSON_MERGED
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def editor():
    return cme_staff(EDITORS)


@pytest.fixture
def new():
    """The physician under their new work address: the person to keep."""
    return UserFactory(first_name="Jane", last_name="Doe", email="jane.doe@sutter.example", phone="")


@pytest.fixture
def old():
    """The same physician under their old work address: the duplicate."""
    return UserFactory(first_name="Jane", last_name="Doe", email="jdoe@kern.example", phone="(661) 555-0134")


def merge(*, keep, merge, by, remove=()):
    """Preview, then merge what the preview showed: what the admin page does."""
    preview = person_merge_preview(keep=keep, merge=merge)
    return person_merge(keep=keep, merge=merge, by=by, version=preview.version, remove=remove)


def roles_of(person):
    return set(ContactRole.objects.filter(person=person).values_list("organization__name", "role"))


def test_roles_move_to_the_kept_person_and_the_result_is_frozen(new, old, editor):
    kern = OrganizationFactory(name="Kern Medical Education", primary=old)
    services.role_assign(organization=OrganizationFactory(name="Sutter Health CME"), person=old, role=Role.CEO, by=None)
    preview = person_merge_preview(keep=new, merge=old)
    assert [plan.outcome for plan in preview.roles] == [PRIMARY_MOVES, MOVES]
    assert preview.refusals == ()

    merged = merge(keep=new, merge=old, by=editor)

    assert roles_of(new) == {("Kern Medical Education", Role.PRIMARY), ("Sutter Health CME", Role.CEO)}
    assert roles_of(old) == set()
    assert Organization.objects.with_roster().get(pk=kern.pk).primary_contact == new
    assert len(merged.moved) == 2
    assert merged.removed == ()
    with pytest.raises(FrozenInstanceError):
        merged.invited = True


def test_both_staff_at_one_organization_keeps_one_staff_row(new, old, editor):
    """Conflict: both hold the same role at one organization (only Staff can be held twice)."""
    organization = OrganizationFactory(name="Kern Medical Education")
    for person in (new, old):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    assert [plan.outcome for plan in person_merge_preview(keep=new, merge=old).roles] == [DUPLICATE_REMOVED]

    merged = merge(keep=new, merge=old, by=editor)

    assert list(
        ContactRole.objects.filter(organization=organization, role=Role.STAFF).values_list("person", flat=True)
    ) == [new.pk]
    assert [role.role for role in merged.removed] == [Role.STAFF]


def test_both_on_one_roster_in_different_roles_the_editor_keeps_both(new, old, editor):
    """Conflict: both on one roster in different roles; the editor's default choice moves the role."""
    organization = OrganizationFactory(name="Kern Medical Education")
    services.role_assign(organization=organization, person=new, role=Role.STAFF, by=None)
    services.role_assign(organization=organization, person=old, role=Role.BILLING, by=None)
    plans = person_merge_preview(keep=new, merge=old).roles
    assert [(plan.outcome, plan.kept_roles_there) for plan in plans] == [(CHOICE, ("Staff",))]

    merge(keep=new, merge=old, by=editor)

    assert roles_of(new) == {("Kern Medical Education", Role.STAFF), ("Kern Medical Education", Role.BILLING)}


def test_both_on_one_roster_in_different_roles_the_editor_removes_the_duplicates_role(new, old, editor):
    organization = OrganizationFactory(name="Kern Medical Education")
    services.role_assign(organization=organization, person=new, role=Role.STAFF, by=None)
    billing = services.role_assign(organization=organization, person=old, role=Role.BILLING, by=None).contact_role

    merged = merge(keep=new, merge=old, by=editor, remove=[billing.pk])

    assert roles_of(new) == {("Kern Medical Education", Role.STAFF)}
    assert not ContactRole.objects.filter(organization=organization, role=Role.BILLING).exists()
    assert [(role.organization, role.role) for role in merged.removed] == [(organization, Role.BILLING)]


def test_a_role_that_is_not_a_choice_cannot_be_removed(new, old, editor):
    """Only the preview's choices are the editor's: a Primary Contact role always moves."""
    organization = OrganizationFactory(name="Kern Medical Education", primary=old)
    services.role_assign(organization=organization, person=new, role=Role.STAFF, by=None)
    primary = ContactRole.objects.get(organization=organization, role=Role.PRIMARY)
    assert [plan.outcome for plan in person_merge_preview(keep=new, merge=old).roles] == [PRIMARY_MOVES]

    with pytest.raises(MergeRefused) as refused:
        merge(keep=new, merge=old, by=editor, remove=[primary.pk])

    assert refused.value.messages == [
        MERGE_NOT_A_CHOICE.format(role="Primary Contact", organization="Kern Medical Education")
    ]
    assert ContactRole.objects.get(pk=primary.pk).person == old


def test_the_merged_person_as_primary_contact_hands_it_to_the_kept_person_in_place(new, old, editor):
    """Conflict: the merged person is a Primary Contact; the same row changes person, so never none or two."""
    organization = OrganizationFactory(name="Kern Medical Education", primary=old)
    services.role_assign(organization=organization, person=new, role=Role.BILLING, by=None)
    primary = ContactRole.objects.get(organization=organization, role=Role.PRIMARY)

    merge(keep=new, merge=old, by=editor)

    assert ContactRole.objects.filter(organization=organization, role=Role.PRIMARY).get().pk == primary.pk
    assert roles_of(new) == {("Kern Medical Education", Role.PRIMARY), ("Kern Medical Education", Role.BILLING)}


@pytest.mark.parametrize("staff_side", ["keep", "merge"])
@pytest.mark.parametrize("kind", [{"is_staff": True}, {"is_superuser": True}])
def test_staff_and_superuser_accounts_are_never_merged(new, old, editor, staff_side, kind):
    person = new if staff_side == "keep" else old
    User.objects.filter(pk=person.pk).update(**kind)
    person.refresh_from_db()
    OrganizationFactory(primary=old)

    preview = person_merge_preview(keep=new, merge=old)
    assert preview.refusals == (MERGE_STAFF.format(person=person),)
    with pytest.raises(MergeRefused):
        person_merge(keep=new, merge=old, by=editor, version=preview.version)
    assert old.contact_roles.count() == 1
    assert User.objects.get(pk=old.pk).is_active


def test_a_person_cannot_be_merged_into_themselves(new, editor):
    preview = person_merge_preview(keep=new, merge=new)
    assert preview.refusals == (MERGE_INTO_SELF,)
    with pytest.raises(MergeRefused) as refused:
        person_merge(keep=new, merge=new, by=editor, version=preview.version)
    assert refused.value.messages == [MERGE_INTO_SELF]
    assert User.objects.get(pk=new.pk).is_active


def test_a_person_already_merged_is_refused_either_way(new, old, editor):
    merge(keep=new, merge=old, by=editor)
    third = UserFactory(first_name="Janet")
    old.refresh_from_db()
    assert person_merge_preview(keep=third, merge=old).refusals == (MERGE_ALREADY_MERGED.format(person=old, into=new),)
    assert person_merge_preview(keep=old, merge=third).refusals == (MERGE_KEPT_WAS_MERGED.format(person=old, into=new),)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda new, old: services.role_assign(
                organization=OrganizationFactory(), person=old, role=Role.CEO, by=None
            ),
            id="role added to the duplicate",
        ),
        pytest.param(
            lambda new, old: User.objects.filter(pk=new.pk).update(last_name="Doe-Kim"), id="kept person renamed"
        ),
        pytest.param(
            lambda new, old: User.objects.filter(pk=old.pk).update(phone="(661) 555-0199"), id="duplicate's phone"
        ),
        pytest.param(
            lambda new, old: services.role_assign(
                organization=Organization.objects.get(), person=new, role=Role.STAFF, by=None
            ),
            id="kept person's role",
        ),
    ],
)
def test_a_change_by_someone_else_since_the_preview_refuses_the_merge(new, old, editor, change):
    OrganizationFactory(name="Kern Medical Education", primary=old)
    preview = person_merge_preview(keep=new, merge=old)
    change(new, old)

    with pytest.raises(MergeRefused) as refused:
        person_merge(keep=new, merge=old, by=editor, version=preview.version)

    assert refused.value.messages == [MERGE_CHANGED_MEANWHILE.format(keep=new.email, merge=old.email)]
    assert refused.value.preview.version != preview.version  # the fresh preview, to confirm again
    assert User.objects.get(pk=old.pk).is_active
    assert ContactRole.objects.filter(person=old, role=Role.PRIMARY).exists()


def test_the_merged_account_is_closed_signed_out_and_cannot_sign_in(client, new, old, editor):
    organization = OrganizationFactory()
    services.role_assign(organization=organization, person=old, role=Role.STAFF, by=None)
    profile = reverse("contacts:profile", args=[organization.pk])
    client.force_login(old)
    assert client.get(profile).status_code == 200
    version_before = old.session_version

    merge(keep=new, merge=old, by=editor)

    old.refresh_from_db()
    assert (old.is_active, old.has_usable_password(), old.merged_into) == (False, False, new)
    assert old.session_version == version_before + 1
    # The session it had is over: the next page asks to sign in.
    assert client.get(profile).url.startswith(reverse("accounts:login"))
    refused = client.post(reverse("accounts:login"), {"username": "jdoe@kern.example", "password": PASSWORD})
    assert refused.context["form"].errors == {"__all__": [INVALID_LOGIN]}
    assert client.get(profile).url.startswith(reverse("accounts:login"))
    # The kept person signs in with their own address and holds the roles.
    client.post(reverse("accounts:login"), {"username": new.email, "password": PASSWORD})
    assert client.session.get("_auth_user_id") == str(new.pk)


def test_the_merged_account_cannot_be_made_active_again(new, old, editor):
    merge(keep=new, merge=old, by=editor)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=old.pk).update(is_active=True)


def test_a_person_cannot_be_marked_merged_into_themselves_in_the_database(new):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=new.pk).update(is_active=False, merged_into=new.pk)


def test_the_old_address_means_the_kept_person_when_a_provider_adds_a_contact(new, old, editor):
    """Decision: adding a contact by the old address gives the kept person the role (one mailbox, one person)."""
    merge(keep=new, merge=old, by=editor)
    organization = OrganizationFactory()

    change = services.contact_add(organization=organization, email="JDoe@Kern.example", role=Role.STAFF, by=None)

    assert (change.person, change.person_created) == (new, False)
    assert (
        services.contact_add_preview(organization=organization, email="jdoe@kern.example", role=Role.CEO).person == new
    )
    assert User.objects.for_address("jdoe@kern.example") == new


def test_an_alias_stays_one_step_from_the_person_it_means(new, old, editor):
    merge(keep=new, merge=old, by=editor)
    newest = UserFactory(first_name="Jane", email="jane.doe@ucdavis.example")
    merge(keep=newest, merge=User.objects.get(pk=new.pk), by=editor)
    assert User.objects.get(pk=old.pk).merged_into == newest
    assert User.objects.for_address(old.email) == newest


def test_the_kept_persons_blank_details_take_the_duplicates(new, old, editor):
    merged = merge(keep=new, merge=old, by=editor)
    new.refresh_from_db()
    assert (new.phone, new.first_name) == ("(661) 555-0134", "Jane")
    assert merged.details_filled == ("phone",)


def test_a_kept_person_without_password_gaining_access_is_invited_once(old, editor):
    kept = InvitedUserFactory(first_name="Jane", last_name="Doe", email="jane.doe@sutter.example")
    services.role_assign(organization=OrganizationFactory(), person=old, role=Role.STAFF, by=None)
    assert person_merge_preview(keep=kept, merge=old).invites

    merged = merge(keep=kept, merge=old, by=editor)

    assert merged.invited
    invitations = EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION, to_email=kept.email)
    assert invitations.count() == 1


def test_a_merge_emails_nobody_when_the_kept_person_signs_in_already(new, old, editor):
    OrganizationFactory(primary=old)
    before = EmailLog.objects.count()
    merged = merge(keep=new, merge=old, by=editor)
    assert not merged.invited
    assert EmailLog.objects.count() == before


def test_a_refused_merge_writes_nothing(new, old, editor):
    OrganizationFactory(primary=old)
    with pytest.raises(MergeRefused):
        person_merge(keep=new, merge=old, by=editor, version="not-the-version")
    assert User.objects.get(pk=old.pk).merged_into is None
    assert old.contact_roles.count() == 1


def test_a_merged_duplicate_takes_no_role_anywhere(new, old, editor):
    organization = OrganizationFactory()
    merge(keep=new, merge=old, by=editor)
    old.refresh_from_db()
    refusal = PERSON_MERGED.format(person=old, email=old.email, kept=new, kept_email=new.email)
    with pytest.raises(ValidationError) as assigned:
        services.role_assign(organization=organization, person=old, role=Role.STAFF, by=editor)
    with pytest.raises(ValidationError) as handed:
        services.primary_contact_transfer(organization=organization, to=old, by=editor)
    assert assigned.value.messages == handed.value.messages == [refusal]
    assert not old.contact_roles.exists()
