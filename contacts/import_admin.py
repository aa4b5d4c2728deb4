"""The bulk import's pages in the organizations' admin: upload, preview and confirm, undo.

CME editors (who may add and change organizations) upload a CSV or Excel file; its
rows are kept and previewed, row by row (contacts.imports); confirming hands them to
the worker, which carries them out in one transaction (contacts.services.roster_import_apply),
and the import's page, reloading until then, shows the result and offers the undo
while nothing the import touched has changed since. A file that cannot be
read is answered on the upload form, with the reason (contacts.importfile).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from contacts import services
from contacts.importfile import COLUMNS, REQUIRED_COLUMNS, ImportFileError, import_file_read
from contacts.imports import CREATED, OUTCOMES, REFUSED, UPDATED, import_plan
from contacts.models import RosterImport

IMPORT_QUEUED = "Importing {filename}: this page shows the result once it is done."
IMPORT_UNDONE = "The import of {filename} is undone: {organizations} organization(s) and {people} people deleted, {roles} role(s) removed."
RECENT_IMPORTS = 10


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        allow_empty_file=True,  # refused by import_file_read, whose message says what the file needs
        help_text="One row per contact: provider ID, organization, role and email, then any of "
        "first name, last name, credentials, job title, phone, city and state.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.cleaned_data["rows"] = import_file_read(upload)
        except ImportFileError as error:
            raise ValidationError(str(error)) from None
        return upload


class OrganizationImportMixin:
    """The import's URLs and views, for the organizations' ModelAdmin; each is for CME editors only."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_upload_view), name="contacts_organization_import"),
            path(
                "import/<int:import_id>/", view(self.import_preview_view), name="contacts_organization_import_preview"
            ),
            path(
                "import/<int:import_id>/undo/",
                view(require_POST(self.import_undo_view)),
                name="contacts_organization_import_undo",
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        """Importing adds and changes organizations and rosters: CME editors, not reviewers."""
        return self.has_add_permission(request) and self.has_change_permission(request)

    def _import_context(self, request, title: str, **context) -> dict:
        if not self.has_import_permission(request):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **context}

    def import_upload_view(self, request):
        """CME editors upload a file; it is kept and previewed, never imported at once."""
        form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
        context = self._import_context(request, "Import organizations and contacts", form=form)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            staged = services.roster_import_stage(rows=form.cleaned_data["rows"], filename=upload.name, by=request.user)
            return HttpResponseRedirect(reverse("admin:contacts_organization_import_preview", args=[staged.pk]))
        context.update(
            recent=RosterImport.objects.select_related("uploaded_by").defer("rows", "changes")[:RECENT_IMPORTS],
            columns=COLUMNS,
            required_columns=REQUIRED_COLUMNS,
        )
        return TemplateResponse(request, "admin/contacts/organization/import_upload.html", context)

    def import_preview_view(self, request, import_id):
        """CME editors read what each row would do, and confirm; then its progress, its result and its undo."""
        roster_import = get_object_or_404(
            RosterImport.objects.select_related("uploaded_by", "applied_by", "undone_by"), pk=import_id
        )
        context = self._import_context(request, f"Import of {roster_import.filename}", roster_import=roster_import)
        if request.method == "POST":
            try:
                services.roster_import_queue(roster_import=roster_import, by=request.user)
            except ValidationError as error:
                context["error"] = " ".join(error.messages)
                roster_import.refresh_from_db()
            else:
                self.message_user(request, IMPORT_QUEUED.format(filename=roster_import.filename), messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        if roster_import.status == RosterImport.Status.PREVIEWED:
            plan = import_plan(services.roster_import_rows(roster_import))
            context.update(plan=plan, counts=[(outcome, plan.counts[outcome]) for outcome in OUTCOMES])
        else:
            context["organizations"] = roster_import.organizations.order_by("name")
        context.update(CREATED=CREATED, UPDATED=UPDATED, REFUSED=REFUSED)
        return TemplateResponse(request, "admin/contacts/organization/import_preview.html", context)

    def import_undo_view(self, request, import_id):
        """CME editors undo an import while nothing it touched has changed since."""
        self._import_context(request, "")
        roster_import = RosterImport.objects.filter(pk=import_id).first()
        if roster_import is None:
            raise Http404
        try:
            undone = services.roster_import_undo(roster_import=roster_import, by=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                IMPORT_UNDONE.format(
                    filename=roster_import.filename,
                    organizations=undone.organizations_deleted,
                    people=undone.people_deleted,
                    roles=undone.roles_removed,
                ),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:contacts_organization_import_preview", args=[import_id]))
