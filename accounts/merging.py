"""Merging a duplicate person into the person kept: one preview, one service.

The same physician under an old and a new work email is two people to the
database. A CME editor chooses the person to keep and the one to merge in,
reads the preview (person_merge_preview), then confirms (person_merge). The
rules, each stated on the preview page:

- Each role of the merged person moves to the kept person: the role row is
  updated in place, so an organization never has two Primary Contacts or none,
  and its History tab reads "merged Jane Doe <old> into Jane Doe <new>".
- Both Staff at one organization: the kept person's Staff row stays, the
  duplicate's is removed (the kept person already is Staff there).
- Both on one organization's roster in different roles: the editor chooses for
  each of the merged person's roles there whether it moves to the kept person
  (who then holds both roles) or is removed. A Primary Contact role always moves.
- CME staff accounts (and superusers) are never merged, nor a person into
  themselves, nor a person already merged.
- The kept person's blank details (phone, job title, ...) take the duplicate's.
- The merged-away account stays as a row, inactive and without a password, its
  sessions ended: every history row naming it still reads. Its address is an
  alias of the kept person (User.objects.for_address), found by the admin's
  people search and by adding a contact with that address.
- Nobody is emailed, except an invitation when the kept person has not set a
  password and the merge gives them their first role that lets them sign in.

The preview carries a version of both people and their roles; person_merge
recomputes it under the locks and refuses (MergeRefused, with the fresh
preview) when someone changed either person or their roles meanwhile.
"""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.utils import bulk_update_with_history

from contacts.history import merge_reason
from contacts.models import ACCESS_ROLES, ContactRole, Organization, Role
from contacts.services import invitation_send

User = get_user_model()

MERGE_INTO_SELF = "Choose two different people: a person cannot be merged into themselves."
MERGE_STAFF = (
    "{person} is a CME staff account; staff accounts are never merged. A superuser removes staff status first."
)
MERGE_ALREADY_MERGED = "{person} was already merged into {into}."
MERGE_KEPT_WAS_MERGED = "{person} was merged into {into}: keep {into} instead."
MERGE_CHANGED_MEANWHILE = (
    "{keep} or {merge} changed since you opened the preview (their details or roles). "
    "Nothing was merged. Check the new preview below and confirm again."
)
MERGE_NOT_A_CHOICE = "The choice for {role} at {organization} is not one of the preview's."

# What happens to each of the merged person's roles.
MOVES = "moves"
PRIMARY_MOVES = "primary_moves"
DUPLICATE_REMOVED = "duplicate_removed"
CHOICE = "choice"  # the editor chooses: KEEP_BOTH or REMOVE
KEEP_BOTH = "move"
REMOVE = "remove"

DETAIL_FIELDS = ("first_name", "last_name", "credentials", "job_title", "phone")


@dataclass(frozen=True)
class RolePlan:
    """One role of the merged person and what the merge does with it."""

    contact_role: ContactRole
    outcome: str
    kept_roles_there: tuple[str, ...] = ()

    @property
    def organization(self) -> Organization:
        return self.contact_role.organization

    @property
    def role_label(self) -> str:
        return self.contact_role.get_role_display()


@dataclass(frozen=True)
class DetailFill:
    field: str
    label: str
    value: str


@dataclass(frozen=True)
class MergePreview:
    """What person_merge would do; refusals non-empty means it would do nothing."""

    keep: User
    merge: User
    refusals: tuple[str, ...]
    roles: tuple[RolePlan, ...]
    kept_roles: tuple[ContactRole, ...]
    details: tuple[DetailFill, ...]
    invites: bool
    version: str

    @property
    def choices(self) -> tuple[RolePlan, ...]:
        return tuple(plan for plan in self.roles if plan.outcome == CHOICE)


@dataclass(frozen=True)
class Merged:
    keep: User
    merge: User
    moved: tuple[ContactRole, ...]
    removed: tuple[ContactRole, ...]
    details_filled: tuple[str, ...]
    invited: bool


class MergeRefused(ValidationError):
    """person_merge refused: the messages say why; .preview is the merge as it stands now."""

    def __init__(self, messages: list[str], preview: MergePreview):
        super().__init__(messages)
        self.preview = preview


def _refusals(keep: User, merge: User) -> list[str]:
    if keep.pk == merge.pk:
        return [MERGE_INTO_SELF]
    refusals = [MERGE_STAFF.format(person=person) for person in (keep, merge) if person.is_staff or person.is_superuser]
    if merge.merged_into_id:
        refusals.append(MERGE_ALREADY_MERGED.format(person=merge, into=merge.merged_into))
    if keep.merged_into_id:
        refusals.append(MERGE_KEPT_WAS_MERGED.format(person=keep, into=keep.merged_into))
    return refusals


def _outcome(contact_role: ContactRole, kept_there: list[str]) -> str:
    if contact_role.role == Role.PRIMARY:
        return PRIMARY_MOVES
    if contact_role.role in kept_there:  # only Staff can be held by both: the singular roles have one holder
        return DUPLICATE_REMOVED
    return CHOICE if kept_there else MOVES


def _version(keep: User, merge: User, roles: list[ContactRole]) -> str:
    """A digest of everything the preview depends on: both people's rows and every role they hold."""
    people = [
        (
            person.pk,
            person.email,
            *(getattr(person, name) for name in DETAIL_FIELDS),
            person.is_active,
            person.is_staff,
            person.is_superuser,
            person.merged_into_id,
            person.has_usable_password(),
        )
        for person in (keep, merge)
    ]
    rows = sorted((role.pk, role.organization_id, role.role, role.person_id) for role in roles)
    return hashlib.sha256(repr((people, rows)).encode()).hexdigest()


def _gains_first_access(keep: User, kept_roles: list[ContactRole], moving: list[ContactRole]) -> bool:
    return (
        not keep.has_usable_password()
        and not any(role.role in ACCESS_ROLES for role in kept_roles)
        and any(role.role in ACCESS_ROLES for role in moving)
    )


def _plan(keep: User, merge: User) -> MergePreview:
    roles = list(
        ContactRole.objects.filter(person__in=[keep.pk, merge.pk])
        .select_related("organization")
        .order_by("organization__name", "organization_id", "role", "pk")
    )
    kept_roles = [role for role in roles if role.person_id == keep.pk]
    held_by_keep: dict[int, list[str]] = {}
    for role in kept_roles:
        held_by_keep.setdefault(role.organization_id, []).append(role.role)
    plans = []
    for role in roles:
        if role.person_id == merge.pk:
            kept_there = held_by_keep.get(role.organization_id, [])
            labels = tuple(Role(held).label for held in kept_there)
            plans.append(RolePlan(contact_role=role, outcome=_outcome(role, kept_there), kept_roles_there=labels))
    details = tuple(
        DetailFill(field=name, label=str(User._meta.get_field(name).verbose_name), value=getattr(merge, name))
        for name in DETAIL_FIELDS
        if not getattr(keep, name) and getattr(merge, name)
    )
    moving = [plan.contact_role for plan in plans if plan.outcome != DUPLICATE_REMOVED]
    return MergePreview(
        keep=keep,
        merge=merge,
        refusals=tuple(_refusals(keep, merge)),
        roles=tuple(plans),
        kept_roles=tuple(kept_roles),
        details=details,
        invites=_gains_first_access(keep, kept_roles, moving),
        version=_version(keep, merge, roles),
    )


def person_merge_preview(*, keep: User, merge: User) -> MergePreview:
    """What merging `merge` into `keep` would do; writes nothing."""
    return _plan(keep, merge)


def _removed_roles(plan: MergePreview, remove: Collection[int]) -> set[int]:
    """The role rows to remove: the duplicates, and the choices the editor answered REMOVE."""
    choosable = {p.contact_role.pk for p in plan.choices}
    unknown = [p for p in plan.roles if p.contact_role.pk in remove and p.contact_role.pk not in choosable]
    if unknown:
        first = unknown[0]
        raise MergeRefused(
            [MERGE_NOT_A_CHOICE.format(role=first.role_label, organization=first.organization)], preview=plan
        )
    duplicates = {p.contact_role.pk for p in plan.roles if p.outcome == DUPLICATE_REMOVED}
    return duplicates | (set(remove) & choosable)


def _lock(keep: User, merge: User) -> tuple[User, User]:
    """Lock the organizations where the merged person holds a role, then both people, each in id order.

    Organizations first, as every roster service does (then the people it emails), so a
    merge and a hand-over at one organization wait for each other instead of deadlocking.
    """
    organizations = ContactRole.objects.filter(person=merge.pk).values("organization")
    list(
        Organization.objects.select_for_update(no_key=True)
        .filter(pk__in=organizations)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    people = User.objects.select_for_update(no_key=True).filter(pk__in=[keep.pk, merge.pk]).order_by("pk")
    found = {person.pk: person for person in people}
    return found[keep.pk], found[merge.pk]


def _details_fill(keep: User, plan: MergePreview, by: User | None) -> tuple[str, ...]:
    if not plan.details:
        return ()
    for fill in plan.details:
        setattr(keep, fill.field, fill.value)
    keep._history_user = by
    keep.save(update_fields=[fill.field for fill in plan.details])
    return tuple(fill.field for fill in plan.details)


def _account_close(merge: User, keep: User, by: User | None) -> None:
    """The duplicate's account: never signs in again, its sessions end, and its address now means `keep`."""
    merge.merged_into = keep
    merge.is_active = False
    merge.set_unusable_password()
    merge._history_user = by
    merge.save(update_fields=["merged_into", "is_active", "password"])
    User.objects.filter(pk=merge.pk).update(session_version=F("session_version") + 1)  # every session ends
    # An alias stays one step from the person it means.
    User.objects.filter(merged_into=merge.pk).update(merged_into=keep.pk)
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=merge.pk).delete()


def _invite(keep: User, moved: list[ContactRole], by: User | None) -> bool:
    access = [role for role in moved if role.role in ACCESS_ROLES]
    log = invitation_send(person=keep, organization=access[0].organization, by=by, role=access[0].role)
    return log.status == log.Status.QUEUED


def person_merge(*, keep: User, merge: User, by: User | None, version: str, remove: Collection[int] = ()) -> Merged:
    """Merge the duplicate `merge` into `keep`, in one transaction, under row locks (see the module's rules).

    version: MergePreview.version of the preview the editor confirmed; remove: the ids of the
    merged person's roles the editor chose to remove rather than move (only the preview's
    choices). Refused with MergeRefused, nothing written, for a refusal of the preview or a
    version that no longer matches.
    """
    with transaction.atomic():
        keep, merge = _lock(keep, merge)
        plan = _plan(keep, merge)
        if plan.refusals:
            raise MergeRefused(list(plan.refusals), preview=plan)
        if plan.version != version:
            raise MergeRefused([MERGE_CHANGED_MEANWHILE.format(keep=keep.email, merge=merge.email)], preview=plan)
        removing = _removed_roles(plan, remove)
        reason = merge_reason(merged=merge, kept=keep)
        moved = [plan.contact_role for plan in plan.roles if plan.contact_role.pk not in removing]
        removed = [plan.contact_role for plan in plan.roles if plan.contact_role.pk in removing]
        for contact_role in removed:  # rare (a duplicate Staff row, an editor's choice): one by one
            contact_role._history_user = by
            contact_role._change_reason = reason
            contact_role.delete()
        for contact_role in moved:
            contact_role.person = keep
        # Each row keeps its id, so a Primary Contact row is never absent nor doubled; two queries however many.
        bulk_update_with_history(moved, ContactRole, ["person"], default_user=by, default_change_reason=reason)
        filled = _details_fill(keep, plan, by)
        _account_close(merge, keep, by)
        invited = _invite(keep, moved, by) if _gains_first_access(keep, list(plan.kept_roles), moved) else False
    return Merged(
        keep=keep, merge=merge, moved=tuple(moved), removed=tuple(removed), details_filled=filled, invited=invited
    )
