from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.backends import EmailBackend
from contacts import services
from contacts.emails import absolute_url, email_send
from contacts.forms import EmailOfNobodyElseMixin
from contacts.models import EmailLog
from pars.addresses import EmailAddressField, email_lookup_key
from pars.concurrency import ConcurrentEditFormMixin
from pars.forms import ClearMessagesMixin, PhoneField

User = get_user_model()

INVALID_LOGIN = (
    "That email address and password do not match an account that may sign in. "
    "Check them and try again, or reset your password."
)
# Only said to someone who typed the right password: a stranger learns nothing from it.
NO_ACCESS = (
    "Your password is right, but this email address has no access to any organization at the moment. "
    "If you should have access, ask your organization's Primary Contact to add you, or email CME staff at {support}."
)
EMAIL_TAKEN = services.EMAIL_TAKEN
CURRENT_PASSWORD_NEEDED = "Enter your current password to change your email address."
CURRENT_PASSWORD_WRONG = "That is not your current password."
# The rules of AUTH_PASSWORD_VALIDATORS in one sentence, instead of Django's list.
PASSWORD_RULES = (
    "Use at least 8 characters. Avoid a password that is only numbers, a common one, "
    "or one like your name or email address."
)


class PlainPasswordRulesMixin:
    """A new password's rules said in one sentence (PASSWORD_RULES)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_RULES


class PlainSetPasswordForm(PlainPasswordRulesMixin, SetPasswordForm):
    """Django's set-password form (invitation and reset links), its rules in words."""


class SignInForm(AuthenticationForm):
    """Email and password. One message for every refusal, so it never tells which rule applied.

    django-axes counts failures per canonical address (accounts.backends.throttle_username).
    """

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": INVALID_LOGIN}

    def get_invalid_login_error(self):
        """INVALID_LOGIN, but NO_ACCESS for a person whose password is right and who has no access any more."""
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        person = User.objects.filter(email=email_lookup_key(email)).first() if email and password else None
        if person is not None and person.is_active and person.check_password(password):
            return forms.ValidationError(NO_ACCESS.format(support=settings.SUPPORT_EMAIL), code="no_access")
        return super().get_invalid_login_error()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "maxlength": 254}
        )


class CurrentPasswordChangeForm(PlainPasswordRulesMixin, PasswordChangeForm):
    """Django's form, its first field called what the profile page calls it."""

    error_messages = {**PasswordChangeForm.error_messages, "password_incorrect": CURRENT_PASSWORD_WRONG}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"


class LoggedPasswordResetForm(PasswordResetForm):
    """Django's reset form, where the page only queues the request and a worker finds the person and emails them.

    A link goes to every person who may sign in (EmailBackend's rule), including
    an invited contact who has not set a password yet: their invitation may have
    expired or been lost, and this is how they get a new link. Nobody else gets
    one. The page does the same thing whatever the address, one task row, so
    neither its answer nor its time tells who has an account (the lookup, the
    token and the email happen in the worker: password_reset_request). The link
    starts with SITE_URL, like every email's links, never with the Host header.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Email address"

    def get_users(self, email):
        backend = EmailBackend()
        people = User.objects.filter(email=email_lookup_key(email), is_active=True)
        return (person for person in people if backend.user_can_authenticate(person))

    def save(self, **kwargs):
        """The page's part: queue the request, whoever the address belongs to."""
        from accounts.tasks import password_reset_request

        password_reset_request.enqueue(self.cleaned_data["email"])

    def send_links(self) -> None:
        """The worker's part: Django's own save(), which emails a link to each person get_users finds."""
        super().save(domain_override="PARS contacts", subject_template_name="registration/password_reset_subject.txt")

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        reset_path = reverse("accounts:password_reset_confirm", args=[context["uid"], context["token"]])
        email_send(
            kind=EmailLog.Kind.PASSWORD_RESET,
            to=context["user"],
            subject=subject,
            template="password_reset",
            context={**context, "reset_url": absolute_url(reset_path)},
        )


class ProfileForm(EmailOfNobodyElseMixin, ConcurrentEditFormMixin, ClearMessagesMixin, forms.ModelForm):
    """A person's own details; a new email address needs the current password."""

    required_messages = {
        "first_name": "your first name",
        "last_name": "your last name",
        "email": "your email address",
    }
    phone = PhoneField(required=False, help_text="For example (916) 555-0142")

    current_password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Needed only when you change your email address.",
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]
        field_classes = {"email": EmailAddressField}
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "job_title": forms.TextInput(attrs={"autocomplete": "organization-title"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional on the model (a contact may be added by email alone), but a
        # person editing their own profile gives their name.
        self.fields["first_name"].required = True
        self.fields["last_name"].required = True

    def email_changed(self) -> bool:
        email = self.cleaned_data.get("email")
        return bool(email) and email != self.initial.get("email")

    def clean(self):
        cleaned = super().clean()
        if self.email_changed():
            password = cleaned.get("current_password")
            if not password:
                self.add_error("current_password", CURRENT_PASSWORD_NEEDED)
            elif not self.instance.check_password(password):
                self.add_error("current_password", CURRENT_PASSWORD_WRONG)
        return cleaned


class TwoFactorCodeForm(forms.Form):
    """One code: six digits from the authenticator app, or (when backup codes are accepted) a backup code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off"}
        ),
    )

    def __init__(self, *args, backup_codes_accepted: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if backup_codes_accepted:
            self.fields[
                "code"
            ].help_text = "The 6-digit code your authenticator app shows now, or one of your backup codes."
        else:
            self.fields["code"].help_text = "The 6-digit code your authenticator app shows now."
            self.fields["code"].widget.attrs.update(inputmode="numeric", maxlength=6)
