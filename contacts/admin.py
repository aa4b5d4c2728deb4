"""CME staff review organizations, their rosters and the emails sent, in the admin.

The roster inline keeps the site's invariants (exactly one Primary Contact, one
holder per singular role) and saves through contacts.services, like the site.
The list reads the fallbacks from the Organization methods, never recomputes them.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from contacts import exports, reporting, services
from contacts.emails import emails_resend
from contacts.import_admin import OrganizationImportMixin
from contacts.models import (
    SINGULAR_ROLES,
    ContactRole,
    EmailLog,
    Organization,
    Role,
    RosterImport,
    required_roles,
    stale_before,
)
from contacts.reminder_action import send_update_reminder_action
from contacts.services import PRIMARY_CANNOT_BE_REMOVED, PRIMARY_ROLE_FIXED, RosterRow
from pars import addresses
from pars.admin import BadLookupSafeChangeList, StaffModelAdmin, is_database_id
from pars.concurrency import ConcurrentEditFormMixin

User = get_user_model()

# "Jane Doe (primary — no billing contact)": the fallback, visible in the list.
FALLBACK_DISPLAY = "{person} (primary — no {missing})"
NO_PRIMARY = "The roster needs its Primary Contact."
SECOND_PRIMARY = (
    "An organization has exactly one Primary Contact. To hand the role over, "
    "choose the new person in the Primary Contact row instead of adding a second one."
)
ROLE_HELD_TWICE = "An organization has at most one {role}; the roster lists {people}."
PERSON_LISTED_TWICE = "{person} is listed more than once as {role}."
ROSTER_NOT_SAVED = "Nothing was saved: {error} Someone may have changed the roster meanwhile; check it and try again."
PRIMARY_CONTACT_HELP = (
    "Receives official communications and newsletters. A person who has not set a password "
    "is emailed the set-password link."
)


class PersonAutocomplete(AutocompleteSelect):
    """Django's person search; a form sent back with a person that is not an id (a stale or tampered page)
    shows again with its error, where Django would look the value up and fail with a 500."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if is_database_id(v)], attr)


ROLE_ORDER = Case(*(When(role=role, then=Value(i)) for i, role in enumerate(Role)), output_field=IntegerField())


class RosterFormSet(BaseInlineFormSet):
    """The whole roster, checked as it will be once saved.

    The formset holds every role of the organization, so the rules are checked
    on the result rather than row by row: swapping two people's roles is legal.
    The services check the database again when they save.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # A table cell has no <label>: name the checkbox for screen readers.
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = "Remove from the roster"

    def validate_unique(self):
        # The database checks of a single row would refuse a legal swap; clean() checks the result.
        pass

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = []
        for form in self.forms:
            if not form.cleaned_data:
                continue
            _refuse_primary_row_change(form)
            if not form.cleaned_data.get("DELETE"):
                kept.append((form.cleaned_data["person"], Role(form.cleaned_data["role"])))
        primaries = [person for person, role in kept if role == Role.PRIMARY]
        if not primaries:
            raise ValidationError(NO_PRIMARY)
        if len(primaries) > 1:
            raise ValidationError(SECOND_PRIMARY)
        errors = _singular_roles_held_twice(kept) + _people_listed_twice(kept)
        if errors:
            raise ValidationError(errors)

    def changes(self) -> dict:
        """The edit as plain data for services.roster_apply: rows removed, changed and added."""
        removed, changed, added = [], {}, []
        for form in self.initial_forms:
            if form.cleaned_data.get("DELETE"):
                removed.append(form.instance.pk)
            elif form.has_changed():
                changed[form.instance.pk] = RosterRow(form.cleaned_data["person"], form.cleaned_data["role"])
        for form in self.extra_forms:
            if form.has_changed() and not form.cleaned_data.get("DELETE"):
                added.append(RosterRow(form.cleaned_data["person"], form.cleaned_data["role"]))
        return {"removed": removed, "changed": changed, "added": added}


def _refuse_primary_row_change(form) -> None:
    """The Primary Contact row is never removed and keeps its role; only its person changes."""
    if form.instance.pk is None or form.initial.get("role") != Role.PRIMARY:
        return
    if form.cleaned_data.get("DELETE"):
        raise ValidationError(PRIMARY_CANNOT_BE_REMOVED)
    if form.cleaned_data["role"] != Role.PRIMARY:
        raise ValidationError(PRIMARY_ROLE_FIXED)


def _singular_roles_held_twice(kept) -> list[str]:
    errors = []
    for role in SINGULAR_ROLES:
        people = [person for person, held in kept if held == role]
        if len(people) > 1:
            errors.append(ROLE_HELD_TWICE.format(role=role.label, people=" and ".join(map(str, people))))
    return errors


def _people_listed_twice(kept) -> list[str]:
    errors, seen = [], set()
    for person, role in kept:
        if (person.pk, role) in seen and role not in SINGULAR_ROLES:
            errors.append(PERSON_LISTED_TWICE.format(person=person, role=role.label))
        seen.add((person.pk, role))
    return errors


class ContactRoleInline(admin.TabularInline):
    model = ContactRole
    fk_name = "organization"
    formset = RosterFormSet
    fields = ["person", "role", "email", "assigned_at", "assigned_by"]
    readonly_fields = ["email", "assigned_at", "assigned_by"]
    autocomplete_fields = ["person"]
    extra = 0
    verbose_name = "contact"
    verbose_name_plural = "Roster"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "role":
            # A table cell has no <label>: name the select for screen readers.
            kwargs["widget"] = forms.Select(attrs={"aria-label": "Role"})
        if db_field.name == "person":
            kwargs["widget"] = PersonAutocomplete(db_field, self.admin_site)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "assigned_by").order_by(ROLE_ORDER, "pk")

    @admin.display(description="Email")
    def email(self, contact_role):
        return contact_role.person.email if contact_role.pk else ""


class OrganizationChangeForm(ConcurrentEditFormMixin, forms.ModelForm):
    """An organization's fields: only those the editor changed are saved, and a real conflict is shown."""


class OrganizationAddForm(forms.ModelForm):
    """An organization is created together with its Primary Contact."""

    primary_contact = forms.ModelChoiceField(queryset=User.objects.all(), help_text=PRIMARY_CONTACT_HELP)


class ContactsConfirmedFilter(admin.SimpleListFilter):
    title = "contacts confirmed"
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        days = settings.CONTACTS_CONFIRM_PERIOD_DAYS
        return [("stale", f"Stale: over {days} days ago, or never"), ("current", f"Within {days} days")]

    def queryset(self, request, queryset):
        if self.value() == "stale":
            return queryset.stale()
        if self.value() == "current":
            return queryset.filter(contacts_confirmed_at__gte=stale_before())
        return queryset


class UnfilledRoleFilter(admin.SimpleListFilter):
    title = "unfilled role"
    parameter_name = "unfilled"

    def lookups(self, request, model_admin):
        return [(role.value, f"No {role.label}") for role in Role if role != Role.PRIMARY]

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.exclude(roles__role=self.value())
        return queryset


class RequiredContactsFilter(admin.SimpleListFilter):
    title = "required contacts"
    parameter_name = "required"

    def lookups(self, request, model_admin):
        return [
            ("missing", "A required role is not filled"),
            ("incomplete", "Incomplete (a required role missing, or not confirmed)"),
            ("complete", "Complete"),
        ]

    def queryset(self, request, queryset):
        filters = {"missing": "missing_required", "incomplete": "incomplete", "complete": "complete"}
        if self.value() in filters:
            return getattr(queryset, filters[self.value()])()
        return queryset


class PrimaryChangedFilter(admin.SimpleListFilter):
    title = "primary changed"
    parameter_name = "primary_changed"
    DAYS = (7, 30, 90)

    def lookups(self, request, model_admin):
        return [
            ("not_welcomed", "New primary not yet welcomed"),
            *[(str(days), f"Primary changed in the last {days} days") for days in self.DAYS],
        ]

    def queryset(self, request, queryset):
        if self.value() == "not_welcomed":
            return queryset.primary_not_welcomed()
        if self.value() in {str(days) for days in self.DAYS}:
            return queryset.primary_changed_since(timezone.now() - timedelta(days=int(self.value())))
        return queryset


WELCOMED = "Marked as welcomed by you: {count}."
ALREADY_WELCOMED = "Already welcomed, left as they were: {names}."


@admin.action(description="Mark the new primary contact as welcomed", permissions=["change"])
def mark_primary_welcomed(modeladmin, request, queryset):
    result = services.primary_welcome_record(organizations=list(queryset), by=request.user)
    if result.welcomed:
        modeladmin.message_user(request, WELCOMED.format(count=len(result.welcomed)), messages.SUCCESS)
    if result.skipped:
        names = ", ".join(organization.name for organization in result.skipped)
        modeladmin.message_user(request, ALREADY_WELCOMED.format(names=names), messages.WARNING)


def _export_action(name: str, rows, description: str):
    """An action downloading one list as CSV; exporting is viewing, so reviewers may."""

    @admin.action(description=description, permissions=["view"])
    def export(modeladmin, request, queryset):
        return exports.csv_response(name, rows(queryset))

    export.__name__ = f"export_{name.replace('-', '_')}"
    return export


export_newsletter_list = _export_action(
    "newsletter-list", exports.newsletter_rows, "Export newsletter list (primary contacts)"
)
export_invoice_list = _export_action(
    "invoice-list", exports.invoice_rows, "Export invoice list (billing contact, else primary)"
)
export_directory_list = _export_action(
    "directory-list", exports.directory_rows, "Export directory list (published contacts)"
)


def _with_fallback(person, is_fallback, missing: Role) -> str:
    if person is None:
        return "—"
    return FALLBACK_DISPLAY.format(person=person, missing=missing.label.lower()) if is_fallback else str(person)


@admin.register(Organization)
class OrganizationAdmin(OrganizationImportMixin, StaffModelAdmin):
    """Organizations with their rosters. Reviewers view; editors change; the roster saves through the services."""

    # The roster changed since the page was loaded.
    service_refused_message = ROSTER_NOT_SAVED

    # Short headers: the columns are many, and a header never wraps.
    list_display = [
        "name",
        "provider_id",
        "accreditation_status",
        "primary",
        "billing",
        "published",
        "confirmed",
        "unfilled",
        "completeness",
    ]
    list_filter = [
        "accreditation_status",
        "accreditor",
        ContactsConfirmedFilter,
        UnfilledRoleFilter,
        RequiredContactsFilter,
        PrimaryChangedFilter,
    ]
    search_fields = [
        "name",
        "provider_id",
        "city",
        "roles__person__first_name",
        "roles__person__last_name",
        "roles__person__email",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "provider_id",
                    "accreditor",
                    "accreditation_status",
                    ("accreditation_start", "accreditation_end"),
                    "listed_in_directory",
                ]
            },
        ),
        ("Address and phone", {"fields": ["street_address", "city", ("state", "zip_code"), "phone", "website"]}),
        ("Contacts confirmed", {"fields": ["contacts_confirmed_at", "contacts_confirmed_by"]}),
    ]
    readonly_fields = ["contacts_confirmed_at", "contacts_confirmed_by"]
    form = OrganizationChangeForm
    change_form_template = "admin/concurrent_change_form.html"
    inlines = [ContactRoleInline]
    actions = [
        export_newsletter_list,
        export_invoice_list,
        export_directory_list,
        send_update_reminder_action,
        mark_primary_welcomed,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_roster()

    def get_search_results(self, request, queryset, search_term):
        # A contact's address is searched by its canonical form, the one stored.
        return super().get_search_results(request, queryset, addresses.search_term(search_term))

    def get_actions(self, request):
        # An organization is never deleted in bulk: a superuser deletes one from its own page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "website":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    # The list

    @admin.display(description="Primary")
    def primary(self, organization):
        return organization.primary_contact or "—"

    @admin.display(description="Billing")
    def billing(self, organization):
        recipient = organization.invoice_recipient()
        if recipient.is_fallback and recipient.person and recipient.role != Role.PRIMARY:
            return f"{recipient.person} ({recipient.reason})"  # past a bouncing address, to the CEO
        if recipient.is_fallback and recipient.person and "bounces" in recipient.reason:
            return f"{recipient.person} (primary — {recipient.reason})"
        return _with_fallback(*recipient, missing=Role.BILLING)

    @admin.display(description="Website")
    def published(self, organization):
        return _with_fallback(*organization.published_contact(), missing=Role.WEBSITE)

    @admin.display(description="Confirmed", ordering="contacts_confirmed_at")
    def confirmed(self, organization):
        if organization.contacts_confirmed_at is None:
            return "Never"
        day = date_format(timezone.localtime(organization.contacts_confirmed_at), "M j, Y")
        return f"{day} (stale)" if organization.contacts_are_stale else day

    @admin.display(description="Unfilled")
    def unfilled(self, organization):
        # The count to sort by eye, and the roles by name, as the dashboard names them.
        roles = organization.unfilled_roles()
        names = ", ".join(role.label for role in roles)
        return format_html("<strong>{}</strong>{}", len(roles), f": {names}" if roles else "")

    @admin.display(description="Complete")
    def completeness(self, organization):
        """Complete, or what is missing: the required roles nobody holds ("Needed"), a stale confirmation."""
        missing = [f"Needed: {role.label}" for role in organization.missing_required_roles()]
        if organization.contacts_are_stale:
            missing.append("not confirmed")
        return "; ".join(missing) if missing else "Complete"

    # Adding: the organization comes with its Primary Contact

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return super().get_fieldsets(request, obj)
        main, address, _confirmed = self.fieldsets
        return [(None, {"fields": [*main[1]["fields"][:2], "primary_contact", *main[1]["fields"][2:]]}), address]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OrganizationAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.base_fields["primary_contact"] = self._primary_contact_field(request)
        return form

    def _primary_contact_field(self, request):
        person = ContactRole._meta.get_field("person")
        field = forms.ModelChoiceField(
            queryset=User.objects.all(),
            label="Primary contact",
            help_text=PRIMARY_CONTACT_HELP,
            widget=PersonAutocomplete(person, self.admin_site),
        )
        user_admin = self.admin_site.get_model_admin(User)
        field.widget = RelatedFieldWidgetWrapper(
            field.widget,
            person.remote_field,
            self.admin_site,
            can_add_related=user_admin.has_add_permission(request) and user_admin.has_change_permission(request),
            can_change_related=False,
            can_delete_related=False,
            can_view_related=False,
        )
        return field

    # Saving: through the services

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        # Adding: the organization is created with its Primary Contact by the service, and the
        # admin goes on (logging, redirecting) with the organization the service made.
        fields = {
            f.name: form.cleaned_data[f.name] for f in Organization._meta.concrete_fields if f.name in form.cleaned_data
        }
        primary = form.cleaned_data["primary_contact"]
        return services.organization_create(primary=primary, by=request.user, **fields).organization

    def save_model(self, request, obj, form, change):
        if change:
            # Only the fields this editor changed: a confirmation or another edit saved meanwhile stays.
            services.organization_update(
                organization=obj, by=request.user, baseline=form.baseline(), since=form.opened_at(), **form.changes()
            )

    def save_related(self, request, form, formsets, change):
        # Adding, organization_create saved it all: the add form has no inlines, the model no many-to-many.
        if change:
            super().save_related(request, form, formsets, change)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, RosterFormSet):
            super().save_formset(request, form, formset, change)
            return
        applied = services.roster_apply(organization=form.instance, by=request.user, **formset.changes())
        # What Django's change message reads from a formset it saved itself.
        formset.deleted_objects = applied.removed
        formset.changed_objects = [
            (f.instance, f.changed_data)
            for f in formset.initial_forms
            if f.has_changed() and not f.cleaned_data.get("DELETE")
        ]
        formset.new_objects = applied.added

    # The Reporting-year page: the yearly cycle as counts, charts and a CSV

    def get_urls(self):
        reporting = path(
            "reporting-year/",
            self.admin_site.admin_view(self.reporting_year_view),
            name="contacts_organization_reporting_year",
        )
        return [reporting, *super().get_urls()]

    def reporting_year_view(self, request):
        """For every CME staff member who may view organizations, reviewers included; ?csv=1 downloads the
        organizations not yet confirmed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        year = reporting.reporting_year(request.GET.get("year"))
        if request.GET.get("csv"):
            rows = exports.not_confirmed_rows(reporting.not_confirmed(year))
            return exports.csv_response(f"not-confirmed-{year}", rows, exports.not_confirmed_columns())
        result = reporting.report(year)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reporting year {year}",
            "opts": self.model._meta,
            "report": result,
            "weekly": reporting.weekly_chart(result.weeks),
            "shares": reporting.share_chart(result.shares),
            "years": list(range(timezone.localdate().year, timezone.localdate().year - 5, -1)),
            "required_roles": [role.label for role in required_roles()],
        }
        return TemplateResponse(request, "admin/contacts/organization/reporting_year.html", context)

    # History: the organization's, with its roster's

    object_history_template = "admin/contacts/organization/object_history.html"

    def history_view(self, request, object_id, extra_context=None):
        try:
            organization_id = int(unquote(object_id))
        except ValueError:
            raise Http404 from None
        roster_history = (
            ContactRole.history.filter(organization_id=organization_id)
            .select_related("history_user", "person")
            .order_by("-history_date", "-history_id")[:200]
        )
        # Each import that created or changed it, by whom and from which file, with a link to its undo.
        imports = RosterImport.objects.filter(organizations=organization_id, status__in=["applied", "undone"])
        imports = imports.select_related("applied_by", "undone_by").defer("rows", "changes")
        context = {**(extra_context or {}), "roster_history": roster_history, "imports": imports}
        return super().history_view(request, object_id, context)


EMAILS_RESENT = "Queued again: {count} (the worker sends them within a minute)."
NOT_FAILED_NOT_RESENT = "Not queued again: {count} that had not failed (only a failed email can be sent again)."


@admin.action(description="Send the failed emails again", permissions=["resend"])
def resend_failed_emails(modeladmin, request, queryset):
    resent = emails_resend(logs=list(queryset), by=request.user)
    if resent:
        modeladmin.message_user(request, EMAILS_RESENT.format(count=len(resent)), messages.SUCCESS)
    others = queryset.count() - len(resent)
    if others:
        modeladmin.message_user(request, NOT_FAILED_NOT_RESENT.format(count=others), messages.WARNING)


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    """Every email the system sent or tried to send, read-only for everyone; CME editors may resend a failed one."""

    # Status and date first: on a narrow screen the long subject, not the outcome, goes off-screen.
    list_display = ["sent_at", "status", "attempts", "next_attempt_at", "kind", "to_email", "organization", "subject"]
    list_filter = ["kind", "status"]
    search_fields = ["to_email", "subject"]
    list_select_related = ["organization"]
    date_hierarchy = "sent_at"
    fields = [
        "kind",
        "to_email",
        "recipient",
        "organization",
        "subject",
        "status",
        "error",
        "attempts",
        "queued_at",
        "next_attempt_at",
        "claimed_until",
        "sent_at",
    ]  # Not the body: an invitation or reset email holds a live set-password link.
    actions = [resend_failed_emails]

    def has_resend_permission(self, request):
        # change_emaillog means "may queue a failed email again"; no one edits a log row.
        return request.user.has_perm("contacts.change_emaillog")

    def get_changelist(self, request, **kwargs):
        return BadLookupSafeChangeList

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
