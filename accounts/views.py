from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse_lazy
from django.views.generic import UpdateView

from accounts.forms import LoggedPasswordResetForm, ProfileForm, SignInForm


class SignInView(auth_views.LoginView):
    """Anyone: sign in with email and password. Failed attempts are throttled by django-axes."""

    form_class = SignInForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Anyone: ask for a reset link. The answer is the same whether the email is known or not."""

    form_class = LoggedPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")


class InvitationView(auth_views.PasswordResetConfirmView):
    """An invited contact: set a first password from the "system access granted" link.

    The token is Django's reset token: it expires after PASSWORD_RESET_TIMEOUT and
    stops working once a password is set, so a used link cannot be reused.
    """

    template_name = "accounts/invitation.html"
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"
    success_url = reverse_lazy("contacts:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set and you are signed in.")
        return response


class ProfileUpdateView(LoginRequiredMixin, UpdateView):
    """A signed-in person: edit their own details ("Edit My Profile")."""

    form_class = ProfileForm
    template_name = "accounts/profile_form.html"
    success_url = reverse_lazy("accounts:profile")

    def get_object(self, queryset=None):
        return self.request.user

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your profile is saved.")
        return response
