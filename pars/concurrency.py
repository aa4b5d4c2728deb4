"""Edits that never silently undo each other: each save writes only the fields its form changed,
and a field someone else changed since the form was opened is a conflict shown to the person.

Every edit form of a single row (the organization's details on the site and in the
admin, a contact's details, Edit My Profile, a person in the admin) mixes in
ConcurrentEditFormMixin. The form carries, signed in a hidden field, the values it
was rendered with (its baseline). On submit:

- the fields the person changed are those whose value differs from the baseline;
  only they are written (`update_fields`), so a confirmation, a hand-over or another
  person's edit of another field saved meanwhile stays: different fields merge;
- a field the person changed that someone else also changed since (its current value
  differs from the baseline, and from the person's) is a conflict: nothing is saved,
  and the form comes back with the person's input, each conflict showing their value
  beside yours, who changed it and when (from simple-history), and a choice: save
  mine (the form now carries the current values as its baseline) or keep theirs.

The form compares with the row as the request loaded it; changes_save compares again
under a row lock, so a change committed in between is refused (EditConflict) too.
"""

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

BASELINE_FIELD = "edit_baseline"
RESOLUTION_FIELD = "edit_resolution"  # the name of the conflict page's two buttons
KEEP_THEIRS = "theirs"
EDIT_CONFLICT = (
    "Someone else saved changes to this since you opened the page. Nothing was saved. "
    "Compare their values with yours below, then save yours or keep theirs."
)
FIELD_CONFLICT = "Changed to “{theirs}” by {by} on {at} since you opened the page; you entered “{yours}”."
SOMEONE = "someone"
NOT_RECORDED = "a date not recorded"


@dataclass(frozen=True)
class Conflict:
    """One field both people changed: its value now (theirs), the one submitted (yours), who and when."""

    field: str
    label: str
    theirs: str
    yours: str
    by: str
    at: datetime | None

    def message(self) -> str:
        at = date_format(timezone.localtime(self.at), "M j, Y, g:i a") if self.at else NOT_RECORDED
        return FIELD_CONFLICT.format(theirs=self.theirs, by=self.by, at=at, yours=self.yours)


class EditConflict(ValidationError):
    """Raised by changes_save when a field it was to write was changed by someone else first."""

    def __init__(self, conflicts: list[Conflict]):
        self.conflicts = conflicts
        super().__init__([EDIT_CONFLICT] + [f"{c.label}: {c.message()}" for c in conflicts])


@dataclass(frozen=True)
class Saved:
    """What changes_save wrote: the row as saved, and the names of the fields it changed."""

    instance: object
    changed: tuple[str, ...]


def value_text(value) -> str:
    """A value as text, the same way for a row, a form's cleaned value and a history record."""
    if value is None:
        return ""
    return str(value.pk) if hasattr(value, "pk") else str(value)


def field_text(instance, name: str) -> str:
    return value_text(instance._meta.get_field(name).value_from_object(instance))


def _changed_by(instance, name: str, theirs: str, since: datetime | None) -> tuple[str, datetime | None]:
    """Who gave the field its current value, and when: the first history record since `since` with it."""
    if not hasattr(instance, "history"):
        return SOMEONE, None
    records = instance.history.select_related("history_user").order_by("history_date")
    if since is not None:
        records = records.filter(history_date__gt=since)
    for record in records[:100]:
        if field_text(record, name) == theirs:
            return str(record.history_user or SOMEONE), record.history_date
    return SOMEONE, None


def conflicts_find(*, instance, current: dict, changes: dict, baseline: dict, since=None) -> list[Conflict]:
    """The fields in `changes` whose current text is neither the baseline's nor the change's.

    current: field name -> text of its value now; instance: the row, for labels and its history.
    """
    conflicts = []
    for name, value in changes.items():
        theirs, yours = current[name], value_text(value)
        if name in baseline and theirs not in (baseline[name], yours):
            by, at = _changed_by(instance, name, theirs, since)
            label = str(instance._meta.get_field(name).verbose_name).capitalize()
            conflicts.append(Conflict(field=name, label=label, theirs=theirs, yours=yours, by=by, at=at))
    return conflicts


def changes_save(*, instance, changes: dict, baseline: dict, by, since: datetime | None = None) -> Saved:
    """Write `changes` (field name -> value) to the instance's row, only those fields, under a row lock.

    baseline: field name -> text of the value the editor's form was rendered with.
    A field someone else changed meanwhile raises EditConflict and nothing is written.
    The validation (full_clean) of the changed fields runs on the row as it is now with the changes applied.
    """
    model = type(instance)
    with transaction.atomic():
        current = model._default_manager.select_for_update(no_key=True).get(pk=instance.pk)
        texts = {name: field_text(current, name) for name in changes}
        conflicts = conflicts_find(instance=current, current=texts, changes=changes, baseline=baseline, since=since)
        if conflicts:
            raise EditConflict(conflicts)
        for name, value in changes.items():
            setattr(current, name, value)
        if changes:
            current._history_user = by
            if hasattr(instance, "_history_date"):  # a command recording a change when it happened
                current._history_date = instance._history_date
            # Validate what changes: a rule of untouched fields was checked when they were saved.
            current.full_clean(exclude=[f.name for f in model._meta.concrete_fields if f.name not in changes])
            current.save(update_fields=list(changes))
    return Saved(instance=current, changed=tuple(changes))


class BaselineField(forms.CharField):
    """The signed baseline: never a change of its own (the admin's change message lists changed fields)."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data):
        return False


class ConcurrentEditFormMixin:
    """A ModelForm editing one row that saves only what the person changed and shows real conflicts.

    Render includes/edit_conflict.html inside the <form> (the admin's change form
    template does so). After is_valid(), pass changes(), baseline() and opened_at() to
    the service that saves (changes_save, or a service built on it); an EditConflict it
    raises goes back to the form through conflicts_show().
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflicts: list[Conflict] = []
        concrete = {f.name for f in self.instance._meta.concrete_fields}
        self.tracked = [name for name, field in self.fields.items() if not field.disabled and name in concrete]
        # The row as this request loaded it, before validation writes the input into the instance.
        self.loaded = {name: field_text(self.instance, name) for name in self.tracked}
        self.fields[BASELINE_FIELD] = BaselineField(required=False)
        self.initial[BASELINE_FIELD] = self._sign(self.loaded, [])
        self.token = self._read_token() if self.is_bound else {"values": self.loaded, "theirs": []}

    def _salt(self) -> str:
        return f"pars.concurrency:{self.instance._meta.label}:{self.instance.pk}"

    def _sign(self, values: dict, theirs: list) -> str:
        payload = {"values": values, "theirs": theirs, "at": timezone.now().isoformat()}
        return signing.dumps(payload, salt=self._salt(), compress=True)

    def _read_token(self) -> dict:
        """The baseline the form was rendered with; without a valid one, the row as loaded now."""
        try:
            return signing.loads(self.data.get(self.add_prefix(BASELINE_FIELD), ""), salt=self._salt())
        except signing.BadSignature:
            return {"values": self.loaded, "theirs": []}

    def baseline(self) -> dict:
        return {**self.loaded, **self.token.get("values", {})}

    def opened_at(self) -> datetime | None:
        at = self.token.get("at")
        return datetime.fromisoformat(at) if at else None

    def changes(self) -> dict:
        """The fields the person changed from the form they were shown, with their new values.

        After a conflict, "Keep theirs" (RESOLUTION_FIELD) leaves the conflicting fields out.
        """
        skipped = set(self.token.get("theirs", [])) if self.data.get(RESOLUTION_FIELD) == KEEP_THEIRS else set()
        baseline = self.baseline()
        return {
            name: self.cleaned_data[name]
            for name in self.tracked
            if name in self.cleaned_data
            and name not in skipped
            and value_text(self.cleaned_data[name]) != baseline[name]
        }

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and not self.errors:
            conflicts = conflicts_find(
                instance=self.instance,
                current=self.loaded,
                changes=self.changes(),
                baseline=self.baseline(),
                since=self.opened_at(),
            )
            if conflicts:
                self.conflicts_show(conflicts)
        return cleaned

    def conflicts_show(self, conflicts: list[Conflict]) -> None:
        """Refuse the save: each conflict on its field, and the baseline now the values they saved."""
        self.conflicts = conflicts
        self.add_error(None, EDIT_CONFLICT)
        for conflict in conflicts:
            self.add_error(conflict.field if conflict.field in self.fields else None, conflict.message())
        values = {**self.baseline(), **{c.field: c.theirs for c in conflicts}}
        data = self.data.copy()
        data[self.add_prefix(BASELINE_FIELD)] = self._sign(values, [c.field for c in conflicts])
        self.data = data
