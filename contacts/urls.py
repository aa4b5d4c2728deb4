from django.urls import path
from django.views.generic import RedirectView

from contacts import public_views, views

app_name = "contacts"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:dashboard"), name="home"),
    path("organizations/", views.DashboardView.as_view(), name="dashboard"),
    path("organizations/<int:pk>/", views.ProfileView.as_view(), name="profile"),
    path("organizations/<int:pk>/edit/", views.OrganizationUpdateView.as_view(), name="organization_edit"),
    path("organizations/<int:pk>/contacts/add/", views.ContactAddView.as_view(), name="contact_add"),
    path("organizations/<int:pk>/roles/<str:role>/assign/", views.RoleAssignView.as_view(), name="role_assign"),
    path("organizations/<int:pk>/roles/remove/<int:role_pk>/", views.RoleRemoveView.as_view(), name="role_remove"),
    path("organizations/<int:pk>/primary/", views.PrimaryTransferView.as_view(), name="primary_transfer"),
    path("organizations/<int:pk>/confirm/", views.ContactsConfirmView.as_view(), name="contacts_confirm"),
    path("organizations/<int:pk>/history/", views.HistoryView.as_view(), name="history"),
    path("organizations/<int:pk>/people/<int:person_pk>/edit/", views.PersonUpdateView.as_view(), name="person_edit"),
    path(
        "organizations/<int:pk>/people/<int:person_pk>/invite/",
        views.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path("find-a-provider/", public_views.DirectoryView.as_view(), name="directory"),
    path("find-a-provider/providers.csv", public_views.DirectoryDownloadView.as_view(kind="csv"), name="directory_csv"),
    path(
        "find-a-provider/providers.json", public_views.DirectoryDownloadView.as_view(kind="json"), name="directory_json"
    ),
    path("find-a-provider/<int:pk>/", public_views.ProviderDetailView.as_view(), name="provider"),
]
