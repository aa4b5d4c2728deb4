"""Provider pages. Every organization page is scoped by OrganizationAccessMixin."""

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.generic import FormView, TemplateView, UpdateView, View

from contacts import services
from contacts.caching import roster_fragment
from contacts.emails import invitations_latest
from contacts.forms import (
    ContactAddForm,
    KeepAsStaffForm,
    OrganizationForm,
    PersonChooseForm,
    PersonForm,
    service_errors_add,
)
from contacts.history import Cursor, history_newer_start, history_page
from contacts.models import (
    ACCESS_ROLES,
    ROLE_PURPOSES,
    ContactRole,
    EmailLog,
    Organization,
    Role,
    details_shared_elsewhere,
)
from pars.concurrency import EditConflict
from pars.pagination import page_number

User = get_user_model()

CONTACTS_CONFIRMED = "Thank you: the contacts of {organization} are confirmed as current."
ORGANIZATION_SAVED = "The details of {organization} are saved."
INVITATION_ON_ITS_WAY = "An invitation to set a password is queued for {email} and will be sent within a minute."
CONTACT_INVITED = INVITATION_ON_ITS_WAY + " {person} is now {role}."
CONTACT_KNOWN = "{email} already had an account; the role was added. {person} is now {role}."
INVITATION_QUEUED_AGAIN = "A new invitation to {email} is queued and will be sent within a minute."
INVITATION_SUPPRESSED = "The invitation to {email} was not queued. {reason}"
ALSO_INVITED = "An invitation to set a password is queued for them and will be sent within a minute."
ROLE_ASSIGNED = "{person} is now {role}."
ROLE_REMOVED = "{person} no longer holds the {role} role."
SELF_LOST_ACCESS = "You are no longer a contact of {organization} and cannot see it any more."
PRIMARY_TRANSFERRED = (
    "{new} is now the Primary Contact. A notice of the change to {new} and {previous} is queued"
    " and will be sent within a minute."
)
PERSON_SAVED = "The details of {person} are saved."


class OrganizationAccessMixin(LoginRequiredMixin):
    """The access rule for every organization page, stated once.

    An anonymous visitor is sent to sign in. A signed-in person sees the
    organization only while they hold a role there that grants access
    (Organization.objects.for_user); anyone else, a former contact included,
    gets 404, never a page that proves the organization exists. CME staff are
    not special here: they review organizations in the admin.

    A view narrows or widens what is loaded with organization_queryset(); the
    scope of for_user always applies.

    A removed person loses access at once, at no extra query per request: the
    scoping query above answers "do they hold a role here now" for this page, and
    the sign-in check (may they sign in at all) is folded into the query that
    loads the signed-in person (accounts.backends.EmailBackend.get_user), so
    someone removed from their last role is signed out on their next request.
    """

    def organization_queryset(self, queryset):
        return queryset

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        scoped = Organization.objects.for_user(request.user)
        self.organization = get_object_or_404(self.organization_queryset(scoped), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            organization=self.organization, confirm_period_days=settings.CONTACTS_CONFIRM_PERIOD_DAYS, **kwargs
        )

    def profile_url(self):
        return reverse("contacts:profile", args=[self.organization.pk])

    def still_affiliated(self) -> bool:
        """After a change to the roster: may the signed-in person still see this organization?"""
        return Organization.objects.for_user(self.request.user).filter(pk=self.organization.pk).exists()


def _with_health(queryset):
    """The roster and who last confirmed it: what the dashboard and the Profile tab show."""
    return queryset.with_roster().select_related("contacts_confirmed_by")


def _roster_people(organization, exclude=None):
    """The distinct people on a roster (prefetched, so by name), but `exclude`."""
    people = {}
    for contact_role in organization.roles.all():
        people.setdefault(contact_role.person.pk, contact_role.person)
    people.pop(getattr(exclude, "pk", None), None)
    return list(people.values())


class ServiceFormMixin:
    """A form page whose valid submission is one service call (perform).

    A refusal from the service is shown on the form, with everything that was
    typed kept; otherwise succeeded() answers, usually with a redirect. The
    service opens its own transaction inside the request's (ATOMIC_REQUESTS).
    """

    def perform(self, form):
        raise NotImplementedError

    def succeeded(self, form, result):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            result = self.perform(form)
        except EditConflict as conflict:
            # Someone else saved one of the changed fields first: theirs beside yours, to choose.
            form.conflicts_show(conflict.conflicts)
            return self.form_invalid(form)
        except ValidationError as error:
            service_errors_add(form, error)
            return self.form_invalid(form)
        return self.succeeded(form, result)


class DashboardView(LoginRequiredMixin, TemplateView):
    """A signed-in person: the organizations they are affiliated with, each with its health.

    With exactly one organization there is nothing to choose: they go straight to its Profile tab.
    """

    template_name = "contacts/dashboard.html"

    def get(self, request, *args, **kwargs):
        self.organizations = list(_with_health(Organization.objects.for_user(request.user)))
        if len(self.organizations) == 1:
            return redirect(self.organizations[0])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            cards=dashboard_cards(self.organizations, self.request.user),
            confirm_period_days=settings.CONTACTS_CONFIRM_PERIOD_DAYS,
            **kwargs,
        )


def dashboard_cards(organizations, user) -> list[dict]:
    """Each organization with my roles there and its optional roles not filled (said as the Profile
    tab says them, fallbacks included), those that need attention (stale contacts) first."""
    cards = []
    for organization in organizations:
        unfilled = [row for row in roster_rows(organization) if row["vacancy"]]
        cards.append(
            {
                "organization": organization,
                "my_roles": [r.get_role_display() for r in organization.roles.all() if r.person_id == user.pk],
                "needed": [row["vacancy"] for row in unfilled if row["needed"]],
                "vacancies": [row["vacancy"] for row in unfilled if not row["needed"]],
            }
        )
    return sorted(cards, key=lambda card: (not card["organization"].contacts_are_stale, card["organization"].name))


# What an unfilled role means, when no fallback applies.
VACANCIES = {
    Role.CEO: "No CEO contact assigned.",
    Role.STAFF: "No staff assigned.",
    Role.TECHNICAL: "No technical contact assigned.",
    Role.MEDICAL_DIRECTOR: "No medical director assigned.",
}
NO_BILLING = "No billing contact — invoices go to the Primary Contact, {person}."
NO_WEBSITE = "No website contact — the Primary Contact, {person}, is published in the directory."


def roster_rows(organization) -> list[dict]:
    """The seven roles in order, each with its holders and, when unfilled, what that means.

    The fallbacks come from the organization's own methods, so the page says what
    the invoices and the directory actually do.
    """
    rows = []
    missing = organization.missing_required_roles()
    for role in Role:
        holders = [r for r in organization.roles.all() if r.role == role]
        vacancy = ""
        if not holders and role == Role.BILLING:
            vacancy = NO_BILLING.format(person=organization.invoice_recipient()[0])
        elif not holders and role == Role.WEBSITE:
            vacancy = NO_WEBSITE.format(person=organization.published_contact()[0])
        elif not holders:
            vacancy = VACANCIES[role]
        rows.append(
            {
                "role": role,
                "purpose": ROLE_PURPOSES[role],
                "holders": holders,
                "singular": role != Role.STAFF,
                "vacancy": vacancy,
                "needed": role in missing,
            }
        )
    return rows


class ProfileView(OrganizationAccessMixin, TemplateView):
    """A person affiliated with the organization: its details and the roster of all seven roles."""

    template_name = "contacts/profile.html"

    def organization_queryset(self, queryset):
        return _with_health(queryset)

    def get_context_data(self, **kwargs):
        pending = {r.person_id for r in self.organization.roles.all() if not r.person.has_usable_password()}
        invitations = invitations_latest(pending) if pending else {}
        return super().get_context_data(
            roster_html=roster_fragment(self.request, self.organization, roster_rows(self.organization), invitations),
            active_tab="profile",
            **kwargs,
        )


class InvitationResendView(OrganizationAccessMixin, View):
    """A person affiliated with the organization: send a contact who has not set a password a new invitation (POST)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        person = get_object_or_404(
            User.objects.filter(contact_roles__organization=self.organization).distinct(), pk=kwargs["person_pk"]
        )
        try:
            log = services.invitation_resend(organization=self.organization, person=person, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(self.profile_url())
        if log.status == EmailLog.Status.SUPPRESSED:
            messages.warning(request, INVITATION_SUPPRESSED.format(email=person.email, reason=log.error))
        else:
            messages.success(request, INVITATION_QUEUED_AGAIN.format(email=person.email))
        return redirect(self.profile_url())


class OrganizationUpdateView(OrganizationAccessMixin, ServiceFormMixin, UpdateView):
    """A person affiliated with the organization: edit its address, phone and website."""

    form_class = OrganizationForm
    template_name = "contacts/organization_form.html"

    def get_object(self, queryset=None):
        # A copy: the form writes into it, and the page's heading keeps the saved name.
        return copy.copy(self.organization)

    def perform(self, form):
        return services.organization_update(
            organization=self.object,
            by=self.request.user,
            baseline=form.baseline(),
            since=form.opened_at(),
            **form.changes(),
        )

    def succeeded(self, form, result):
        messages.success(self.request, ORGANIZATION_SAVED.format(organization=result))
        return redirect(self.profile_url())


class ContactAddView(OrganizationAccessMixin, ServiceFormMixin, FormView):
    """A person affiliated with the organization: add a contact by email in any role but Primary.

    Three steps, nothing saved or sent before the last: the role and the person,
    then a page to check the answers (contact_add_preview says whether the person
    is known and will be invited), then the confirming POST (contact_add). The
    answers travel in the POST as hidden fields and are validated again on every
    step, so an edited value shows the form again with its message.
    """

    form_class = ContactAddForm
    template_name = "contacts/contact_add.html"

    def get_initial(self):
        role = self.request.GET.get("role")
        return {"role": role} if role in Role.values and role != Role.PRIMARY else {}

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.form_invalid(form)
        if "change" in request.POST:
            return self.render_to_response(self.get_context_data(form=form))
        if "confirm" in request.POST:
            return self.form_valid(form)
        try:
            preview = services.contact_add_preview(
                organization=self.organization, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except ValidationError as error:
            service_errors_add(form, error)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form, preview=preview, checking=True))

    def get_context_data(self, **kwargs):
        form = kwargs.get("form")
        if kwargs.get("checking"):
            role = Role(form.cleaned_data["role"])
            kwargs.update(role=role, role_purpose=ROLE_PURPOSES[role], signs_in=role in ACCESS_ROLES)
        return super().get_context_data(**kwargs)

    def perform(self, form):
        return services.contact_add(
            organization=self.organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            by=self.request.user,
            **form.details(),
        )

    def succeeded(self, form, result):
        values = {
            "email": form.cleaned_data["email"],
            "person": result.person,
            "role": result.contact_role.get_role_display(),
        }
        # The service says whether it queued the invitation (not when the limit held it back); a worker sends it.
        if result.person_created and result.invited:
            messages.success(self.request, CONTACT_INVITED.format(**values))
        elif result.person_created:  # a Billing or CEO contact does not sign in, so is not invited
            messages.success(self.request, ROLE_ASSIGNED.format(**values))
        else:
            text = CONTACT_KNOWN.format(**values)
            messages.success(self.request, f"{text} {ALSO_INVITED}" if result.invited else text)
        return redirect(self.profile_url())


class RoleAssignView(OrganizationAccessMixin, ServiceFormMixin, FormView):
    """A person affiliated with the organization: put someone in a singular role, replacing its holder.

    The Primary Contact changes only by hand-over, and Staff has no single holder:
    those URLs lead to the hand-over and the add-a-contact pages.
    """

    form_class = PersonChooseForm
    template_name = "contacts/role_assign.html"

    def organization_queryset(self, queryset):
        return queryset.with_roster()

    def dispatch(self, request, *args, **kwargs):
        self.role = Role(kwargs["role"]) if kwargs["role"] in Role.values else None
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.role is None:
            raise Http404("No such role.")
        if self.role == Role.PRIMARY:
            return redirect("contacts:primary_transfer", pk=self.organization.pk)
        if self.role == Role.STAFF:
            return redirect(f"{reverse('contacts:contact_add', args=[self.organization.pk])}?role=staff")
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.role in (None, Role.PRIMARY, Role.STAFF):
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def current_holder(self):
        return self.organization.holder(self.role)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "people": _roster_people(self.organization, exclude=self.current_holder()),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            role=self.role,
            holder=self.current_holder(),
            role_purpose=ROLE_PURPOSES[self.role],
            signs_in=self.role in ACCESS_ROLES,
            **kwargs,
        )

    def perform(self, form):
        return services.role_replace(
            organization=self.organization,
            role=self.role,
            to=form.cleaned_data.get("person"),
            email=form.cleaned_data.get("email"),
            details=form.details(),
            by=self.request.user,
        )

    def succeeded(self, form, result):
        text = ROLE_ASSIGNED.format(person=result.person, role=self.role.label)
        if result.invited:
            text = f"{text} {INVITATION_ON_ITS_WAY.format(email=result.person.email)}"
        messages.success(self.request, text)
        return redirect(self.profile_url())


class RoleRemoveView(OrganizationAccessMixin, TemplateView):
    """A person affiliated with the organization: take a role from its holder, after confirming.

    Removing someone's last role there ends their access at once; removing
    yourself says so first. The Primary Contact cannot be removed, only handed over.
    """

    template_name = "contacts/role_remove_confirm.html"

    def get_contact_role(self):
        return get_object_or_404(
            ContactRole.objects.select_related("person"), pk=self.kwargs["role_pk"], organization=self.organization
        )

    def get(self, request, *args, **kwargs):
        self.contact_role = self.get_contact_role()
        if self.contact_role.role == Role.PRIMARY:
            messages.error(request, services.PRIMARY_CANNOT_BE_REMOVED)
            return redirect(self.profile_url())
        return super().get(request, *args, **kwargs)

    def loses_access(self) -> bool:
        """True when this role is the holder's last one that gives access here."""
        other_access_roles = ContactRole.objects.filter(
            organization=self.organization, person=self.contact_role.person, role__in=ACCESS_ROLES
        ).exclude(pk=self.contact_role.pk)
        return self.contact_role.role in ACCESS_ROLES and not other_access_roles.exists()

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            contact_role=self.contact_role,
            is_self=self.contact_role.person_id == self.request.user.pk,
            loses_access=self.loses_access(),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        contact_role = (
            ContactRole.objects.select_related("person")
            .filter(pk=self.kwargs["role_pk"], organization=self.organization)
            .first()
        )
        if contact_role is None:
            return self.already_removed()
        person, role = contact_role.person, contact_role.get_role_display()
        try:
            services.role_remove(contact_role=contact_role, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(self.profile_url())
        if not self.still_affiliated():
            messages.success(request, SELF_LOST_ACCESS.format(organization=self.organization))
            return redirect("contacts:dashboard")
        messages.success(request, ROLE_REMOVED.format(person=person, role=role))
        return redirect(self.profile_url())

    def already_removed(self):
        """Someone removed this role first (history says so): tell the second person, not 404."""
        removal = (
            ContactRole.history.filter(
                id=self.kwargs["role_pk"], organization_id=self.organization.pk, history_type="-"
            )
            .select_related("person")
            .first()
        )
        if removal is None:
            raise Http404("No such role.")
        text = services.ROLE_ALREADY_REMOVED.format(person=removal.person, role=removal.get_role_display())
        messages.error(self.request, text)
        return redirect(self.profile_url())


class PrimaryTransferView(OrganizationAccessMixin, ServiceFormMixin, FormView):
    """A person affiliated with the organization: hand the Primary Contact role to someone else.

    Two steps: choose the person, then a page that says what will change and asks
    to confirm. The previous and the new primary are each emailed.
    """

    form_class = PersonChooseForm
    template_name = "contacts/primary_transfer.html"

    def organization_queryset(self, queryset):
        return queryset.with_roster()

    def get_form_kwargs(self):
        primary = self.organization.primary_contact
        return {**super().get_form_kwargs(), "people": _roster_people(self.organization, exclude=primary)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(primary=self.organization.primary_contact, **kwargs)

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.form_invalid(form)
        previous = self.organization.primary_contact
        if form.cleaned_data["person"] and form.cleaned_data["person"].pk == previous.pk:
            form.add_error(None, services.ALREADY_PRIMARY.format(person=previous))
            return self.form_invalid(form)
        if "back" in request.POST:
            return self.render_to_response(self.get_context_data(form=form))
        if "confirm" not in request.POST:
            return self.render_to_response(self.get_context_data(form=form, **self.changes(form)))
        return self.form_valid(form)

    def roles_of(self, person) -> list:
        return [r for r in self.organization.roles.all() if person and r.person_id == person.pk]

    def changes(self, form) -> dict:
        """What the hand-over will change, for the confirmation step."""
        previous = self.organization.primary_contact
        new = form.cleaned_data["person"]
        kept = [r for r in self.roles_of(previous) if r.role != Role.PRIMARY]
        keeps_access = any(r.role in ACCESS_ROLES for r in kept)
        return {
            "confirming": True,
            "previous": previous,
            "previous_is_me": previous.pk == self.request.user.pk,
            "previous_kept_roles": [r.get_role_display() for r in kept],
            "keep_form": None if keeps_access else KeepAsStaffForm(previous=previous),
            "new": new,
            "new_name": str(new) if new else f"{form.cleaned_data['first_name']} {form.cleaned_data['last_name']}",
            "new_email": new.email if new else form.cleaned_data["email"],
            "new_roles": [r.get_role_display() for r in self.roles_of(new)],
        }

    def perform(self, form):
        previous = self.organization.primary_contact
        keep_form = KeepAsStaffForm(self.request.POST, previous=previous)
        # Offered only when the previous primary would otherwise lose access here.
        offered = self.changes(form)["keep_form"] is not None
        return services.primary_contact_transfer(
            organization=self.organization,
            to=form.cleaned_data.get("person"),
            email=form.cleaned_data.get("email"),
            details=form.details(),
            keep_previous_as_staff=offered and keep_form.is_valid() and keep_form.cleaned_data["keep_as_staff"],
            by=self.request.user,
        )

    def succeeded(self, form, result):
        messages.success(self.request, PRIMARY_TRANSFERRED.format(new=result.new, previous=result.previous))
        if not self.still_affiliated():
            messages.info(self.request, SELF_LOST_ACCESS.format(organization=self.organization))
            return redirect("contacts:dashboard")
        return redirect(self.profile_url())


class ContactsConfirmView(OrganizationAccessMixin, View):
    """A person affiliated with the organization: confirm (POST) that its contacts are current."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        services.contacts_confirm(organization=self.organization, by=request.user)
        messages.success(request, CONTACTS_CONFIRMED.format(organization=self.organization))
        return redirect(self.profile_url())


class HistoryView(OrganizationAccessMixin, TemplateView):
    """A person affiliated with the organization: who changed what and when, newest first."""

    template_name = "contacts/history.html"
    paginate_by = 25
    # A page number reads every newer entry first, so a number far past any real history is refused;
    # "Older changes" and "Newer changes" carry cursors (?before=, ?after=) and read one page whatever the depth.
    max_page = 400

    def get_context_data(self, **kwargs):
        number = page_number(self.request)
        before = Cursor.parse(self.request.GET.get("before", ""))
        after = Cursor.parse(self.request.GET.get("after", ""))
        if after and not before:  # "Newer changes": the page just above the one the person came from
            before = history_newer_start(self.organization, after=after, per_page=self.paginate_by)
            number = max(number, 2) if before else 1  # newer entries remain above a cursor page
        if number > self.max_page and not before:
            raise Http404("There is no such page of history.")
        entries, older = history_page(self.organization, page=number, per_page=self.paginate_by, before=before)
        first = entries[0] if entries else None
        return super().get_context_data(
            entries=entries,
            page_number=number,
            has_next=older is not None,
            older=older,
            newer=first and Cursor(first["when"], first["stream"], first["history_id"]),
            active_tab="history",
            **kwargs,
        )


class PersonUpdateView(OrganizationAccessMixin, ServiceFormMixin, UpdateView):
    """A person affiliated with the organization: edit a contact of its roster who has not set a password.

    Anyone else (a person with a password, someone not on this roster) is 404:
    people who can sign in keep their own details. A contact who also holds a role
    at an organization the editor is not affiliated with is shared: the page says
    so and that CME staff can change their details, and shows no form.
    """

    form_class = PersonForm
    template_name = "contacts/person_form.html"
    context_object_name = "person"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if details_shared_elsewhere(person=self.object, editor=request.user):
            return self.shared(status=200)
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        if details_shared_elsewhere(person=self.object, editor=request.user):
            return self.shared(status=403)
        form = self.get_form()
        return self.form_valid(form) if form.is_valid() else self.form_invalid(form)

    def shared(self, status):
        context = {
            "organization": self.organization,
            "person": self.object,
            "shared_message": services.PERSON_DETAILS_SHARED.format(person=self.object),
        }
        return render(self.request, "contacts/person_shared.html", context, status=status)

    def get_object(self, queryset=None):
        person = get_object_or_404(
            User.objects.filter(contact_roles__organization=self.organization).distinct(), pk=self.kwargs["person_pk"]
        )
        if person.has_usable_password():
            raise Http404("This person keeps their own details.")
        return person

    def perform(self, form):
        return services.person_update(
            person=self.object,
            by=self.request.user,
            baseline=form.baseline(),
            since=form.opened_at(),
            organization=self.organization,
            **form.changes(),
        )

    def succeeded(self, form, result):
        text = PERSON_SAVED.format(person=result.person)
        if result.email_change and result.email_change.invited:
            text = f"{text} {INVITATION_QUEUED_AGAIN.format(email=result.person.email)}"
        messages.success(self.request, text)
        return redirect(self.profile_url())
