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
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

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
        # Why, when the writer said (a bulk import and its undo); a merge's reason is worded as the action itself.
        "reason": None
        if _MERGE_REASON_PATTERN.fullmatch(record.history_change_reason or "")
        else record.history_change_reason,
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


def _names_then(
    moments: set[tuple[int, object]], records: set[int]
) -> tuple[dict[tuple[int, object], tuple[str, str, bool]], dict[int, dict]]:
    """For each (person id, moment), the person's name and address as their own history had them then, and
    whether they were merged into another person since (accounts.merging), in one query.

    Not their name today: a former contact's later renaming is none of this
    organization's business. Their creation record stands in for a moment before
    their history began.

    One small query whatever the depth of their histories: the records of the
    people the page names between its oldest and newest moments, plus each one's
    creation record and last record before the page (one index lookup per person,
    never a read of a person's whole history); then one pass per person in Python. The same query brings the
    details of `records` (history ids: the records the page's changes of details
    are compared with), returned by history id.
    """
    wanted = Q(history_id__in=records)
    people = {person_id for person_id, _ in moments}
    if people:
        oldest, newest = min(moment for _, moment in moments), max(moment for _, moment in moments)
        # Each person's creation record, and for each one lookup (an index on
        # (id, history_date, history_id)) of their last record before the page.
        last_before = RawSQL(
            _LAST_RECORD_BEFORE.format(people=", ".join(["%s"] * len(people))),
            (connection.ops.adapt_datetimefield_value(oldest), *people),
            output_field=BooleanField(),
        )
        wanted |= (
            Q(id__in=people, history_date__gt=oldest, history_date__lte=newest)
            | Q(id__in=people, history_type="+")
            | Q(last_before)
        )
    if not (people or records):
        return {}, {}
    rows = (
        HistoricalUser.objects.filter(wanted)
        .annotate(merged=RawSQL(_MERGED_SINCE, (), output_field=BooleanField()))
        .order_by("id", "history_date", "history_id")
        .values("id", "history_date", "history_id", "merged", *PERSON_HISTORY_FIELDS)
    )
    by_person: dict[int, list[dict]] = {}
    details = {}
    for row in rows:
        by_person.setdefault(row["id"], []).append(row)
        details[row["history_id"]] = row
    names = {}
    for person_id, moment in moments:
        history = by_person.get(person_id)
        if history:
            # The last record at or before the moment, else the earliest read (their creation record).
            index = bisect_right(history, moment, key=itemgetter("history_date"))
            then = history[max(index - 1, 0)]
            names[person_id, moment] = (_name(then), then["email"], then["merged"])
    return names, details


# Written out, not as Subquery()/Exists(): they run on every History page, and the ORM's
# nested expressions cost more Python to build than the lookups cost the database.
_PERSON_TABLE = HistoricalUser._meta.db_table
_LAST_RECORD_BEFORE = (
    f'"{_PERSON_TABLE}"."history_id" IN (SELECT (SELECT latest."history_id" FROM "{_PERSON_TABLE}" latest'
    f' WHERE latest."id" = created."id" AND latest."history_date" <= %s'
    f' ORDER BY latest."history_date" DESC, latest."history_id" DESC LIMIT 1)'
    f' FROM "{_PERSON_TABLE}" created WHERE created."history_type" = \'+\' AND created."id" IN ({{people}}))'
)
_MERGED_SINCE = (
    f'EXISTS (SELECT 1 FROM "{User._meta.db_table}" person_now WHERE person_now."id" = "{_PERSON_TABLE}"."id"'
    ' AND person_now."merged_into_id" IS NOT NULL)'
)


def _name(details: dict) -> str:
    return f"{details['first_name']} {details['last_name']}".strip() or details["email"]


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


def _person_entry(entry: dict, previous: dict) -> None:
    """Word a change of a person's details, compared with `previous`: their details just before it."""
    record = entry.pop("record")
    # Named as the organization knew them when the change was made.
    whose = "their" if record.history_user_id == record.id else f"{_name(previous)}'s"
    changes = [
        _change(User._meta.get_field(field), previous[field], getattr(record, field))
        for field in PERSON_HISTORY_FIELDS
        if getattr(record, field) != previous[field]
    ]
    if len(changes) == 1:
        entry["action"] = f"changed {whose} {changes[0]}"
    else:
        entry["action"] = f"changed {whose} details"
        entry["changes"] = [f"changed {change}" for change in changes]


def _person_records(organization, limit: int, older: Q, *, newest_first: bool = True):
    """The newest `limit` changes of detail made to people while they held a role at the organization.

    A change is a record whose details differ from the same person's record just
    before it (by history_id): its id is previous_history_id, so the first change
    after joining is compared with the details they joined with, and the page reads
    those details with the names (_names_then). "Held a role at the moment of the
    change" is: some role row here whose latest record at that moment names them
    and is not a removal.

    Each condition is a lookup of the one record in question (the person's index
    finds the record before it), never a window over a person's whole history; the
    caller bounds how far back the records are read (_newer_than_the_full_streams).
    """
    held_a_role_then, previous_history_id, changed = _PEOPLE_CONDITIONS
    return (
        HistoricalUser.objects.annotate(previous_history_id=RawSQL(previous_history_id, ()))
        .filter(
            older,
            RawSQL(changed, (), output_field=BooleanField()),
            RawSQL(held_a_role_then, (organization.pk, organization.pk), output_field=BooleanField()),
            history_type="~",
        )
        .select_related("history_user")
        .order_by(*(["-history_date", "-history_id"] if newest_first else ["history_date", "history_id"]))[:limit]
    )


def _people_conditions() -> tuple[str, str, str]:
    """The people stream's three per-record conditions, as SQL over the outer historical person row.

    Written out, not as Exists()/Subquery()/OuterRef(): the History tab builds this
    query on every visit, and resolving those nested expressions was half of the
    page's Python work (17,030 calls to build, compile and run it; see
    bench.profile_page). The same SQL on SQLite and PostgreSQL:
    - held a role here then (%s, %s: the organization): some role row of theirs here
      whose latest record at that moment is theirs and not a removal;
    - previous_history_id: their record just before this one;
    - changed: it exists, and differs in a detail the roster shows.
    """
    person, role = HistoricalUser._meta.db_table, HistoricalContactRole._meta.db_table
    # Only the people ever on this roster are read at all (the person index), then each record is checked.
    held = (
        f'"{person}"."id" IN (SELECT "person_id" FROM "{role}" WHERE "organization_id" = %s) AND '
        f'EXISTS (SELECT 1 FROM "{role}" r WHERE r."organization_id" = %s AND r."person_id" = "{person}"."id"'
        f' AND r."history_date" <= "{person}"."history_date" AND r."history_type" <> \'-\''
        f' AND NOT EXISTS (SELECT 1 FROM "{role}" later WHERE later."id" = r."id"'
        f' AND later."history_id" > r."history_id" AND later."history_date" <= "{person}"."history_date"))'
    )
    previous = (
        f'(SELECT p."history_id" FROM "{person}" p WHERE p."id" = "{person}"."id"'
        f' AND p."history_id" < "{person}"."history_id" ORDER BY p."history_id" DESC LIMIT 1)'
    )
    same = " AND ".join(f'p."{name}" = "{person}"."{name}"' for name in PERSON_HISTORY_FIELDS)
    changed = (
        f"{previous} IS NOT NULL"
        f' AND NOT EXISTS (SELECT 1 FROM "{person}" p WHERE p."history_id" = {previous} AND {same})'
    )
    return held, previous, changed


_PEOPLE_CONDITIONS = _people_conditions()


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

    def newer(self, stream: int) -> Q:
        """A stream's records before this cursor in the page's order (`?after=`: the way back to newer pages)."""
        if stream < self.stream:
            return Q(history_date__gte=self.when)
        if stream > self.stream:
            return Q(history_date__gt=self.when)
        return Q(history_date__gt=self.when) | Q(history_date=self.when, history_id__gt=self.history_id)

    @classmethod
    def including(cls, when: datetime, stream: int, history_id: int) -> "Cursor":
        """The cursor whose older page starts with this entry."""
        return cls(when, stream, history_id + 1)


# The order in which entries of one moment are shown; the ids that fit the records' integer column.
ORGANIZATION, ROSTER, PEOPLE = STREAMS = (0, 1, 2)
LARGEST_HISTORY_ID = 2**31 - 1


def _older(before: Cursor | None, stream: int) -> Q:
    return before.older(stream) if before else Q()


def _newer_than_the_full_streams(organization_entries: list, role_records: list, wanted: int) -> Q:
    """The people's records that can still make the page, given the two streams read before them.

    A stream that gave all `wanted` of its entries fills the page by itself down to
    its last one: a change to a person's details at or before that moment (entries
    of one moment show the people's last) cannot be among the page's `wanted`
    newest. The people's records are the costly stream, so it reads only the span
    the page can still reach.
    """
    reached = [found[wanted - 1] for found in (organization_entries, role_records) if len(found) >= wanted]
    if not reached:
        return Q()
    moments = [found["when"] if isinstance(found, dict) else found.history_date for found in reached]
    return Q(history_date__gt=max(moments))


# The role row's record just before a roster record: who held the role before it (read for the page's rows only).
_ROLE_TABLE = HistoricalContactRole._meta.db_table
_PREVIOUS_HOLDER = (
    f'(SELECT earlier."person_id" FROM "{_ROLE_TABLE}" earlier WHERE earlier."id" = "{_ROLE_TABLE}"."id"'
    f' AND (earlier."history_date" < "{_ROLE_TABLE}"."history_date" OR (earlier."history_date" ='
    f' "{_ROLE_TABLE}"."history_date" AND earlier."history_id" < "{_ROLE_TABLE}"."history_id"))'
    ' ORDER BY earlier."history_date" DESC, earlier."history_id" DESC LIMIT 1)'
)


def history_newer_start(organization, *, after: Cursor, per_page: int) -> Cursor | None:
    """The `before` cursor of the page of the per_page entries just newer than `after`; None if that is the newest.

    "Newer changes" goes back the way "Older changes" came, one page at a time,
    without reading from the newest entry down: three small queries read each
    stream's per_page + 1 entries nearest above `after` (moments and ids only),
    and the page then is read as any older page is. Fewer than per_page + 1 newer
    entries means the newest page holds them all.
    """
    ahead = per_page + 1
    streams = {
        ORGANIZATION: Organization.history.filter(after.newer(ORGANIZATION), id=organization.pk),
        ROSTER: ContactRole.history.filter(after.newer(ROSTER), organization_id=organization.pk),
    }
    found = {
        stream: list(records.order_by("history_date", "history_id").values_list("history_date", "history_id")[:ahead])
        for stream, records in streams.items()
    }
    # As on an older page, a stream that gave all it was asked for bounds how far the people's are read
    # (at one moment the people's entries come first, so that moment is still read).
    reach = [records[-1][0] for records in found.values() if len(records) == ahead]
    people = _person_records(
        organization,
        ahead,
        after.newer(PEOPLE) & (Q(history_date__lte=min(reach)) if reach else Q()),
        newest_first=False,
    )
    found[PEOPLE] = [(record.history_date, record.history_id) for record in people]
    nearest = [(when, -stream, history_id, stream) for stream, records in found.items() for when, history_id in records]
    if len(nearest) < ahead:
        return None
    when, _, history_id, stream = sorted(nearest)[per_page - 1]
    return Cursor.including(when, stream, history_id)


def history_page(
    organization, *, page: int, per_page: int, before: Cursor | None = None
) -> tuple[list[dict], Cursor | None]:
    """One page of the organization's history and the cursor of the next older page, if any.

    Four queries whatever the page, the roster or the history: the organization's
    records, the roster's records (each with its previous holder, read for
    those rows only), the changes to the people's details, and the names then of the
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
        .annotate(previous_person_id=RawSQL(_PREVIOUS_HOLDER, ()))
        .order_by("-history_date", "-history_id")[:wanted]
    )
    organization_entries = _organization_entries(organization_records)[:wanted]
    people_records = _person_records(
        organization,
        wanted,
        _older(before, PEOPLE) & _newer_than_the_full_streams(organization_entries, role_records, wanted),
    )
    streams = {
        ORGANIZATION: organization_entries,
        ROSTER: _role_entries(role_records),
        PEOPLE: [_entry(record) | {"record": record} for record in people_records],
    }
    entries = [entry | {"stream": stream} for stream, found in streams.items() for entry in found]
    entries.sort(key=lambda entry: (entry["when"], -entry["stream"], entry["history_id"]), reverse=True)
    shown = entries[start : start + per_page]
    names, details = _names_then(
        {(entry["actor_id"], entry["when"]) for entry in shown if entry["actor_id"]}
        | {(person_id, entry["when"]) for entry in shown for person_id in entry.get("people", {}).values()},
        {entry["record"].previous_history_id for entry in shown if "record" in entry},
    )
    for entry in shown:
        if "record" in entry:
            _person_entry(entry, details[entry["record"].previous_history_id])
        entry["actor"] = _named(names.get((entry["actor_id"], entry["when"])), {}, default=entry["actor"])
        if "people" in entry:
            people = {key: _named(names.get((pk, entry["when"])), entry) for key, pk in entry["people"].items()}
            entry["action"] = entry["action"].format(**people)
    if len(entries) <= start + per_page:
        return shown, None
    last = shown[-1]
    return shown, Cursor(last["when"], last["stream"], last["history_id"])
