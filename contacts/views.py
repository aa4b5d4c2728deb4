"""Provider pages. Every organization page is scoped by OrganizationAccessMixin."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from contacts.models import Organization


class OrganizationAccessMixin(LoginRequiredMixin):
    """The access rule for every organization page, stated once.

    An anonymous visitor is sent to sign in. A signed-in person sees the
    organization only while they hold a role there that grants access
    (Organization.objects.for_user); anyone else, a former contact included,
    gets 404, never a page that proves the organization exists.
    """

    def get_organization_queryset(self):
        return Organization.objects.for_user(self.request.user)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.organization = get_object_or_404(self.get_organization_queryset(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(organization=self.organization, **kwargs)


class DashboardView(LoginRequiredMixin, TemplateView):
    """A signed-in person: the organizations they are affiliated with."""

    template_name = "contacts/dashboard.html"


class ProfileView(OrganizationAccessMixin, TemplateView):
    """A person affiliated with the organization: its details and roster."""

    template_name = "contacts/profile.html"


OrganizationUpdateView = ContactAddView = RoleAssignView = RoleRemoveView = ProfileView
PrimaryTransferView = ContactsConfirmView = HistoryView = PersonUpdateView = ProfileView
