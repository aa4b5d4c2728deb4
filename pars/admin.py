"""Admin helpers shared by every app's admin: the staff base class and guards against bad ids and filters."""

from contextvars import ContextVar

from django import forms
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

# While a change form is drawn again after a service refused its save: the refusal, for get_form.
_service_refusal = ContextVar("service_refusal", default=None)


def is_database_id(value) -> bool:
    """True for a value every database can compare with an integer primary key (SQLite stops at 64 bits)."""
    return str(value).isdigit() and int(value) < 2**63


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Django's; an id larger than any database integer is refused like an unknown one, not an OverflowError."""

    def _check_values(self, value):
        for pk in value:
            if str(pk).isdigit() and not is_database_id(pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class BadLookupSafeChangeList(ChangeList):
    """Django's list, where a filter it cannot run is an incorrect lookup (the list says so), not a 500.

    The date hierarchy builds ?sent_at__year=99999999999999999999 (or 9999,
    whose next year does not exist) into dates Python cannot represent. A NUL
    byte in any admin query string never gets here: pars.middleware answers 400.
    """

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error


def _id_or_404(field, value):
    # simple-history looks objects and versions up by the id as typed: /admin/accounts/user/abc/history/ was a 500.
    try:
        field.to_python(value)
    except ValidationError:
        raise Http404 from None


class StaffModelAdmin(SimpleHistoryAdmin):
    """simple-history's admin (each change's history), where only someone who may change an object reverts it.

    simple-history saves a past version on POST without asking; a reviewer gets 403.
    The lists have many columns: they get the width of the navigation sidebar.

    A list and its actions run outside the request's transaction, as in a Django
    project without ATOMIC_REQUESTS: an action that emails (the invitation, the
    update reminder) queues them, the reminders a batch per transaction, and tells
    staff what was queued (a worker sends them). Each write opens its own
    transaction (the services, Django's own list edits and deletions).
    """

    # Set by an admin whose change form saves through the services: what staff read when a
    # service refuses what the form allowed a moment earlier ("{error}": the service's words).
    # The change form's transaction is rolled back and the form is drawn again from what was
    # sent, with this as its error, instead of a 500: nothing the editor typed is lost.
    service_refused_message = ""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if not self.service_refused_message or request.method != "POST":
                raise
            token = _service_refusal.set(self.service_refused_message.format(error=" ".join(error.messages)))
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            finally:
                _service_refusal.reset(token)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = _service_refusal.get()
        if refusal is None:
            return form

        class RefusedForm(form):
            """The form as sent, refused: its error is the service's, so the admin saves nothing and draws it."""

            def clean(self):
                super().clean()
                raise ValidationError(refusal)

        return RefusedForm

    @transaction.non_atomic_requests
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_changelist(self, request, **kwargs):
        return BadLookupSafeChangeList

    def history_view(self, request, object_id, extra_context=None):
        _id_or_404(self.model._meta.pk, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        _id_or_404(self.model._meta.pk, unquote(object_id))
        _id_or_404(self.model.history.model._meta.pk, version_id)
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
