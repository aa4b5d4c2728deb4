"""Notices to the person a change affects: a role given, a role taken away, their details changed.

Each is queued once, by the service that makes the change, in its transaction
(contacts.emails), and names the support address for "this was not me".
A role that is the person's first access sends the invitation instead (which
already names the role); a hand-over of the Primary Contact sends its own emails.
"""

from django.contrib.auth import get_user_model

from contacts.emails import absolute_url, email_send
from contacts.models import ACCESS_ROLES, ROLE_PURPOSES, ContactRole, EmailLog, Role

User = get_user_model()

# The person's details a notice reports when someone else changes them.
NOTICED_FIELDS = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]


def role_added_notify(*, contact_role: ContactRole, by) -> EmailLog:
    organization = contact_role.organization
    role = Role(contact_role.role)
    return email_send(
        kind=EmailLog.Kind.ROLE_ADDED,
        to=contact_role.person,
        subject=f"You are now {role.label} of {organization}",
        template="role_added",
        context={
            "by": by,
            "role_label": role.label,
            "role_purpose": ROLE_PURPOSES[role],
            "profile_url": absolute_url(organization.get_absolute_url()),
        },
        organization=organization,
    )


def role_removed_notify(*, contact_role: ContactRole, by) -> EmailLog:
    """Call after the row is deleted: whether the person lost access reads what they still hold."""
    person, organization = contact_role.person, contact_role.organization
    lost_access = (
        contact_role.role in ACCESS_ROLES
        and not ContactRole.objects.filter(person=person, role__in=ACCESS_ROLES).exists()
    )
    return email_send(
        kind=EmailLog.Kind.ROLE_REMOVED,
        to=person,
        subject=f"You are no longer {Role(contact_role.role).label} of {organization}",
        template="role_removed",
        context={"by": by, "role_label": Role(contact_role.role).label, "lost_access": lost_access},
        organization=organization,
    )


def details_changes(before: dict, person) -> list[dict]:
    """What changed between `before` (field -> value) and the person now, with each field's label."""
    return [
        {
            "label": User._meta.get_field(name).verbose_name.capitalize(),
            "old": before[name],
            "new": getattr(person, name),
        }
        for name in NOTICED_FIELDS
        if name in before and before[name] != getattr(person, name)
    ]


def details_changed_notify(*, person, changes: list[dict], by) -> EmailLog | None:
    """Tell the person what someone else changed; nothing when they changed it themselves or nothing changed."""
    if not changes or by is None or by.pk == person.pk:
        return None
    return email_send(
        kind=EmailLog.Kind.DETAILS_CHANGED,
        to=person,
        subject="Your contact details were changed",
        template="details_changed",
        context={"by": by, "changes": changes},
    )
