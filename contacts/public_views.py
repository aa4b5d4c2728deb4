"""The public directory ("Find a CME Provider"): no sign-in."""

from django.views.generic import DetailView, ListView

from contacts.models import Organization


class DirectoryView(ListView):
    """Anyone: search the listed, accredited providers."""

    template_name = "contacts/directory.html"
    queryset = Organization.objects.in_directory().with_roster()
    paginate_by = 20


class ProviderDetailView(DetailView):
    """Anyone: one listed, accredited provider and its published contact."""

    template_name = "contacts/provider.html"
    queryset = Organization.objects.in_directory().with_roster()
