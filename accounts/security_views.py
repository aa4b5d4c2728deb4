"""Pages of a person's sign-in security: two-factor enrolment and codes, signing out other devices."""

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash, user_login_failed
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView
from django_otp import login as otp_login
from django_otp import user_has_device

from accounts import services
from accounts.forms import TwoFactorCodeForm
from accounts.middleware import TWO_FACTOR_ENROLLED, two_factor_required

SETUP_KEY = "accounts_two_factor_setup_key"
BACKUP_CODES_TO_SHOW = "accounts_two_factor_backup_codes"

TWO_FACTOR_ON = "Two-factor sign-in is on."
TWO_FACTOR_OFF = "Two-factor sign-in is off: you sign in with your password alone."
BACKUP_CODES_GONE = "Your backup codes were shown once, when you turned two-factor sign-in on."
OTHER_SESSIONS_ENDED = "You are signed out on every other device and browser. This one stays signed in."


class NextMixin:
    """Where to go once done: a safe ?next on this site, else the admin for CME staff and the dashboard for others."""

    def next_url(self) -> str:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return candidate
        return reverse("admin:index") if self.request.user.is_staff else reverse("contacts:dashboard")

    def with_next(self, url_name: str) -> str:
        return f"{reverse(url_name)}?{urlencode({'next': self.next_url()})}"


class TwoFactorVerifyView(LoginRequiredMixin, NextMixin, FormView):
    """A signed-in person who needs a second factor: enter a code from the app, or a backup code.

    Each wrong code counts as a failed sign-in for django-axes, like a wrong password; the
    device itself also pauses after wrong codes. A CME staff member without a device is
    sent on to enrolment.
    """

    form_class = TwoFactorCodeForm
    template_name = "accounts/two_factor_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            if not two_factor_required(request) or request.user.is_verified():
                return redirect(self.next_url())
            if not user_has_device(request.user):
                return redirect(self.with_next("accounts:two_factor_setup"))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.next_url(), **kwargs)

    def form_valid(self, form):
        credentials = {"username": self.request.user.email.lower()}
        if not AxesProxyHandler.is_allowed(self.request, credentials):
            return get_lockout_response(self.request, None, credentials)
        check = services.two_factor_verify(person=self.request.user, code=form.cleaned_data["code"])
        if check.device is None:
            user_login_failed.send(sender=type(self), credentials=credentials, request=self.request)
            message = (
                services.TOO_MANY_CODES.format(seconds=check.wait_seconds)
                if check.wait_seconds
                else services.WRONG_CODE
            )
            form.add_error("code", message)
            return self.form_invalid(form)
        otp_login(self.request, check.device)
        return redirect(self.next_url())


def qr_code_svg(text: str) -> str:
    """The QR code as inline SVG: no script and no style attribute, so the strict CSP allows it."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, border=4, svgclass="qr-code", lineclass=None, title="QR code for your authenticator app"
    )
    # segno writes only paths and the title given here; nothing of the person goes in unescaped.
    return mark_safe(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1))


class TwoFactorSetupView(LoginRequiredMixin, NextMixin, FormView):
    """A signed-in person without two-factor sign-in, or who has just given a code: enrol an authenticator app.

    Shows the QR code and the same secret as text, then asks for the first code. The
    secret lives in the session until the code proves the app holds it. Someone who has
    a device but has not given a code this session cannot enrol another: that would
    let a stolen password replace the second factor.
    """

    form_class = TwoFactorCodeForm
    template_name = "accounts/two_factor_setup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_verified() and user_has_device(request.user):
            return redirect(self.with_next("accounts:two_factor_verify"))
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "backup_codes_accepted": False}

    def key(self) -> str:
        if SETUP_KEY not in self.request.session:
            self.request.session[SETUP_KEY] = services.two_factor_secret_new()
        return self.request.session[SETUP_KEY]

    def get_context_data(self, **kwargs):
        key = self.key()
        secret = services.two_factor_secret_text(key)
        return super().get_context_data(
            qr_code=qr_code_svg(services.two_factor_config_url(person=self.request.user, key=key)),
            secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
            secret=secret,
            next=self.next_url(),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            enrolment = services.two_factor_enrol(
                person=self.request.user, key=self.key(), code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        otp_login(self.request, enrolment.device)
        del self.request.session[SETUP_KEY]
        self.request.session[TWO_FACTOR_ENROLLED] = True
        self.request.session[BACKUP_CODES_TO_SHOW] = list(enrolment.backup_codes)
        messages.success(self.request, TWO_FACTOR_ON)
        return redirect(self.with_next("accounts:two_factor_backup_codes"))


class TwoFactorBackupCodesView(LoginRequiredMixin, NextMixin, View):
    """A person who has just enrolled: their ten backup codes, shown this once."""

    def get(self, request):
        codes = request.session.pop(BACKUP_CODES_TO_SHOW, None)
        if not codes:
            messages.info(request, BACKUP_CODES_GONE)
            return redirect(self.next_url())
        return render(request, "accounts/two_factor_backup_codes.html", {"codes": codes, "next": self.next_url()})


class TwoFactorRemoveView(LoginRequiredMixin, View):
    """A provider user with two-factor sign-in: turn it off (POST only). CME staff cannot."""

    def post(self, request):
        try:
            services.two_factor_remove(person=request.user)
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            request.session[TWO_FACTOR_ENROLLED] = False
            messages.success(request, TWO_FACTOR_OFF)
        return redirect("accounts:profile")


class SignOutOtherSessionsView(LoginRequiredMixin, View):
    """A signed-in person: end every other session they have (POST only); this one stays."""

    def post(self, request):
        services.sessions_end_others(person=request.user)
        update_session_auth_hash(request, request.user)
        messages.success(request, OTHER_SESSIONS_ENDED)
        return redirect("accounts:profile")
