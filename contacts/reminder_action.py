"""The admin's "Send the update reminder" action: a page that says who will be emailed, then the send.

Like Django's "delete selected", the action answers its first POST with a
confirmation page that carries the selected ids, and sends only when that page
is posted back with post=yes. Both steps ask contacts.reminders.reminders_send,
with the rules of the send_contact_reminders command (stale contacts only, no
second reminder within the interval): the page is that function's dry run, so it
can never promise something the send would not do.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from contacts.reminders import reminders_send

# The admin lists this many organizations by name per message, then counts the rest.
NAMES_SHOWN = 10
NOBODY_DUE = "None of the selected organizations is due a reminder, so nothing will be sent."
REMINDERS_QUEUED = "Queued the update reminder to {count} (the worker sends them within a minute): {names}."
REMINDERS_SKIPPED = "Skipped {count}: {names}."


def _names(items) -> str:
    shown = ", ".join(str(item) for item in items[:NAMES_SHOWN])
    more = len(items) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _confirmation_page(modeladmin, request, queryset):
    preview = reminders_send(organizations=queryset, dry_run=True)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Send the update reminder?",
        "subtitle": None,
        "opts": opts,
        "preview": preview,
        "nobody_due": NOBODY_DUE,
        "selected_ids": [organization.pk for organization in queryset.only("pk")],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": "send_update_reminder_action",
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/contacts/organization/send_reminder_confirmation.html", context)


def _report(modeladmin, request, result) -> None:
    if result.queued:
        modeladmin.message_user(
            request, REMINDERS_QUEUED.format(count=len(result.queued), names=_names(result.queued)), messages.SUCCESS
        )
    if result.skipped:
        modeladmin.message_user(
            request, REMINDERS_SKIPPED.format(count=len(result.skipped), names=_names(result.skipped)), messages.WARNING
        )


@admin.action(description="Send the update reminder…", permissions=["change"])
def send_update_reminder_action(modeladmin, request, queryset):
    """First a page listing who will be emailed and who is skipped and why; its confirming POST sends."""
    if request.POST.get("post") != "yes":
        return _confirmation_page(modeladmin, request, queryset)
    _report(modeladmin, request, reminders_send(organizations=queryset))
    return None
