"""The admin index's work queue: what CME staff have yet to act on."""

from django import template
from django.urls import reverse

from contacts.models import Organization

register = template.Library()


@register.simple_tag(takes_context=True)
def new_primaries_not_welcomed(context) -> dict | None:
    """How many organizations' new Primary Contacts CME staff have not welcomed, with the filtered list's URL.

    None for staff who may not see organizations.
    """
    if not context["request"].user.has_perm("contacts.view_organization"):
        return None
    return {
        "count": Organization.objects.primary_not_welcomed().count(),
        "url": reverse("admin:contacts_organization_changelist") + "?primary_changed=not_welcomed",
    }
