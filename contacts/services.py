"""Every write that touches the roster goes through one of these functions.

The site, the admin, the management commands and the demo data all call them,
so each rule of the roster exists once, and each use case is one function: a
view or an admin method calls exactly one. Each refuses an illegal request with
a ValidationError that carries a readable message.

A role that gives a person their first access queues the invitation email in
the same transaction (contacts.emails; a worker sends it), so a change that is
rolled back invites nobody. Each service returns what happened as a small frozen
dataclass (RoleChange, Handover, ...), which says whether it queued an invitation
(not when the limit of invitations held it back) and whether it created the person.
"""

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from contacts.emails import absolute_url, email_send, recipients_lock
from contacts.importfile import ImportRow
from contacts.imports import CREATED, ImportPlan, import_plan
from contacts.models import (
    ACCESS_ROLES,
    ROLE_PURPOSES,
    Confirmation,
    ContactRole,
    EmailChange,
    EmailLog,
    Organization,
    Role,
    RosterImport,
    details_shared_elsewhere,
)
from contacts.notices import (
    NOTICED_FIELDS,
    details_changed_notify,
    details_changes,
    role_added_notify,
    role_removed_notify,
)
from pars.addresses import email_canonical, email_lookup_key
from pars.concurrency import changes_save

User = get_user_model()

PRIMARY_CANNOT_BE_REMOVED = "The Primary Contact cannot be removed. Hand the role over to someone else first."
PRIMARY_ONLY_BY_TRANSFER = "The Primary Contact changes only by handing the role over."
ALREADY_PRIMARY = "{person} is already the Primary Contact."
ROLE_ALREADY_FILLED = "{organization} already has a {role}: {person}. Replace them instead."
ROLE_ALREADY_HELD = "{person} already holds the {role} role at {organization}."
NOT_A_ROLE = "“{role}” is not a contact role."
NOT_PENDING = (
    "{person} has already set a password or holds no role here that lets them sign in; no invitation was sent."
)
STAFF_NOT_REPLACEABLE = "Staff has no single holder to replace; add or remove staff instead."
PRIMARY_ROLE_FIXED = "The Primary Contact row keeps its role. To hand the role over, choose the new person in that row."
ROSTER_CHANGED_MEANWHILE = "The roster changed meanwhile: a row you edited is gone. Check it and try again."
PERSON_DETAILS_SHARED = (
    "The details of {person} are shared with another organization, so only CME staff can change them."
)
ROLE_ALREADY_REMOVED = "{person} no longer held the {role} role: someone removed it meanwhile."
EMAIL_TAKEN = "Another person already uses this email address."
EMAIL_ALREADY_YOURS = "This is already the address you sign in with."
EMAIL_KEPT_BY_PERSON = (
    "{person} signs in with this email address, so only they (on Edit My Profile) or CME staff can change it."
)
EMAIL_LINK_INVALID = (
    "This link does not work: it was already used, or a newer link replaced it. "
    "Your sign-in address is the one you last confirmed."
)
EMAIL_LINK_EXPIRED = (
    "This link has expired: a link to confirm a new email address works for {hours} hours. "
    "To use {email}, enter it again on Edit My Profile and we will send a new link."
)
EMAIL_TAKEN_MEANWHILE = (
    "{email} is now used by another person, so your sign-in address was not changed: it is still {current}. "
    "If that address is yours, email CME staff at {support}."
)
PERSON_MERGED = "{person} <{email}> was merged into {kept} <{kept_email}>: give the role to {kept} instead."


def _lock(organization: Organization) -> Organization:
    """Serialize roster changes of one organization on its row.

    FOR NO KEY UPDATE, like every serializing lock here: it excludes the other
    lockers but not the foreign-key checks PostgreSQL runs at commit (FOR KEY
    SHARE on the rows referenced by new roles, history rows and email logs),
    which under FOR UPDATE deadlocked two hand-overs at commit in make soak.
    """
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def _save(instance, by: User | None):
    instance._history_user = by
    instance.full_clean()
    instance.save()
    return instance


# What the services return -----------------------------------------------------------------


@dataclass(frozen=True)
class PersonResult:
    person: User
    created: bool


@dataclass(frozen=True)
class RoleChange:
    """A role given (or replaced): whether its holder was invited, and whether the person is new."""

    contact_role: ContactRole
    invited: bool
    person_created: bool = False

    @property
    def person(self) -> User:
        return self.contact_role.person


@dataclass(frozen=True)
class OrganizationCreated:
    organization: Organization
    invited: bool


@dataclass(frozen=True)
class Handover:
    """A hand-over of the Primary Contact role: the previous primary as read under the lock."""

    contact_role: ContactRole
    previous: User
    new: User
    invited: bool
    person_created: bool = False
    kept_as_staff: bool = False


@dataclass(frozen=True)
class RosterRow:
    """One row of a roster as a caller wants it: a person in a role."""

    person: User
    role: str


@dataclass(frozen=True)
class RosterApplied:
    removed: list[ContactRole]
    changed: list[ContactRole]
    added: list[ContactRole]


# Organizations ----------------------------------------------------------------------------


def organization_create(*, primary: User, by: User | None = None, **fields) -> OrganizationCreated:
    """Create an organization together with its Primary Contact, in one transaction."""
    with transaction.atomic():
        organization = _save(Organization(**fields), by)
        # No role notice: CME staff welcome the primary of a new organization (the new-primary queue).
        change = _role_create(organization=organization, person=primary, role=Role.PRIMARY, by=by, notify=False)
    return OrganizationCreated(organization=organization, invited=change.invited)


def organization_update(
    *, organization: Organization, by: User | None, baseline: Mapping | None = None, since=None, **fields
) -> Organization:
    """Write the given fields, and only those: a confirmation or a hand-over saved meanwhile stays.

    baseline (field -> text, from the editor's form, opened at `since`): a field someone
    else changed since raises pars.concurrency.EditConflict, and nothing is written.
    """
    for name, value in fields.items():
        setattr(organization, name, value)
    return changes_save(instance=organization, changes=fields, baseline=baseline or {}, by=by, since=since).instance


def contacts_confirm(*, organization: Organization, by: User, at: datetime | None = None) -> Organization:
    """Record that `by` confirmed the organization's contacts are current, now (or `at`, for the demo's past years).

    Each confirmation is also kept as a row of its reporting year (Confirmation).
    """
    with transaction.atomic():
        organization = _lock(organization)
        if at is not None:
            organization._history_date = at  # the history shows it when it happened
        organization.contacts_confirmed_at = at or timezone.now()
        organization.contacts_confirmed_by = by
        Confirmation.objects.create(
            organization=organization, confirmed_by=by, confirmed_at=organization.contacts_confirmed_at
        )
        return _save(organization, by)


@dataclass(frozen=True)
class Welcomed:
    """Organizations whose new Primary Contact was marked welcomed, and those skipped (already welcomed)."""

    welcomed: list[Organization]
    skipped: list[Organization]


def primary_welcome_record(*, organizations: Sequence[Organization], by: User) -> Welcomed:
    """Record that `by` (CME staff) contacted each organization's new Primary Contact, now.

    An organization whose current primary was already welcomed is left as it is.
    """
    welcomed, skipped = [], []
    with transaction.atomic():
        due = set(
            Organization.objects.filter(pk__in=[o.pk for o in organizations])
            .primary_not_welcomed()
            .values_list("pk", flat=True)
        )
        for organization in Organization.objects.select_for_update().filter(pk__in=[o.pk for o in organizations]):
            if organization.pk not in due:
                skipped.append(organization)
                continue
            organization.primary_welcomed_at = timezone.now()
            organization.primary_welcomed_by = by
            welcomed.append(_save(organization, by))
    return Welcomed(welcomed=welcomed, skipped=skipped)


# People -----------------------------------------------------------------------------------


def _email_field_canonical(email: str) -> str:
    """The canonical form of an address, or the refusal said on the form's email field."""
    try:
        return email_canonical(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None


def person_get_or_create(*, email: str, by: User | None = None, **details) -> PersonResult:
    """The person with this email (in its canonical form), else a new one without a password.

    The address of a duplicate merged into another person (accounts.merging) means the person kept.

    `by`, who is adding them, is recorded in the new person's history. Two
    requests creating the same person at once both get them: the insert runs
    in a savepoint, and the one that meets the unique constraint reads the row
    the other made.
    """
    email = _email_field_canonical(email)
    person = User.objects.for_address(email)  # a merged duplicate's address means the person kept
    if person:
        return PersonResult(person=person, created=False)
    details = {key: value for key, value in details.items() if value is not None}
    person = User(email=email, **details)
    person.set_unusable_password()
    person._history_user = by
    # Uniqueness is the database's to check, at the insert: a check before it could be overtaken.
    person.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        existing = User.objects.for_address(email)
        if existing is None:
            raise
        return PersonResult(person=existing, created=False)
    return PersonResult(person=person, created=True)


@dataclass(frozen=True)
class PersonUpdated:
    """A person's details saved; email_change: their address corrected as well (person_email_correct)."""

    person: User
    email_change: "EmailChanged | None" = None


def person_update(
    *,
    person: User,
    by: User | None,
    baseline: Mapping | None = None,
    since=None,
    organization: Organization | None = None,
    **details,
) -> PersonUpdated:
    """Change a contact's details (name, credentials, job title, phone, email), recording who did.

    Only the given fields are written; with a baseline, as for organization_update,
    a field someone else changed since raises pars.concurrency.EditConflict. A
    provider (`by`, not CME staff) may not change a person who is also the contact
    of an organization they are not affiliated with (PERSON_DETAILS_SHARED).
    Someone else's change is told to the person: what changed and who changed it.
    A new email address is person_email_correct's (organization: where the editor
    corrects it, whose invitation is sent again); its own emails replace the notice.
    """
    if by is not None and not by.is_staff and details_shared_elsewhere(person=person, editor=by):
        raise ValidationError(PERSON_DETAILS_SHARED.format(person=person))
    before = {name: getattr(person, name) for name in NOTICED_FIELDS if name in details and name != "email"}
    with transaction.atomic():
        updated = person_staff_update(
            person=person, by=by, baseline=baseline, since=since, organization=organization, **details
        )
        details_changed_notify(person=updated.person, changes=details_changes(before, updated.person), by=by)
    return updated


def person_staff_update(
    *,
    person: User,
    by: User | None,
    baseline: Mapping | None = None,
    since=None,
    organization: Organization | None = None,
    **changes,
) -> PersonUpdated:
    """Write the fields a form changed (CME staff in the admin: any of a person's own fields), no notice.

    A new email address goes through person_email_correct, in the same transaction:
    refused, nothing is saved.
    """
    email = changes.pop("email", None)
    with transaction.atomic():
        saved = person
        if changes:
            saved = changes_save(instance=person, changes=changes, baseline=baseline or {}, by=by, since=since).instance
        corrected = None
        if email is not None:
            corrected = person_email_correct(person=saved, email=email, by=by, organization=organization)
            saved = corrected.person
    return PersonUpdated(person=saved, email_change=corrected)


def _person(*, to: User | None, email: str | None, details: Mapping | None, by: User | None) -> PersonResult:
    """`to`, or the person with this email (created, without a password, when new)."""
    if to is not None:
        return PersonResult(person=to, created=False)
    return person_get_or_create(email=email or "", by=by, **(details or {}))


# Roles ------------------------------------------------------------------------------------


def _role_create(
    *, organization: Organization, person: User, role: str, by: User | None, notify: bool = True
) -> RoleChange:
    """Insert one role row, and invite the person if it is their first access; the caller holds the lock."""
    _refuse_merged(person)
    conflict = _conflict(organization, person, role)
    if conflict:
        raise ValidationError(conflict)
    first_access = _grants_first_access(person, role)
    contact_role = ContactRole(organization=organization, person=person, role=role, assigned_by=by)
    contact_role._history_user = by
    try:
        with transaction.atomic():
            contact_role.save()
    except IntegrityError:
        # A writer that did not take the lock got there first; the constraint said no.
        raise ValidationError(
            _conflict(organization, person, role) or "That role changed meanwhile; try again."
        ) from None
    invited = _invite(contact_role, first_access=first_access, by=by)
    if notify and by is not None and not first_access:
        # The invitation already names the role; anyone else hears of it in a notice.
        role_added_notify(contact_role=contact_role, by=by)
    return RoleChange(contact_role=contact_role, invited=invited)


def _conflict(organization: Organization, person: User, role: str) -> str | None:
    label = Role(role).label
    if ContactRole.objects.filter(organization=organization, person=person, role=role).exists():
        return ROLE_ALREADY_HELD.format(person=person, role=label, organization=organization)
    if role != Role.STAFF:
        holder = ContactRole.objects.filter(organization=organization, role=role).select_related("person").first()
        if holder:
            return ROLE_ALREADY_FILLED.format(organization=organization, role=label, person=holder.person)
    return None


def _refuse_merged(person: User) -> None:
    """A duplicate merged into another person (accounts.merging) is a closed record: it takes no role."""
    if getattr(person, "merged_into_id", None):
        kept = person.merged_into
        raise ValidationError(PERSON_MERGED.format(person=person, email=person.email, kept=kept, kept_email=kept.email))


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(NOT_A_ROLE.format(role=role))
    if role == Role.PRIMARY:
        raise ValidationError(PRIMARY_ONLY_BY_TRANSFER)


def _grants_first_access(person: User, role: str) -> bool:
    """True when this role is the person's first that lets them sign in."""
    return (
        role in ACCESS_ROLES
        and not person.has_usable_password()
        and not ContactRole.objects.filter(person=person, role__in=ACCESS_ROLES).exists()
    )


def _invite(contact_role: ContactRole, *, first_access: bool, by: User | None) -> bool:
    """Queue the invitation when the role is its holder's first access; say whether it was queued.

    Not queued when over the limit of invitations to the address (suppressed, in the email log).
    """
    if not first_access:
        return False
    log = invitation_send(
        person=contact_role.person, organization=contact_role.organization, by=by, role=contact_role.role
    )
    return log.status == EmailLog.Status.QUEUED


def role_assign(*, organization: Organization, person: User, role: str, by: User | None) -> RoleChange:
    """Give a person a role; a new contact with access gets the invitation email."""
    _check_role(role)
    with transaction.atomic():
        organization = _lock(organization)
        return _role_create(organization=organization, person=person, role=role, by=by)


def contact_add(*, organization: Organization, email: str, role: str, by: User | None, **details) -> RoleChange:
    """Add a contact by email: the known person if the email is known, else a new one.

    details: first_name, last_name, credentials, job_title, phone (used only for a new person).
    """
    _check_role(role)
    with transaction.atomic():
        found = person_get_or_create(email=email, by=by, **details)
        change = role_assign(organization=organization, person=found.person, role=role, by=by)
    return RoleChange(contact_role=change.contact_role, invited=change.invited, person_created=found.created)


@dataclass(frozen=True)
class ContactAddPreview:
    """What contact_add would do: the known person with the email (None when new), and whether it would invite."""

    person: User | None
    invites: bool


def contact_add_preview(*, organization: Organization, email: str, role: str) -> ContactAddPreview:
    """What contact_add would do, for the page that asks to confirm it; writes nothing.

    Raises the ValidationError contact_add would raise for the role (the person
    already holds it, or it is a singular role someone else holds).
    """
    _check_role(role)
    person = User.objects.for_address(email)
    conflict = _conflict(organization, person, role)
    if conflict:
        raise ValidationError(conflict)
    if person is None:
        return ContactAddPreview(person=None, invites=role in ACCESS_ROLES)
    return ContactAddPreview(person=person, invites=_grants_first_access(person, role))


def role_replace(
    *,
    organization: Organization,
    role: str,
    to: User | None = None,
    email: str | None = None,
    details: Mapping | None = None,
    by: User | None,
) -> RoleChange:
    """Put a person (`to`, or the one with `email`, created when new) in a singular role, replacing its holder."""
    if role == Role.PRIMARY:
        handover = primary_contact_transfer(organization=organization, to=to, email=email, details=details, by=by)
        return RoleChange(handover.contact_role, handover.invited, handover.person_created)
    _check_role(role)
    if role == Role.STAFF:
        raise ValidationError(STAFF_NOT_REPLACEABLE)
    with transaction.atomic():
        found = _person(to=to, email=email, details=details, by=by)
        organization = _lock(organization)
        _holder_remove(organization=organization, role=role, replacing_with=found.person, by=by)
        change = _role_create(organization=organization, person=found.person, role=role, by=by)
    return RoleChange(contact_role=change.contact_role, invited=change.invited, person_created=found.created)


def _holder_remove(*, organization: Organization, role: str, replacing_with: User, by: User | None) -> None:
    current = ContactRole.objects.filter(organization=organization, role=role).first()
    if current and current.person_id == replacing_with.pk:
        raise ValidationError(
            ROLE_ALREADY_HELD.format(person=replacing_with, role=Role(role).label, organization=organization)
        )
    if current:
        current._history_user = by
        current.delete()
        if by is not None:
            role_removed_notify(contact_role=current, by=by)


def role_remove(*, contact_role: ContactRole, by: User | None) -> None:
    """Take a role from its holder; their last role gone, their access ends at once.

    A role someone else removed meanwhile is refused with ROLE_ALREADY_REMOVED,
    read under the organization's lock, so history records the removal once.
    """
    if contact_role.role == Role.PRIMARY:
        raise ValidationError(PRIMARY_CANNOT_BE_REMOVED)
    with transaction.atomic():
        _lock(contact_role.organization)
        if not ContactRole.objects.filter(pk=contact_role.pk).exists():
            raise ValidationError(
                ROLE_ALREADY_REMOVED.format(person=contact_role.person, role=contact_role.get_role_display())
            )
        contact_role._history_user = by
        contact_role.delete()
        if by is not None:
            role_removed_notify(contact_role=contact_role, by=by)


def primary_contact_transfer(
    *,
    organization: Organization,
    to: User | None = None,
    email: str | None = None,
    details: Mapping | None = None,
    keep_previous_as_staff: bool = False,
    by: User | None,
) -> Handover:
    """Hand the Primary Contact role to a person (`to`, or the one with `email`, created when new).

    Both the previous and the new primary are emailed. With keep_previous_as_staff
    the previous primary stays on as Staff, so that they keep access.

    The organization's row is locked first, so two hand-overs at the same moment
    run one after the other and end with one primary. The primary row is updated
    in place: there is never a moment with none or two.
    """
    with transaction.atomic():
        found = _person(to=to, email=email, details=details, by=by)
        organization = _lock(organization)
        current = ContactRole.objects.select_related("person").get(organization=organization, role=Role.PRIMARY)
        previous, new = current.person, found.person
        _refuse_merged(new)
        if previous.pk == new.pk:
            raise ValidationError(ALREADY_PRIMARY.format(person=new))
        first_access = _grants_first_access(new, Role.PRIMARY)
        current.person = new
        current.assigned_by = by
        current.assigned_at = timezone.now()
        current._history_user = by
        current.save()
        recipients_lock([previous, new])
        invited = _invite(current, first_access=first_access, by=by)
        _handover_notify(organization=organization, previous=previous, new=new, by=by)
        if keep_previous_as_staff:
            # The hand-over email already tells them; no second notice for the Staff role.
            _role_create(organization=organization, person=previous, role=Role.STAFF, by=by, notify=False)
    return Handover(
        contact_role=current,
        previous=previous,
        new=new,
        invited=invited,
        person_created=found.created,
        kept_as_staff=keep_previous_as_staff,
    )


def _handover_notify(*, organization: Organization, previous: User, new: User, by: User | None) -> None:
    subject = f"Primary Contact for {organization} changed"
    context = {
        "previous": previous,
        "new": new,
        "by": by,
        "profile_url": absolute_url(organization.get_absolute_url()),
    }
    # One email each, written for its reader: the new primary learns what the role asks of them,
    # the previous one who took over and how to object.
    for recipient, is_new in ((previous, False), (new, True)):
        email_send(
            kind=EmailLog.Kind.PRIMARY_HANDOVER,
            to=recipient,
            subject=subject,
            template="primary_handover",
            context={**context, "is_new": is_new},
            organization=organization,
        )


def roster_apply(
    *,
    organization: Organization,
    removed: Sequence[int] = (),
    changed: Mapping[int, RosterRow] | None = None,
    added: Sequence[RosterRow] = (),
    by: User | None,
) -> RosterApplied:
    """Make a whole roster edit at once (the admin's inline): rows removed, rows changed, rows added.

    removed and changed name existing rows by id. Under the organization's lock,
    removals go first, so a role a row gives up is free for another; a change of
    the Primary Contact row's person is a hand-over; a changed row is its old role
    removed and its new one given; additions come last. Every step keeps the rules
    of the single services, and a refusal undoes the whole edit.
    """
    changed = dict(changed or {})
    with transaction.atomic():
        organization = _lock(organization)
        rows = ContactRole.objects.select_related("person").in_bulk([*removed, *changed])
        missing = {*removed, *changed} - set(rows)
        if missing or any(row.organization_id != organization.pk for row in rows.values()):
            raise ValidationError(ROSTER_CHANGED_MEANWHILE)
        handover_to, to_give = None, []
        for pk in removed:
            role_remove(contact_role=rows[pk], by=by)
        for pk, wanted in changed.items():
            row = rows[pk]
            if row.role == Role.PRIMARY and wanted.role != Role.PRIMARY:
                raise ValidationError(PRIMARY_ROLE_FIXED)
            if row.role == Role.PRIMARY:
                handover_to = wanted.person
                continue
            role_remove(contact_role=row, by=by)
            to_give.append(wanted)
        changed_rows = []
        if handover_to is not None:
            changed_rows.append(primary_contact_transfer(organization=organization, to=handover_to, by=by).contact_role)
        changed_rows += [_roster_role_give(organization, wanted, by) for wanted in to_give]
        added_rows = [_roster_role_give(organization, wanted, by) for wanted in added]
    return RosterApplied(removed=[rows[pk] for pk in removed], changed=changed_rows, added=added_rows)


def _roster_role_give(organization: Organization, wanted: RosterRow, by: User | None) -> ContactRole:
    _check_role(wanted.role)
    return _role_create(organization=organization, person=wanted.person, role=wanted.role, by=by).contact_role


# Emails -----------------------------------------------------------------------------------


def email_bounce_record(*, email: str, at) -> int:
    """Mark the person with this address (whatever its case) as bouncing since `at`; the number marked.

    An address already marked keeps its first date.
    """
    with transaction.atomic():
        return User.objects.filter(email=email_lookup_key(email), email_bouncing_since__isnull=True).update(
            email_bouncing_since=at
        )


def invitation_url(person: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return absolute_url(reverse("accounts:invitation", args=[uid, token]))


def invitation_send(*, person: User, organization: Organization, by: User | None, role: str | None = None) -> EmailLog:
    """Queue the "system access granted — set your password" link, with a fresh token, in the caller's transaction.

    role: the role that gave the access, named in the email with what it asks of them.
    Returns the log: queued, or suppressed when over EMAIL_LIMITS for invitations.
    """
    context = {"invitation_url": invitation_url(person), "by": by}
    if role in Role.values:
        context.update(role_label=Role(role).label, role_purpose=ROLE_PURPOSES[Role(role)])
    return email_send(
        kind=EmailLog.Kind.INVITATION,
        to=person,
        subject="PARS contacts: system access granted — set your password",
        template="invitation",
        context=context,
        organization=organization,
    )


def invitation_resend(*, organization: Organization, person: User, by: User) -> EmailLog:
    """Queue a new invitation, with a fresh link, to a contact of the organization who has not set a password.

    It counts toward the limit of invitations to the address: over it, the log
    says suppressed and nothing is sent. Refused (ValidationError) for a person
    who has set a password or holds no role here that lets them sign in.
    """
    role = (
        ContactRole.objects.filter(organization=organization, person=person, role__in=ACCESS_ROLES)
        .order_by("role")
        .values_list("role", flat=True)
        .first()
    )
    if person.has_usable_password() or not person.is_active or role is None:
        raise ValidationError(NOT_PENDING.format(person=person))
    return invitation_send(person=person, organization=organization, by=by, role=role)


# Email addresses --------------------------------------------------------------------------
#
# A person changes their own sign-in address in two steps: email_change_request
# stores the new address with a digest of a random token and emails the link to
# it; email_change_confirm, when the link is opened, makes it the sign-in
# address and tells the old address. Someone else correcting an address
# (a provider, for a contact who has not set a password; CME staff, for anyone)
# changes it at once: person_email_correct. All three write it with _email_write.
#
# Races: every step locks the person's row first. Two confirmations of one link
# run one after the other, and the second finds the request gone (single use);
# a request, a correction and a confirmation of the same person are serialized
# the same way. An address taken by someone else between the request and the
# confirmation is refused at the confirmation, checked under the lock and, for
# a person created with it at that very moment, by the database's unique index
# (IntegrityError in a savepoint): the request is dropped and the page says so.


@dataclass(frozen=True)
class EmailChangeRequested:
    """A link to confirm new_email was queued (queued False: held back by EMAIL_LIMITS; log.error says why)."""

    person: User
    new_email: str
    expires_at: datetime
    queued: bool
    log: EmailLog


@dataclass(frozen=True)
class EmailChanged:
    """A person's sign-in address changed from old_email to new_email.

    invited: the invitation was sent again to the corrected address; notified: the old address was told.
    """

    person: User
    old_email: str
    new_email: str
    invited: bool = False
    notified: bool = False


@dataclass(frozen=True)
class ProfileSaved:
    """Edit My Profile saved: the person's details, and the new address waiting for confirmation, if any."""

    person: User
    email_change: EmailChangeRequested | None = None


def _email_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _person_lock(person: User) -> User:
    return User.objects.select_for_update(no_key=True).get(pk=person.pk)


def email_taken(*, email: str, person: User | None = None) -> bool:
    """Whether a person other than `person` has this canonical address: the one check, for forms and services."""
    others = User.objects.filter(email=email)
    return (others.exclude(pk=person.pk) if person is not None else others).exists()


def _email_refuse_taken(email: str, person: User) -> None:
    if email_taken(email=email, person=person):
        raise ValidationError({"email": EMAIL_TAKEN}, code="taken")


def _email_write(*, person: User, email: str, by: User | None) -> User:
    """Make `email` the (locked) person's sign-in address, recorded in their history as changed by `by`.

    EMAIL_TAKEN when another person has it, including one whose insert commits
    while this runs: the unique index refuses the write, in a savepoint.
    """
    _email_refuse_taken(email, person)
    try:
        with transaction.atomic():
            return changes_save(instance=person, changes={"email": email}, baseline={}, by=by).instance
    except IntegrityError:
        raise ValidationError({"email": EMAIL_TAKEN}, code="taken") from None


def _email_changed_notify(*, person: User, old_email: str, by: User | None) -> bool:
    """Tell the old address that the sign-in address changed, and whom to write to if that was not them."""
    log = email_send(
        kind=EmailLog.Kind.EMAIL_CHANGED,
        to=person,
        to_email=old_email,
        subject="Your PARS contacts sign-in address was changed",
        template="email_changed",
        context={"old_email": old_email, "new_email": person.email, "by": by, "by_self": by == person},
    )
    return log.status == EmailLog.Status.QUEUED


def profile_update(*, person: User, baseline: Mapping | None = None, since=None, **changes) -> ProfileSaved:
    """A person saves Edit My Profile: their details at once, a new email address only once confirmed.

    changes: the fields the form changed, so an email among them differs from the
    address the form was opened with. It goes to email_change_request in the same
    transaction: refused (taken), nothing is saved. baseline and since: as for
    person_update.
    """
    email = changes.pop("email", None)
    with transaction.atomic():
        saved = person
        if changes:
            saved = changes_save(
                instance=person, changes=changes, baseline=baseline or {}, by=person, since=since
            ).instance
        if not email:
            return ProfileSaved(person=saved)
        requested = email_change_request(person=saved, email=email)
    return ProfileSaved(person=requested.person, email_change=requested)


def email_change_request(*, person: User, email: str) -> EmailChangeRequested:
    """A person asks to sign in with a new address: a single-use link to confirm it is emailed there.

    Their sign-in address stays until the link is opened (email_change_confirm),
    within EMAIL_CHANGE_LINK_HOURS. An address another person uses is refused
    (EMAIL_TAKEN, on the email field). A request replaces the person's earlier
    one, whose link stops working. The email counts toward EMAIL_LIMITS for its
    kind and the new address, so nobody can use the page to flood a mailbox.
    """
    email = _email_field_canonical(email)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        person = _person_lock(person)
        if email == person.email:
            raise ValidationError({"email": EMAIL_ALREADY_YOURS})
        _email_refuse_taken(email, person)
        EmailChange.objects.filter(person=person).delete()
        change = EmailChange.objects.create(person=person, new_email=email, token_digest=_email_digest(token))
        log = email_send(
            kind=EmailLog.Kind.EMAIL_CONFIRM,
            to=person,
            to_email=email,
            subject="Confirm your new email address for PARS contacts",
            template="email_confirm",
            context={
                "confirm_url": absolute_url(reverse("accounts:email_confirm", args=[token])),
                "new_email": email,
                "hours": settings.EMAIL_CHANGE_LINK_HOURS,
            },
        )
    return EmailChangeRequested(
        person=person,
        new_email=email,
        expires_at=change.expires_at,
        queued=log.status == EmailLog.Status.QUEUED,
        log=log,
    )


def email_change_pending(*, token: str) -> EmailChange:
    """The request a confirmation link stands for, for the page that asks to confirm it; writes nothing.

    Raises ValidationError: EMAIL_LINK_INVALID (used, replaced or unknown), EMAIL_LINK_EXPIRED.
    """
    change = EmailChange.objects.filter(token_digest=_email_digest(token)).select_related("person").first()
    if change is None:
        raise ValidationError(EMAIL_LINK_INVALID, code="invalid")
    if change.has_expired():
        raise ValidationError(
            EMAIL_LINK_EXPIRED.format(hours=settings.EMAIL_CHANGE_LINK_HOURS, email=change.new_email), code="expired"
        )
    return change


def email_change_confirm(*, token: str) -> EmailChanged:
    """The link from email_change_request was opened and confirmed: the new address becomes the sign-in address.

    Single use: the request is deleted. The old address is told, naming the
    support address. Refused with EMAIL_LINK_INVALID or EMAIL_LINK_EXPIRED; with
    EMAIL_TAKEN_MEANWHILE when another person has the address by now (the request
    is dropped, the address stays).
    """
    change = email_change_pending(token=token)
    with transaction.atomic():
        person = _person_lock(change.person)
        # Under the lock: a confirmation that ran first (or a newer request) has deleted the row.
        if not EmailChange.objects.filter(pk=change.pk, token_digest=change.token_digest).exists():
            raise ValidationError(EMAIL_LINK_INVALID, code="invalid")
        EmailChange.objects.filter(pk=change.pk).delete()
        old_email = person.email
        try:
            saved = _email_write(person=person, email=change.new_email, by=person)
        except ValidationError:
            taken = EMAIL_TAKEN_MEANWHILE.format(
                email=change.new_email, current=old_email, support=settings.SUPPORT_EMAIL
            )
        else:
            notified = _email_changed_notify(person=saved, old_email=old_email, by=saved)
            return EmailChanged(person=saved, old_email=old_email, new_email=saved.email, notified=notified)
    # Outside the block, so that the dropped request stays dropped.
    raise ValidationError(taken, code="taken")


def person_email_correct(
    *, person: User, email: str, by: User | None, organization: Organization | None = None
) -> EmailChanged:
    """Someone else changes a person's address, at once: a provider, for a contact who has not set a
    password; CME staff (or a command, by=None), for anyone.

    A link the person asked for to confirm another address stops working. A
    contact who has not set a password gets the invitation again at the corrected
    address (naming `organization` when they hold a role there that signs in),
    with a new link; the old link stops working, since the invitation's token
    covers the address. A person who has set a password is told at the old address.
    Refused: an address another person uses (EMAIL_TAKEN); a provider changing the
    address of someone who signs in (EMAIL_KEPT_BY_PERSON).
    """
    email = _email_field_canonical(email)
    with transaction.atomic():
        person = _person_lock(person)
        # Read under the lock: a contact who has just set their password keeps their address.
        if by is not None and not by.is_staff and person.has_usable_password():
            raise ValidationError({"email": EMAIL_KEPT_BY_PERSON.format(person=person)})
        old_email = person.email
        if email == old_email:
            return EmailChanged(person=person, old_email=old_email, new_email=email)
        saved = _email_write(person=person, email=email, by=by)
        EmailChange.objects.filter(person=saved).delete()
        invited = _invitation_to_corrected_address(person=saved, organization=organization, by=by)
        notified = saved.has_usable_password() and _email_changed_notify(person=saved, old_email=old_email, by=by)
    return EmailChanged(
        person=saved, old_email=old_email, new_email=saved.email, invited=invited, notified=bool(notified)
    )


def _invitation_to_corrected_address(*, person: User, organization: Organization | None, by: User | None) -> bool:
    """Send the invitation again to a contact who has not set a password; whether it was queued."""
    if person.has_usable_password() or not person.is_active:
        return False
    roles = ContactRole.objects.filter(person=person, role__in=ACCESS_ROLES).select_related("organization")
    roles = sorted(
        roles, key=lambda r: (organization is None or r.organization_id != organization.pk, r.organization.name, r.role)
    )
    if not roles:
        return False
    log = invitation_send(person=person, organization=roles[0].organization, by=by, role=roles[0].role)
    return log.status == EmailLog.Status.QUEUED


# Bulk import -------------------------------------------------------------------------------

IMPORT_HAS_REFUSED_ROWS = (
    "Nothing was imported: {count} row(s) are refused. Correct them in the file and upload it again."
)
IMPORT_NOTHING_TO_DO = "Nothing to import: every row is already as the file says."
IMPORT_NOT_PREVIEWED = "This file was already imported (or its import undone); upload it again to import it anew."
IMPORT_ROW_FAILED = "Nothing was imported: row {row}: {error}"
IMPORT_NOT_APPLIED = "Only an import that was carried out can be undone; this one is {status}."
IMPORT_CHANGED_SINCE = (
    "This import can no longer be undone: {what} changed after it. Undo reverts an import only while nothing "
    "it touched has changed since; make the remaining corrections by hand."
)
IMPORT_OVERTAKEN = (
    "Nothing was imported: another change saved the same organizations or roles meanwhile. "
    "Read the preview again and confirm it if it still says what you want."
)
IMPORT_UNDONE_EMAIL = "Not sent: the import that caused it was undone."


@dataclass(frozen=True)
class ImportApplied:
    roster_import: RosterImport
    plan: ImportPlan
    organizations_created: int
    roles_created: int
    people_created: int


@dataclass(frozen=True)
class ImportUndone:
    roster_import: RosterImport
    organizations_deleted: int
    roles_removed: int
    people_deleted: int


def roster_import_stage(*, rows: Sequence[ImportRow], filename: str, by: User) -> RosterImport:
    """Keep the rows of an uploaded file for its preview and its confirmation (RosterImport, previewed).

    Nothing else is written: the preview plans what the rows would do each time it is shown.
    """
    stored = [[row.number, row.values] for row in rows]
    return RosterImport.objects.create(filename=filename, rows=stored, uploaded_by=by)


def roster_import_rows(roster_import: RosterImport) -> list[ImportRow]:
    return [ImportRow(number=number, values=values) for number, values in roster_import.rows]


@dataclass
class _ImportRecord:
    """What an import did, as its undo will need it."""

    organizations_created: list[int] = field(default_factory=list)
    people_created: list[int] = field(default_factory=list)
    roles_created: list[int] = field(default_factory=list)
    organizations_updated: dict[str, dict] = field(default_factory=dict)
    people_updated: dict[str, dict] = field(default_factory=dict)
    people: dict[str, User] = field(default_factory=dict)
    # Only what it changed: a row found unchanged neither names the import in History nor blocks its undo.
    touched: set[int] = field(default_factory=set)
    people_touched: set[int] = field(default_factory=set)

    def as_json(self) -> dict:
        return {
            "organizations_created": self.organizations_created,
            "people_created": self.people_created,
            "roles_created": self.roles_created,
            "organizations_updated": self.organizations_updated,
            "people_updated": self.people_updated,
            "organizations": sorted(self.touched),
            "people": sorted(self.people_touched),
        }


def _import_plan_checked(roster_import: RosterImport) -> ImportPlan:
    """The plan of the import's rows as of now, refused while a row is refused or when it would change nothing."""
    plan = import_plan(roster_import_rows(roster_import))
    if plan.refused:
        raise ValidationError(IMPORT_HAS_REFUSED_ROWS.format(count=len(plan.refused)))
    if not plan.changes_anything:
        raise ValidationError(IMPORT_NOTHING_TO_DO)
    return plan


def roster_import_queue(*, roster_import: RosterImport, by: User) -> RosterImport:
    """Confirm a previewed import: the worker carries it out (roster_import_apply), since thousands of rows
    take longer than a web request may.

    The rows are planned first, so a refused row is told at once and nothing is queued.
    """
    with transaction.atomic():
        roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if roster_import.status != RosterImport.Status.PREVIEWED:
            raise ValidationError(IMPORT_NOT_PREVIEWED)
        _import_plan_checked(roster_import)
        roster_import.status, roster_import.error = RosterImport.Status.QUEUED, ""
        roster_import.save(update_fields=["status", "error"])
        roster_import_run.enqueue(roster_import.pk, by.pk)
    return roster_import


@task()
def roster_import_run(import_id: int, by_id: int) -> str:
    """The worker's side of roster_import_queue: the import applied, or back to previewed with the reason."""
    roster_import, by = RosterImport.objects.get(pk=import_id), User.objects.get(pk=by_id)
    try:
        roster_import_apply(roster_import=roster_import, by=by)
    except (ValidationError, IntegrityError) as error:
        # IntegrityError: another import or edit committed the same organization or role meanwhile.
        reason = " ".join(error.messages) if isinstance(error, ValidationError) else IMPORT_OVERTAKEN
        RosterImport.objects.filter(pk=import_id, status=RosterImport.Status.QUEUED).update(
            status=RosterImport.Status.PREVIEWED, error=reason
        )
        return "refused"
    return "applied"


def roster_import_apply(*, roster_import: RosterImport, by: User) -> ImportApplied:
    """Carry out a previewed import, all of it in one transaction, or nothing.

    The rows are planned again (the database may have changed since the preview);
    while any is refused, nothing is written. Each row is written through the
    services above, so it keeps every rule they keep: the organization created with
    its Primary Contact, canonical addresses, one invitation for a person's first
    access. A refusal while writing (a late error) undoes every row before it.
    The History of every organization and person it changed names the import.
    """
    with transaction.atomic():
        roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if roster_import.status not in (RosterImport.Status.PREVIEWED, RosterImport.Status.QUEUED):
            raise ValidationError(IMPORT_NOT_PREVIEWED)
        plan = _import_plan_checked(roster_import)
        started, record = timezone.now(), _ImportRecord()
        for provider_id, rows in plan.by_organization().items():
            _import_organization(plan, provider_id, rows, record, by)
        roster_import.status, roster_import.error = RosterImport.Status.APPLIED, ""
        roster_import.applied_by, roster_import.applied_at = by, timezone.now()
        roster_import.changes = record.as_json()
        roster_import.save()
        roster_import.organizations.set(record.touched)
        _history_reason(roster_import, since=started, reason=roster_import.event)
    return ImportApplied(
        roster_import=roster_import,
        plan=plan,
        organizations_created=len(record.organizations_created),
        roles_created=len(record.roles_created),
        people_created=len(record.people_created),
    )


def _import_organization(plan: ImportPlan, provider_id: str, rows: list, record: _ImportRecord, by: User) -> None:
    organization = plan.organizations[provider_id]
    if organization is None:
        primary_row, rows = rows[0], rows[1:]  # by_organization puts a new organization's primary first
        primary = _import_person(plan, primary_row, record, by)
        details = plan.organization_details[provider_id]
        organization = _import_row(
            primary_row, organization_create, primary=primary, by=by, provider_id=provider_id, **details
        ).organization
        record.organizations_created.append(organization.pk)
        record.touched.add(organization.pk)
        record.people_touched.add(primary.pk)
    for row in rows:
        if row.organization_changes:
            record.touched.add(organization.pk)
            record.organizations_updated[str(organization.pk)] = {
                name: getattr(organization, name) for name in row.organization_changes
            }
            _import_row(row, organization_update, organization=organization, by=by, **row.organization_changes)
        person = _import_person(plan, row, record, by)
        if row.outcome == CREATED:
            change = _import_row(row, role_assign, organization=organization, person=person, role=row.role, by=by)
            record.roles_created.append(change.contact_role.pk)
            record.touched.add(organization.pk)
            record.people_touched.add(person.pk)


def _import_person(plan: ImportPlan, row, record: _ImportRecord, by: User) -> User:
    """The row's person, once per address: created when new, their details corrected when the file says so."""
    if row.email in record.people:
        return record.people[row.email]
    person = plan.people.get(row.email)
    if person is None:
        found = _import_row(row, person_get_or_create, email=row.email, by=by, **row.person_details)
        person = found.person
        if found.created:
            record.people_created.append(person.pk)
            record.people_touched.add(person.pk)
    elif row.person_changes:
        record.people_touched.add(person.pk)
        record.people_updated[str(person.pk)] = {name: getattr(person, name) for name in row.person_changes}
        person = _import_row(row, person_update, person=person, by=by, **row.person_changes)
    record.people[row.email] = person
    return person


def _import_row(row, service, **arguments):
    """One service call for one row; its refusal names the row, and rolls the whole import back."""
    try:
        return service(**arguments)
    except ValidationError as error:
        raise ValidationError(IMPORT_ROW_FAILED.format(row=row.number, error=" ".join(error.messages))) from None


def _history_reason(roster_import: RosterImport, *, since: datetime, reason: str) -> None:
    """Name the import (or its undo) on the history rows it wrote, where History shows why a change was made."""
    organizations, people = roster_import.changes["organizations"], roster_import.changes["people"]
    rows = [
        Organization.history.filter(id__in=organizations),
        ContactRole.history.filter(Q(organization_id__in=organizations) | Q(person_id__in=people)),
        User.history.filter(id__in=people),
    ]
    for history in rows:
        history.filter(history_date__gte=since, history_change_reason__isnull=True).update(history_change_reason=reason)


def _import_changed_since(roster_import: RosterImport) -> str | None:
    """What the import touched that changed after it, in words; None when nothing did."""
    after = roster_import.applied_at
    organizations, people = roster_import.changes["organizations"], roster_import.changes["people"]
    changed = Organization.history.filter(id__in=organizations, history_date__gt=after).first()
    if changed:
        return changed.name
    changed = (
        ContactRole.history.filter(Q(organization_id__in=organizations) | Q(person_id__in=people))
        .filter(history_date__gt=after)
        .first()
    )
    if changed:
        return f"the roster of {Organization.objects.filter(pk=changed.organization_id).first() or 'an organization'}"
    with_password = (
        User.objects.filter(pk__in=roster_import.changes["people_created"])
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .first()
    )
    if with_password:
        return f"the account of {with_password} (they set a password)"
    changed = User.history.filter(id__in=people, history_date__gt=after).first()
    if changed:
        return f"the details of {changed.instance}"
    return None


def roster_import_undo(*, roster_import: RosterImport, by: User) -> ImportUndone:
    """Revert an import while nothing it touched has changed since (IMPORT_CHANGED_SINCE otherwise).

    The roles it gave are removed (their holders are told, as always), the details it
    corrected are put back, the organizations and the people it created are deleted,
    and the invitations it queued that have not gone out yet are not sent.
    """
    with transaction.atomic():
        roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if roster_import.status != RosterImport.Status.APPLIED:
            raise ValidationError(IMPORT_NOT_APPLIED.format(status=roster_import.get_status_display().lower()))
        what = _import_changed_since(roster_import)
        if what:
            raise ValidationError(IMPORT_CHANGED_SINCE.format(what=what))
        started, changes = timezone.now(), roster_import.changes
        created = set(changes["organizations_created"])
        roles = ContactRole.objects.filter(pk__in=changes["roles_created"]).exclude(organization_id__in=created)
        roles = list(roles.select_related("organization", "person"))
        for contact_role in roles:
            role_remove(contact_role=contact_role, by=by)
        for pk, old in changes["organizations_updated"].items():
            organization_update(organization=Organization.objects.get(pk=pk), by=by, **old)
        for pk, old in changes["people_updated"].items():
            person_update(person=User.objects.get(pk=pk), by=by, **old)
        EmailLog.objects.filter(recipient__in=changes["people_created"], status=EmailLog.Status.QUEUED).update(
            status=EmailLog.Status.SUPPRESSED, error=IMPORT_UNDONE_EMAIL, next_attempt_at=None
        )
        for instance in [
            *Organization.objects.filter(pk__in=created),
            *User.objects.filter(pk__in=changes["people_created"]),
        ]:
            instance._history_user = by
            instance.delete()
        roster_import.status = RosterImport.Status.UNDONE
        roster_import.undone_by, roster_import.undone_at = by, timezone.now()
        roster_import.save()
        _history_reason(
            roster_import, since=started, reason=f"undo of the import from {roster_import.filename} by {by}"
        )
    return ImportUndone(
        roster_import=roster_import,
        organizations_deleted=len(created),
        roles_removed=len(roles),
        people_deleted=len(changes["people_created"]),
    )
