"""The organization's History tab: three streams of records merged into sentences, newest first.

Organization.history (its details and confirmations), ContactRole.history (its
roster) and User.history (the details of the people on it). A person's changes
are part of this organization's history only while they held a role here: what
someone did to their details before they joined, between two spells or after they
left belongs to no one reading this page.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from django.contrib.auth import get_user_model
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When, Window
from django.db.models.functions import Lag

from contacts.models import ContactRole, Organization, Role

User = get_user_model()
HistoricalContactRole = ContactRole.history.model
HistoricalUser = User.history.model

ORGANIZATION_HISTORY_FIELDS = [
    field.name
    for field in Organization._meta.get_fields()
    if field.concrete
    and field.name
    not in {
        "id",
        "search_text",
        "contacts_confirmed_at",
        "contacts_confirmed_by",
        "primary_welcomed_at",
        "primary_welcomed_by",
    }
]
# A person's details as the roster shows them. Not their password (never in history),
# logins, permissions or staff status: saving those is not a change of details.
PERSON_HISTORY_FIELDS = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]
NOBODY = "(blank)"


def _entry(record) -> dict:
    """The actor is named when the page is chosen (_names_then); their name today only if history has none."""
    actor = str(record.history_user) if record.history_user else "CME staff or the system"
    return {
        "when": record.history_date,
        "history_id": record.history_id,
        "actor_id": record.history_user_id,
        "actor": actor,
        # The accreditor's staff are marked as such, so a provider tells them from a colleague.
        "actor_is_staff": bool(record.history_user and record.history_user.is_staff),
        "changes": [],
    }


def _field_value(field, value) -> str:
    if value in (None, ""):
        return NOBODY
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _change(field, old, new) -> str:
    return f"{field.verbose_name} from “{_field_value(field, old)}” to “{_field_value(field, new)}”"


def _organization_entries(records) -> list[dict]:
    """records newest first; each is compared with the one after it (its predecessor)."""
    entries = []
    if not records:  # a page past the organization's own records (a cursor among the roster's)
        return entries
    for record, previous in zip(records, [*records[1:], None], strict=True):
        entry = _entry(record)
        if record.history_type == "+" or previous is None:
            entry["action"] = "created the organization"
        elif record.history_type == "-":
            entry["action"] = "deleted the organization"
        elif record.contacts_confirmed_at and record.contacts_confirmed_at != previous.contacts_confirmed_at:
            entry["action"] = "confirmed the contacts are current"
        elif record.primary_welcomed_at and record.primary_welcomed_at != previous.primary_welcomed_at:
            entry["action"] = "welcomed the new Primary Contact"
        else:
            for name in ORGANIZATION_HISTORY_FIELDS:
                field = Organization._meta.get_field(name)
                old, new = getattr(previous, field.attname), getattr(record, field.attname)
                if old != new:
                    entry["changes"].append(f"changed {_change(field, old, new)}")
            entry["action"] = (
                "changed the organization's details" if entry["changes"] else "saved the details unchanged"
            )
        entries.append(entry)
    return entries


def _names_then(moments: set[tuple[int, object]]) -> dict[tuple[int, object], tuple[str, str, bool]]:
    """For each (person id, moment), the person's name and address as their own history had them then, and whether
    they were merged into another person since (accounts.merging), in one query.

    Not their name today: a former contact's later renaming is none of this
    organization's business. Their earliest record stands in for a moment before
    their history began.

    One small query whatever the number of moments: the records of the few people
    the page names up to its newest moment (and each one's earliest, for a person
    whose history began later), then one pass per person in Python.
    """
    if not moments:
        return {}
    people = {person_id for person_id, _ in moments}
    earliest = HistoricalUser.objects.filter(id=OuterRef("id")).order_by("history_date", "history_id")
    rows = (
        HistoricalUser.objects.filter(id__in=people)
        .filter(
            Q(history_date__lte=max(moment for _, moment in moments))
            | Q(history_id=Subquery(earliest.values("history_id")[:1]))
        )
        .annotate(merged=Exists(User.objects.filter(pk=OuterRef("id"), merged_into__isnull=False)))
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "first_name", "last_name", "email", "merged")
    )
    records: dict[int, list[tuple]] = {}
    for person_id, *record in rows:
        records.setdefault(person_id, []).append(record)
    names = {}
    for person_id, moment in moments:
        history = records.get(person_id)
        if history:
            # The last record at or before the moment, else the earliest.
            index = bisect_right(history, moment, key=itemgetter(0))
            _, first_name, last_name, email, merged = history[max(index - 1, 0)]
            names[person_id, moment] = (f"{first_name} {last_name}".strip() or email, email, merged)
    return names


def _named(name_then: tuple[str, str, bool] | None, entry: dict, default: str = "a former contact") -> str:
    """A person as the page names them: a merged duplicate, and both people of a merge, with their address then."""
    if name_then is None:
        return default
    name, email, merged = name_then
    return f"{name} <{email}>" if (merged or entry.get("with_address")) and name != email else name


# The change reason of the role rows accounts.merging moves or removes: who was merged into whom.
MERGE_REASON = "Merged duplicate person #{merged} into person #{kept}"
_MERGE_REASON_PATTERN = re.compile(r"Merged duplicate person #(\d+) into person #(\d+)")


def merge_reason(*, merged, kept) -> str:
    return MERGE_REASON.format(merged=merged.pk, kept=kept.pk)


def _merged_records_people(record) -> dict[str, int] | None:
    """{"previous": the merged person's id, "person": the kept person's}, for a record a merge wrote."""
    match = _MERGE_REASON_PATTERN.fullmatch(record.history_change_reason or "")
    return {"previous": int(match[1]), "person": int(match[2])} if match else None


def _role_entries(records) -> list[dict]:
    """Actions name people as {person} and {previous}: history_page fills in their names then."""
    entries = []
    for record in records:
        role = Role(record.role).label if record.role in Role.values else record.role
        entry = _entry(record)
        entry["people"] = {"person": record.person_id}
        merged = _merged_records_people(record)
        if merged:
            # The same human under two addresses: each is named with the address it had.
            entry["people"], entry["with_address"] = merged, True
            if record.history_type == "-":
                entry["action"] = f"removed the duplicate {{previous}} from {role} on merging them into {{person}}"
            else:
                entry["action"] = f"merged the duplicate {{previous}} into {{person}}, who now holds the {role} role"
        elif record.history_type == "+" and record.history_user_id == record.person_id:
            entry["action"] = f"added themselves as {role}"
        elif record.history_type == "+":
            entry["action"] = f"assigned {{person}} as {role}"
        elif record.history_type == "-":
            entry["action"] = f"removed {{person}} from {role}"
        elif record.previous_person_id and record.previous_person_id != record.person_id:
            entry["people"]["previous"] = record.previous_person_id
            if record.role == Role.PRIMARY:
                entry["action"] = "handed the Primary Contact role from {previous} to {person}"
            else:
                entry["action"] = f"replaced {{previous}} with {{person}} as {role}"
        else:
            entry["action"] = f"updated the {role} role of {{person}}"
        entries.append(entry)
    return entries


def _person_entries(records) -> list[dict]:
    """A person's records annotated with previous_<field>: their details just before the change."""
    entries = []
    for record in records:
        previous = {name: getattr(record, f"previous_{name}") for name in PERSON_HISTORY_FIELDS}
        # Named as the organization knew them when the change was made.
        name = f"{previous['first_name']} {previous['last_name']}".strip() or previous["email"]
        whose = "their" if record.history_user_id == record.id else f"{name}'s"
        changes = [
            _change(User._meta.get_field(field), previous[field], getattr(record, field))
            for field in PERSON_HISTORY_FIELDS
            if getattr(record, field) != previous[field]
        ]
        entry = _entry(record)
        if len(changes) == 1:
            entry["action"] = f"changed {whose} {changes[0]}"
        else:
            entry["action"] = f"changed {whose} details"
            entry["changes"] = [f"changed {change}" for change in changes]
        entries.append(entry)
    return entries


def _person_records(organization, limit: int, older: Q):
    """The newest `limit` changes of detail made to people while they held a role at the organization.

    Each record carries previous_<field> (by a window over the person's whole
    history, so the first change after joining is compared with the details they
    joined with). "Held a role at the moment of the change" is: some role row here
    whose latest record at that moment names them and is not a removal.

    The window must see every record of each person, so the only plain filter is
    "ever on this roster"; whether a record is a change, and made while on the
    roster, is one CASE over the window's results, which Django applies after the
    window is computed (filtering against a window function).
    """
    roster_records = HistoricalContactRole.objects.filter(organization_id=organization.pk)
    held_a_role_then = Exists(
        roster_records.filter(person_id=OuterRef("id"), history_date__lte=OuterRef("history_date"))
        .exclude(history_type="-")
        .exclude(
            Exists(
                HistoricalContactRole.objects.filter(
                    id=OuterRef("id"),
                    history_id__gt=OuterRef("history_id"),
                    history_date__lte=OuterRef(OuterRef("history_date")),
                )
            )
        )
    )
    in_order = {"partition_by": [F("id")], "order_by": [F("history_id").asc()]}
    previous = {f"previous_{name}": Window(Lag(name), **in_order) for name in PERSON_HISTORY_FIELDS}
    changed = Q()
    for name in PERSON_HISTORY_FIELDS:
        changed |= ~Q(**{name: F(f"previous_{name}")})
    return (
        HistoricalUser.objects.filter(id__in=roster_records.values("person_id"))
        .select_related("history_user")
        .annotate(previous_history_id=Window(Lag("history_id"), **in_order), **previous)
        .alias(
            shown=Case(
                When(
                    Q(history_type="~", previous_history_id__isnull=False) & changed & older & held_a_role_then,
                    then=True,
                ),
                default=Value(False),
            )
        )
        .filter(shown=True)
        .order_by("-history_date", "-history_id")[:limit]
    )


@dataclass(frozen=True)
class Cursor:
    """Where a page of history ends: its last entry's moment, stream and record id (`?before=`)."""

    when: datetime
    stream: int
    history_id: int

    def __str__(self) -> str:
        return f"{self.when.isoformat()},{self.stream},{self.history_id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        """None for anything a page of ours did not write: the caller shows the newest page."""
        try:
            when, stream, history_id = text.split(",")
            cursor = cls(datetime.fromisoformat(when), int(stream), int(history_id))
        except ValueError:
            return None
        valid = (
            cursor.when.tzinfo is not None and cursor.stream in STREAMS and 0 < cursor.history_id <= LARGEST_HISTORY_ID
        )
        return cursor if valid else None

    def older(self, stream: int) -> Q:
        """A stream's records after this cursor in the page's order: newest first, then by stream, then newest record."""
        if stream < self.stream:
            return Q(history_date__lt=self.when)
        if stream > self.stream:
            return Q(history_date__lte=self.when)
        return Q(history_date__lt=self.when) | Q(history_date=self.when, history_id__lt=self.history_id)


# The order in which entries of one moment are shown; the ids that fit the records' integer column.
ORGANIZATION, ROSTER, PEOPLE = STREAMS = (0, 1, 2)
LARGEST_HISTORY_ID = 2**31 - 1


def _older(before: Cursor | None, stream: int) -> Q:
    return before.older(stream) if before else Q()


def history_page(
    organization, *, page: int, per_page: int, before: Cursor | None = None
) -> tuple[list[dict], Cursor | None]:
    """One page of the organization's history and the cursor of the next older page, if any.

    Four queries whatever the page, the roster or the history: the organization's
    records, the roster's records (each with its previous holder, by a window
    function), the changes to the people's details, and the names then of the
    people the page names. With a cursor (`before`, the last entry of the newer
    page) each stream gives its per_page + 1 entries after it; without one, its
    newest page * per_page + 1: enough to fill the page and to know whether an
    older one exists, however they interleave.
    """
    start = 0 if before else (page - 1) * per_page
    wanted = start + per_page + 1
    organization_records = list(
        Organization.history.filter(_older(before, ORGANIZATION), id=organization.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: wanted + 1]
    )
    role_records = list(
        ContactRole.history.filter(_older(before, ROSTER), organization_id=organization.pk)
        .select_related("history_user")
        .annotate(
            previous_person_id=Window(
                Lag("person_id"), partition_by=[F("id")], order_by=[F("history_date").asc(), F("history_id").asc()]
            )
        )
        .order_by("-history_date", "-history_id")[:wanted]
    )
    streams = {
        ORGANIZATION: _organization_entries(organization_records)[:wanted],
        ROSTER: _role_entries(role_records),
        PEOPLE: _person_entries(list(_person_records(organization, wanted, _older(before, PEOPLE)))),
    }
    entries = [entry | {"stream": stream} for stream, found in streams.items() for entry in found]
    entries.sort(key=lambda entry: (entry["when"], -entry["stream"], entry["history_id"]), reverse=True)
    shown = entries[start : start + per_page]
    names = _names_then(
        {(entry["actor_id"], entry["when"]) for entry in shown if entry["actor_id"]}
        | {(person_id, entry["when"]) for entry in shown for person_id in entry.get("people", {}).values()}
    )
    for entry in shown:
        entry["actor"] = _named(names.get((entry["actor_id"], entry["when"])), {}, default=entry["actor"])
        if "people" in entry:
            people = {key: _named(names.get((pk, entry["when"])), entry) for key, pk in entry["people"].items()}
            entry["action"] = entry["action"].format(**people)
    if len(entries) <= start + per_page:
        return shown, None
    last = shown[-1]
    return shown, Cursor(last["when"], last["stream"], last["history_id"])
