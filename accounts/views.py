import copy

from axes.utils import reset as axes_reset
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.views import View
from django.views.generic import UpdateView

from accounts.backends import EmailBackend, throttle_username
from accounts.forms import (
    CurrentPasswordChangeForm,
    LoggedPasswordResetForm,
    PlainSetPasswordForm,
    ProfileForm,
    SignInForm,
)
from accounts.middleware import TWO_FACTOR_ENROLLED
from contacts import services
from contacts.models import ACCESS_ROLES, EmailChange
from contacts.views import ServiceFormMixin

SIGNED_OUT = "You are signed out."
PASSWORD_CHANGED = "Your password is changed."
INVITATION_ACCEPTED = "Your password is set and you are signed in."
PROFILE_SAVED = "Your profile is saved."
EMAIL_CONFIRM_SENT = (
    "We emailed a link to {email}. Open it by {expires} to sign in with that address; "
    "until then you sign in with {current}."
)
EMAIL_CONFIRM_HELD = "Your other details are saved, but no link was sent to {email}. {reason}"
EMAIL_CONFIRMED = "Your email address is confirmed: from now on you sign in with {email}."


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "M j, Y, g:i a")


class SignInView(auth_views.LoginView):
    """Anyone: sign in with email and password. Failed attempts are throttled by django-axes.

    A person already signed in goes straight on to the dashboard (or ?next).
    """

    form_class = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """A signed-in person: sign out, by POST only (the navigation bar's button)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, SIGNED_OUT)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """A signed-in person: change their password, giving the current one."""

    form_class = CurrentPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, PASSWORD_CHANGED)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Anyone: ask for a reset link. The answer is the same whether the email is known or not."""

    form_class = LoggedPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")


class LinkForPeopleWhoMaySignInMixin:
    """A set-password link from an email works only while its person may still sign in.

    Removed from their last role since the email was sent, the person gets the
    "used or expired" page rather than a password for an account without access.
    Setting a password through the link proves the person holds the mailbox, so
    it also lifts a sign-in pause (django-axes lockout) on their address.
    """

    form_class = PlainSetPasswordForm

    def get_user(self, uidb64):
        person = super().get_user(uidb64)
        if person is not None and not EmailBackend().user_can_authenticate(person):
            return None
        return person

    def form_valid(self, form):
        response = super().form_valid(form)
        # The key django-axes counted this person's failures against.
        axes_reset(username=throttle_username(self.request, {"username": form.user.email}))
        return response


class PasswordResetConfirmView(LinkForPeopleWhoMaySignInMixin, auth_views.PasswordResetConfirmView):
    """The holder of a reset link: choose a new password. A used or expired link says so."""

    success_url = reverse_lazy("accounts:password_reset_complete")


class InvitationView(LinkForPeopleWhoMaySignInMixin, auth_views.PasswordResetConfirmView):
    """An invited contact: set a first password from the "system access granted" link.

    The token is Django's reset token: it expires after PASSWORD_RESET_TIMEOUT and
    stops working once a password is set, so a used link cannot be reused. Once the
    password is set, the person is signed in and lands on the dashboard.
    """

    template_name = "accounts/invitation.html"
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"
    success_url = reverse_lazy("contacts:dashboard")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.validlink:
            context["person"] = self.user
            context["organizations"] = sorted(
                {
                    role.organization.name
                    for role in self.user.contact_roles.filter(role__in=ACCESS_ROLES).select_related("organization")
                }
            )
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, INVITATION_ACCEPTED)
        return response


class ProfileUpdateView(LoginRequiredMixin, ServiceFormMixin, UpdateView):
    """A signed-in person: edit their own details ("Edit My Profile"), nobody else's.

    A new email address is only requested here (contacts.services.email_change_request):
    it becomes the sign-in address once the link emailed to it is opened.
    """

    form_class = ProfileForm
    template_name = "accounts/profile_form.html"
    success_url = reverse_lazy("accounts:profile")

    def get_object(self, queryset=None):
        # A copy: a form that fails validation still writes what was typed onto its
        # instance, and request.user must stay the person as saved (the page header uses it).
        return copy.copy(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            # From the session (set at sign-in and by the two-factor pages): no query.
            two_factor_on=bool(self.request.session.get(TWO_FACTOR_ENROLLED)),
            email_change=EmailChange.objects.filter(person=self.request.user).first(),
            **kwargs,
        )

    def perform(self, form):
        return services.profile_update(
            person=self.object, baseline=form.baseline(), since=form.opened_at(), **form.changes()
        )

    def succeeded(self, form, result):
        requested = result.email_change
        if requested is None:
            messages.success(self.request, PROFILE_SAVED)
        elif requested.queued:
            text = EMAIL_CONFIRM_SENT.format(
                email=requested.new_email, expires=_when(requested.expires_at), current=result.person.email
            )
            messages.success(self.request, text)
        else:
            messages.warning(
                self.request, EMAIL_CONFIRM_HELD.format(email=requested.new_email, reason=requested.log.error)
            )
        return redirect(self.success_url)


class EmailConfirmView(View):
    """Whoever holds the link emailed to a new address: confirm it as the person's sign-in address.

    Opening the link (GET) only asks, so a mail scanner that follows links changes
    nothing; the button (POST) confirms. A used, replaced or expired link, or an
    address someone else took meanwhile, gets the page with the reason.
    """

    template_name = "accounts/email_confirm.html"

    def get(self, request, token):
        try:
            change = services.email_change_pending(token=token)
        except ValidationError as refusal:
            return self.refused(refusal)
        return render(request, self.template_name, {"change": change, "expires": _when(change.expires_at)})

    def post(self, request, token):
        try:
            result = services.email_change_confirm(token=token)
        except ValidationError as refusal:
            return self.refused(refusal)
        messages.success(request, EMAIL_CONFIRMED.format(email=result.new_email))
        if request.user.is_authenticated and request.user.pk == result.person.pk:
            return redirect("accounts:profile")
        return redirect("accounts:login")

    def refused(self, refusal: ValidationError):
        return render(self.request, self.template_name, {"refusal": " ".join(refusal.messages)})
