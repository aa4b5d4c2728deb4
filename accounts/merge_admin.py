"""The people admin's merge page: a CME editor previews merging a duplicate person into another, then confirms.

GET /admin/accounts/user/merge/?keep=<address>&merge=<address> shows the
preview (accounts.merging.person_merge_preview); its form POSTs the preview's
version and the editor's choices to the same address, which merges
(accounts.merging.person_merge) or shows the refusal with the merge as it
stands now. The people list's action "Merge two people" opens the page for the
two selected.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from accounts.merging import (
    CHOICE,
    DUPLICATE_REMOVED,
    KEEP_BOTH,
    MOVES,
    PRIMARY_MOVES,
    REMOVE,
    MergePreview,
    MergeRefused,
    person_merge,
    person_merge_preview,
)
from pars.addresses import EmailAddressField
from pars.admin import is_database_id

User = get_user_model()

NO_SUCH_PERSON = "Nobody has this email address. Check it in the people list."
MERGE_PICK_TWO = "Select exactly two people to merge (you selected {count})."
MERGE_STALE_FORM = (
    "The merge page was incomplete or out of date. Nothing was merged; check the preview and confirm again."
)
MERGED = (
    "Merged {merge} <{old}> into {keep} <{new}>: {moved} role(s) moved, {removed} removed. "
    "{old} can no longer sign in, and now finds {keep}."
)
MERGED_INVITED = " {keep} has not set a password: the set-password email is queued."
ROLE_PREFIX = "role_"

# The two are often namesakes: the page says "the person kept" and "the duplicate", and gives both addresses.
OUTCOME_TEXT = {
    MOVES: "Moves to the person kept.",
    PRIMARY_MOVES: "The person kept becomes the Primary Contact (the role always moves: an organization has exactly one).",
    DUPLICATE_REMOVED: "The person kept is Staff here already: the duplicate's Staff row is removed.",
}
MOVE_BOTH = "Move it to the person kept, who then holds both roles"
REMOVE_IT = "Remove it: the person kept keeps only the roles they hold here"


class PersonMergeChoiceForm(forms.Form):
    """The two people, by email address; each must be a person (the service judges the pair)."""

    keep = EmailAddressField(label="Person to keep (email address)")
    merge = EmailAddressField(label="Duplicate to merge into them (email address)")

    def clean(self):
        cleaned = super().clean()
        for name in ("keep", "merge"):
            if cleaned.get(name):
                cleaned[f"{name}_person"] = User.objects.filter(email=cleaned[name]).first()
                if cleaned[f"{name}_person"] is None:
                    self.add_error(name, NO_SUCH_PERSON)
        return cleaned


class PersonMergeConfirmForm(forms.Form):
    """What the preview page posts: the two people, the preview's version, and a choice per conflicting role.

    With a preview, it also has a radio field per choice of the preview (to render it);
    the service checks that each removal it is given is one of its choices.
    """

    keep = forms.CharField(widget=forms.HiddenInput)
    merge = forms.CharField(widget=forms.HiddenInput)
    version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, preview: MergePreview | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = []
        if preview is None:
            return
        for name, value in (("keep", preview.keep.pk), ("merge", preview.merge.pk), ("version", preview.version)):
            self.initial[name] = value
        for plan in preview.choices:
            field = forms.ChoiceField(
                label=f"{plan.role_label} at {plan.organization}",
                choices=[
                    (KEEP_BOTH, MOVE_BOTH),
                    (REMOVE, REMOVE_IT),
                ],
                initial=KEEP_BOTH,
                widget=forms.RadioSelect,
            )
            self.fields[f"{ROLE_PREFIX}{plan.contact_role.pk}"] = field
        self.plans = [(plan, self[f"{ROLE_PREFIX}{plan.contact_role.pk}"]) for plan in preview.choices]

    def clean(self):
        cleaned = super().clean()
        ids = [cleaned.get("keep"), cleaned.get("merge")]
        if not all(is_database_id(pk) for pk in ids):
            raise forms.ValidationError(MERGE_STALE_FORM)
        people = User.objects.in_bulk(ids)
        if len(people) != len(set(ids)):
            raise forms.ValidationError(MERGE_STALE_FORM)
        cleaned["keep_person"], cleaned["merge_person"] = people[int(ids[0])], people[int(ids[1])]
        cleaned["remove"] = [
            int(key.removeprefix(ROLE_PREFIX))
            for key, value in self.data.items()
            if key.startswith(ROLE_PREFIX) and value == REMOVE and is_database_id(key.removeprefix(ROLE_PREFIX))
        ]
        return cleaned


def _rebound(data, preview: MergePreview) -> PersonMergeConfirmForm:
    """The confirm form of a refused merge: the editor's choices kept, the new preview's version and defaults."""
    data = data.copy()
    data["version"] = preview.version
    for plan in preview.choices:
        data.setdefault(f"{ROLE_PREFIX}{plan.contact_role.pk}", KEEP_BOTH)
    return PersonMergeConfirmForm(data, preview=preview)


@admin.action(description="Merge two people (preview first)", permissions=["change"])
def merge_people(modeladmin, request, queryset):
    """Open the merge page for the two selected people: the one who joined later is proposed as the one to keep."""
    people = list(queryset.order_by("-date_joined", "-pk")[:3])
    if len(people) != 2:
        modeladmin.message_user(request, MERGE_PICK_TWO.format(count=queryset.count()), messages.WARNING)
        return None
    query = urlencode({"keep": people[0].email, "merge": people[1].email})
    return HttpResponseRedirect(f"{reverse('admin:accounts_user_merge')}?{query}")


class PersonMergeAdminMixin:
    """The merge page of the people admin. For CME editors and superusers: whoever may change people."""

    merge_template = "admin/accounts/user/merge.html"

    def get_urls(self):
        merge = path("merge/", self.admin_site.admin_view(self.merge_view), name="accounts_user_merge")
        return [merge, *super().get_urls()]

    def merge_view(self, request):
        """CME editors and superusers: GET previews the merge of two people, POST confirms it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._merge_confirm(request)
        choice = PersonMergeChoiceForm(request.GET or None)
        preview = None
        if choice.is_valid():
            data = choice.cleaned_data
            preview = person_merge_preview(keep=data["keep_person"], merge=data["merge_person"])
        return self._merge_page(request, choice, preview, PersonMergeConfirmForm(preview=preview), [])

    def _merge_confirm(self, request):
        form = PersonMergeConfirmForm(request.POST)
        if not form.is_valid():
            self.message_user(request, MERGE_STALE_FORM, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_user_merge"))
        data = form.cleaned_data
        try:
            merged = person_merge(
                keep=data["keep_person"],
                merge=data["merge_person"],
                by=request.user,
                version=data["version"],
                remove=data["remove"],
            )
        except MergeRefused as refused:
            preview = refused.preview
            choice = PersonMergeChoiceForm(initial={"keep": preview.keep.email, "merge": preview.merge.email})
            confirm = _rebound(request.POST, preview)
            return self._merge_page(request, choice, preview, confirm, refused.messages)
        message = MERGED.format(
            merge=merged.merge,
            old=merged.merge.email,
            keep=merged.keep,
            new=merged.keep.email,
            moved=len(merged.moved),
            removed=len(merged.removed),
        )
        if merged.invited:
            message += MERGED_INVITED.format(keep=merged.keep)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[merged.keep.pk]))

    def _merge_page(self, request, choice, preview, confirm, errors):
        rows = []
        if preview is not None:
            choices = {plan.contact_role.pk: field for plan, field in confirm.plans}
            for plan in preview.roles:
                text = OUTCOME_TEXT.get(plan.outcome, "")
                rows.append({"plan": plan, "text": text, "field": choices.get(plan.contact_role.pk)})
        swap = (
            f"?{urlencode({'keep': preview.merge.email, 'merge': preview.keep.email})}" if preview is not None else ""
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge two people",
            "opts": self.model._meta,
            "choice": choice,
            "preview": preview,
            "confirm": confirm,
            "rows": rows,
            "errors": errors,
            "swap": swap,
            "CHOICE": CHOICE,
        }
        return TemplateResponse(request, self.merge_template, context)
