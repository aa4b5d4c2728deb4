from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import security_views, views

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.SignOutView.as_view(), name="logout"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitation/<uidb64>/<token>/", views.InvitationView.as_view(), name="invitation"),
    path("profile/", views.ProfileUpdateView.as_view(), name="profile"),
    path("email/confirm/<str:token>/", views.EmailConfirmView.as_view(), name="email_confirm"),
    path("profile/sign-out-elsewhere/", security_views.SignOutOtherSessionsView.as_view(), name="sign_out_elsewhere"),
    path("two-factor/", security_views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("two-factor/set-up/", security_views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("two-factor/backup-codes/", security_views.TwoFactorBackupCodesView.as_view(), name="two_factor_backup_codes"),
    path("two-factor/turn-off/", security_views.TwoFactorRemoveView.as_view(), name="two_factor_remove"),
]
