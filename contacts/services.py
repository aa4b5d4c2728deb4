"""Every write that touches the roster goes through one of these functions.

The site, the admin, the management commands and the demo data all call them,
so each rule of the roster exists once. Each refuses an illegal request with a
ValidationError that carries a readable message.

A role that gives a person their first access queues the invitation email; it
goes out when the transaction commits (contacts.emails), so a change that is
rolled back invites nobody. The returned role (or organization) says whether
this call queued one in its `invited` attribute, for the page that reports it;
contact_add's role also says whether the email was new (`person_created`).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from contacts.emails import absolute_url, email_send
from contacts.models import ACCESS_ROLES, ContactRole, EmailLog, Organization, Role
from pars.addresses import email_canonical
from pars.concurrency import changes_save

User = get_user_model()

PRIMARY_CANNOT_BE_REMOVED = "The Primary Contact cannot be removed. Hand the role over to someone else first."
PRIMARY_ONLY_BY_TRANSFER = "The Primary Contact changes only by handing the role over."
ALREADY_PRIMARY = "{person} is already the Primary Contact."
ROLE_ALREADY_FILLED = "{organization} already has a {role}: {person}. Replace them instead."
ROLE_ALREADY_HELD = "{person} already holds the {role} role at {organization}."
NOT_A_ROLE = "“{role}” is not a contact role."
ROLE_ALREADY_REMOVED = "{person} no longer held the {role} role: someone removed it meanwhile."


def _lock(organization: Organization) -> Organization:
    """Serialize roster changes of one organization on its row."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _save(instance, by):
    instance._history_user = by
    instance.full_clean()
    instance.save()
    return instance


def organization_create(*, primary, by=None, **fields) -> Organization:
    """Create an organization together with its Primary Contact, in one transaction."""
    with transaction.atomic():
        organization = _save(Organization(**fields), by)
        primary_role = _role_create(organization=organization, person=primary, role=Role.PRIMARY, by=by)
        organization.invited = primary_role.invited
    return organization


def organization_update(
    *, organization: Organization, by, baseline: dict | None = None, since=None, **fields
) -> Organization:
    """Write the given fields, and only those: a confirmation or a hand-over saved meanwhile stays.

    baseline (field -> text, from the editor's form, opened at `since`): a field someone
    else changed since raises pars.concurrency.EditConflict, and nothing is written.
    """
    for name, value in fields.items():
        setattr(organization, name, value)
    return changes_save(instance=organization, changes=fields, baseline=baseline or {}, by=by, since=since).instance


def person_get_or_create(*, email: str, by=None, **details) -> tuple:
    """The person with this email (in its canonical form), else a new one without a password.

    `by`, who is adding them, is recorded in the new person's history. Two
    requests creating the same person at once both get them: the insert runs
    in a savepoint, and the one that meets the unique constraint reads the row
    the other made.
    """
    try:
        email = email_canonical(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    person = User.objects.filter(email=email).first()
    if person:
        return person, False
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
        existing = User.objects.filter(email=email).first()
        if existing is None:
            raise
        return existing, False
    return person, True


def _role_create(*, organization, person, role, by) -> ContactRole:
    """Insert one role row, and invite the person if it is their first access; the caller holds the lock."""
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
    return _invite(contact_role, organization=organization, first_access=first_access, by=by)


def _conflict(organization, person, role) -> str | None:
    label = Role(role).label
    if ContactRole.objects.filter(organization=organization, person=person, role=role).exists():
        return ROLE_ALREADY_HELD.format(person=person, role=label, organization=organization)
    if role != Role.STAFF:
        holder = ContactRole.objects.filter(organization=organization, role=role).select_related("person").first()
        if holder:
            return ROLE_ALREADY_FILLED.format(organization=organization, role=label, person=holder.person)
    return None


def _check_role(role):
    if role not in Role.values:
        raise ValidationError(NOT_A_ROLE.format(role=role))
    if role == Role.PRIMARY:
        raise ValidationError(PRIMARY_ONLY_BY_TRANSFER)


def _grants_first_access(person, role) -> bool:
    """True when this role is the person's first that lets them sign in."""
    return (
        role in ACCESS_ROLES
        and not person.has_usable_password()
        and not ContactRole.objects.filter(person=person, role__in=ACCESS_ROLES).exists()
    )


def _invite(contact_role: ContactRole, *, organization, first_access: bool, by) -> ContactRole:
    """Queue the invitation when the role is its holder's first access, and say so on the role."""
    contact_role.invited = first_access
    if first_access:
        invitation_send(person=contact_role.person, organization=organization, by=by)
    return contact_role


def role_assign(*, organization: Organization, person, role: str, by) -> ContactRole:
    """Give a person a role; a new contact with access gets the invitation email."""
    _check_role(role)
    with transaction.atomic():
        organization = _lock(organization)
        return _role_create(organization=organization, person=person, role=role, by=by)


def contact_add(*, organization: Organization, email: str, role: str, by, **details) -> ContactRole:
    """Add a contact by email: the known person if the email is known, else a new one.

    details: first_name, last_name, credentials, job_title, phone (used only for a new person).
    """
    _check_role(role)
    with transaction.atomic():
        person, created = person_get_or_create(email=email, by=by, **details)
        contact_role = role_assign(organization=organization, person=person, role=role, by=by)
    contact_role.person_created = created
    return contact_role


def role_replace(*, organization: Organization, role: str, to, by) -> ContactRole:
    """Put `to` in a singular role, replacing its holder if there is one."""
    if role == Role.PRIMARY:
        return primary_contact_transfer(organization=organization, to=to, by=by)
    _check_role(role)
    if role == Role.STAFF:
        raise ValidationError("Staff has no single holder to replace; add or remove staff instead.")
    with transaction.atomic():
        organization = _lock(organization)
        current = ContactRole.objects.filter(organization=organization, role=role).first()
        if current and current.person_id == to.pk:
            raise ValidationError(ROLE_ALREADY_HELD.format(person=to, role=Role(role).label, organization=organization))
        if current:
            current._history_user = by
            current.delete()
        return _role_create(organization=organization, person=to, role=role, by=by)


def role_remove(*, contact_role: ContactRole, by) -> None:
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


def primary_contact_transfer(*, organization: Organization, to, by) -> ContactRole:
    """Hand the Primary Contact role to `to`; both the previous and the new primary are emailed.

    The organization's row is locked first, so two hand-overs at the same moment
    run one after the other and end with one primary. The primary row is updated
    in place: there is never a moment with none or two. The returned role's
    `previous` is the primary it replaced, as read under the lock.
    """
    with transaction.atomic():
        organization = _lock(organization)
        current = ContactRole.objects.select_related("person").get(organization=organization, role=Role.PRIMARY)
        previous = current.person
        if previous.pk == to.pk:
            raise ValidationError(ALREADY_PRIMARY.format(person=to))
        first_access = _grants_first_access(to, Role.PRIMARY)
        current.person = to
        current.assigned_by = by
        current.assigned_at = timezone.now()
        current._history_user = by
        current.save()
        current.previous = previous
        _invite(current, organization=organization, first_access=first_access, by=by)
        subject = f"Primary Contact for {organization} changed"
        context = {
            "previous": previous,
            "new": to,
            "by": by,
            "profile_url": absolute_url(organization.get_absolute_url()),
        }
        for recipient in (previous, to):
            email_send(
                kind=EmailLog.Kind.PRIMARY_HANDOVER,
                to=recipient,
                subject=subject,
                template="primary_handover",
                context=context,
                organization=organization,
            )
    return current


def contacts_confirm(*, organization: Organization, by) -> Organization:
    """Record that `by` confirmed the organization's contacts are current, now."""
    with transaction.atomic():
        organization = _lock(organization)
        organization.contacts_confirmed_at = timezone.now()
        organization.contacts_confirmed_by = by
        return _save(organization, by)


def invitation_url(person) -> str:
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return absolute_url(reverse("accounts:invitation", args=[uid, token]))


def invitation_send(*, person, organization: Organization, by) -> EmailLog:
    """Email the "system access granted — set your password" link, once the transaction commits."""
    return email_send(
        kind=EmailLog.Kind.INVITATION,
        to=person,
        subject="PARS contacts: system access granted — set your password",
        template="invitation",
        context={"invitation_url": invitation_url(person), "by": by},
        organization=organization,
    )
