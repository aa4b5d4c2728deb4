from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

User = get_user_model()

EMAIL_TAKEN = "Another person already uses this email address."
CURRENT_PASSWORD_NEEDED = "Enter your current password to change your email address."
CURRENT_PASSWORD_WRONG = "That is not your current password."


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match an account that may sign in. Both are case-sensitive except the email.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})


class LoggedPasswordResetForm(PasswordResetForm):
    """Django's reset form, its email sent and logged like every other email."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        from django.template.loader import render_to_string

        from contacts.emails import email_send
        from contacts.models import EmailLog

        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        email_send(
            kind=EmailLog.Kind.PASSWORD_RESET,
            to=context["user"],
            subject=subject,
            template="password_reset",
            context=context,
        )


class ProfileForm(forms.ModelForm):
    """A person's own details; a new email address needs the current password."""

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

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"].strip())
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(EMAIL_TAKEN)
        return email

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email and email.lower() != (self.initial.get("email") or "").lower():
            password = cleaned.get("current_password")
            if not password:
                self.add_error("current_password", CURRENT_PASSWORD_NEEDED)
            elif not self.instance.check_password(password):
                self.add_error("current_password", CURRENT_PASSWORD_WRONG)
        return cleaned
