"""People in the admin: CME staff find a person, see the roles they hold, and invite them."""

from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.merge_admin import PersonMergeAdminMixin, merge_people
from contacts import services
from contacts.forms import EmailOfNobodyElseMixin
from contacts.models import ACCESS_ROLES, ContactRole, EmailLog
from pars import addresses
from pars.addresses import EmailAddressField
from pars.admin import IdsChoiceField, StaffModelAdmin
from pars.concurrency import ConcurrentEditFormMixin

User = get_user_model()

# Only superusers grant access: for everyone else these stay read-only.
PERMISSION_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")

INVITATIONS_QUEUED = "Invitation queued for {people}; it will be sent within a minute (the email log shows when)."
INVITATIONS_SUPPRESSED = "Not sent to {people}: {reason}"
NOT_INVITED = "Not invited, as they hold no role that lets them sign in: {people}."
PERSON_NOT_SAVED = "Nothing was saved: {error} Check the person and try again."
TWO_FACTOR_RESET_DONE = (
    "Two-factor sign-in reset for {people}: signed out everywhere, they set it up again at their next sign-in."
)

# django-otp's own device pages would show superusers every person's secret as a QR code;
# the one thing staff need, a reset after a lost phone, is the people list's action below.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


class UserCreationForm(auth_forms.AdminUserCreationForm):
    """A person by email address; a contact may be added without a password and invited later."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "credentials", "job_title", "phone")
        field_classes = {"email": EmailAddressField}


class UserChangeForm(EmailOfNobodyElseMixin, ConcurrentEditFormMixin, auth_forms.UserChangeForm):
    """Only the fields the editor changed are saved, and a real conflict is shown (pars.concurrency).

    A new email address takes effect at once (contacts.services.person_email_correct).
    """

    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": EmailAddressField}


class BouncingFilter(admin.SimpleListFilter):
    title = "email"
    parameter_name = "bouncing"

    def lookups(self, request, model_admin):
        return [("yes", "Bouncing"), ("no", "Not bouncing")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(email_bouncing_since__isnull=self.value() == "no")
        return queryset


class HasSetPasswordFilter(admin.SimpleListFilter):
    title = "password"
    parameter_name = "has_set_password"

    def lookups(self, request, model_admin):
        return [("yes", "Set"), ("no", "Not set (invited, cannot sign in yet)")]

    def queryset(self, request, queryset):
        unusable = {"password__startswith": "!"}
        if self.value() == "yes":
            return queryset.exclude(**unusable)
        if self.value() == "no":
            return queryset.filter(**unusable)
        return queryset


def _names(people) -> str:
    return ", ".join(f"{person} <{person.email}>" for person in people)


@admin.action(description="Send invitation / set-password email", permissions=["change"])
def send_invitation(modeladmin, request, queryset):
    """Email each person the set-password link, naming the first organization they may sign in to.

    Each email is queued (a worker sends it), or suppressed when the person had
    as many invitations as the limit allows; the message says which.
    """
    queued, suppressed, skipped = [], {}, []
    for person in queryset:
        first_role = (
            ContactRole.objects.filter(person=person, role__in=ACCESS_ROLES, person__is_active=True)
            .select_related("organization")
            .order_by("organization__name", "organization_id")
            .first()
        )
        if first_role is None:
            skipped.append(person)
            continue
        log = services.invitation_send(person=person, organization=first_role.organization, by=request.user)
        if log.status == EmailLog.Status.SUPPRESSED:
            suppressed.setdefault(log.error, []).append(person)
        else:
            queued.append(person)
    if queued:
        modeladmin.message_user(request, INVITATIONS_QUEUED.format(people=_names(queued)), messages.SUCCESS)
    for reason, people in suppressed.items():
        modeladmin.message_user(
            request, INVITATIONS_SUPPRESSED.format(people=_names(people), reason=reason), messages.WARNING
        )
    if skipped:
        modeladmin.message_user(request, NOT_INVITED.format(people=_names(skipped)), messages.WARNING)


@admin.action(description="Reset two-factor sign-in (lost phone)", permissions=["two_factor_reset"])
def two_factor_reset(modeladmin, request, queryset):
    """Superusers: remove each person's authenticator and backup codes; logged in the admin's history."""
    people = list(queryset)
    for person in people:
        account_services.two_factor_reset(person=person, by=request.user)
    modeladmin.message_user(request, TWO_FACTOR_RESET_DONE.format(people=_names(people)), messages.SUCCESS)


@admin.register(User)
class UserAdmin(PersonMergeAdminMixin, StaffModelAdmin, DjangoUserAdmin):
    """People: contacts and CME staff. Editors change contacts and merge duplicates; only superusers change
    staff accounts."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_form_template = "admin/concurrent_change_form.html"
    # The address can be taken meanwhile, or a field changed under a conflict.
    service_refused_message = PERSON_NOT_SAVED
    fieldsets = (
        (None, {"fields": ("email", "merged", "email_bouncing_since", "password")}),
        ("Contact details", {"fields": ("first_name", "last_name", "credentials", "job_title", "phone")}),
        ("Contact roles", {"fields": ("roles_held",)}),
        ("Permissions", {"fields": PERMISSION_FIELDS}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "first_name",
                    "last_name",
                    "credentials",
                    "job_title",
                    "phone",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = ("email", "first_name", "last_name", "credentials", "is_staff", "has_set_password", "bouncing")
    list_filter = (HasSetPasswordFilter, BouncingFilter, "is_staff", "is_superuser", "is_active", "groups")
    # merged_people__email: a merged duplicate's address is an alias that finds the person kept.
    search_fields = ("email", "first_name", "last_name", "merged_people__email")
    ordering = ("last_name", "first_name", "email")
    actions = [send_invitation, two_factor_reset, merge_people]

    @admin.display(description="Email bounces", ordering="email_bouncing_since")
    def bouncing(self, person):
        since = person.email_bouncing_since
        return f"Bouncing since {date_format(timezone.localtime(since), 'M j, Y')}" if since else ""

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # A new address is corrected at once, logged in the person's history as changed by this editor.
        services.person_staff_update(
            person=obj, by=request.user, baseline=form.baseline(), since=form.opened_at(), **form.changes()
        )
        return None

    def get_search_results(self, request, queryset, search_term):
        # An address is searched by its canonical form, the one stored: "Jane@Example.ORG" finds jane@example.org.
        if request.path == reverse("admin:autocomplete"):
            # Choosing a role holder: a merged duplicate takes no role; its address finds the person kept.
            queryset = queryset.filter(merged_into__isnull=True)
        return super().get_search_results(request, queryset, addresses.search_term(search_term))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", IdsChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_two_factor_reset_permission(self, request):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        readonly = ("roles_held", "merged", "last_login", "date_joined", "email_bouncing_since")
        return readonly if request.user.is_superuser else readonly + PERMISSION_FIELDS

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.merged_into_id:
            return False  # a merged duplicate is a closed record: its address is the kept person's alias
        # Changing a staff account (or its password) would hand its access to someone else.
        if (
            obj is not None
            and (obj.is_staff or obj.is_superuser)
            and obj != request.user
            and not request.user.is_superuser
        ):
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="Merged")
    def merged(self, person):
        """A closed duplicate names the person kept; the person kept lists the addresses merged into them."""
        if person.merged_into_id:
            kept = person.merged_into
            url = reverse("admin:accounts_user_change", args=[kept.pk])
            return format_html(
                'Merged into <a href="{}">{} &lt;{}&gt;</a>: this duplicate is closed', url, kept, kept.email
            )
        aliases = person.merged_people.order_by("email").values_list("email", flat=True)
        return f"Duplicates merged in (their addresses find this person): {', '.join(aliases)}" if aliases else "—"

    @admin.display(boolean=True, description="Has set password")
    def has_set_password(self, obj):
        return obj.has_set_password

    @admin.display(description="Roles held")
    def roles_held(self, obj):
        roles = obj.contact_roles.select_related("organization").order_by("organization__name", "role")
        if not roles:
            return "None"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td></tr>',
            (
                (
                    reverse("admin:contacts_organization_change", args=[role.organization_id]),
                    role.organization,
                    role.get_role_display(),
                )
                for role in roles
            ),
        )
        return format_html(
            '<table class="roles-held"><thead><tr><th scope="col">Organization</th><th scope="col">Role</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )
