"""What a bulk import would do, row by row: created, updated, unchanged or refused, and why.

import_plan reads the database in a fixed number of queries whatever the number of
rows (the organizations, the people, the rosters, and who already has access), then
decides each row in memory. The preview shows the plan; contacts.services.roster_import_apply
plans again inside its transaction and carries the plan out through the services.

The import only adds and corrects: a row that would take a role from its holder is
refused (the hand-over and the replacement have their own pages, with their notices),
and so is every row of a file that contradicts itself. While one row is refused,
nothing is imported.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from contacts.importfile import ImportRow
from contacts.models import ACCESS_ROLES, ContactRole, Organization, Role
from pars.addresses import email_canonical

User = get_user_model()

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
OUTCOMES = [CREATED, UPDATED, UNCHANGED, REFUSED]

ROW_NO_PROVIDER_ID = "row {row}: the provider ID is empty"
ROW_NO_EMAIL = "row {row}: the email is empty"
ROW_BAD_EMAIL = "row {row}: '{email}' is not an email address"
ROW_BAD_ROLE = "row {row}: '{role}' is not a contact role"
ROW_BAD_VALUE = "row {row}: {field}: {message}"
ROW_REPEATS = "row {row} repeats row {first}"
HOLDERS_IN_FILE = "{provider_id} has {count} {role}s in this file"
ORGANIZATION_VALUES_IN_FILE = "{provider_id} has two {field}s in this file: “{first}” and “{other}”"
PERSON_VALUES_IN_FILE = "row {row}: {email} has another {field} in row {first}: “{other}”"
NEW_WITHOUT_PRIMARY = "{provider_id} is a new organization: the file must name its Primary Contact"
NEW_WITHOUT_NAME = "{provider_id} is a new organization: the file must give its name"
WOULD_REPLACE = "{role} already held by {person}: this file would replace them"

NOTE_NEW_ORGANIZATION = "new organization"
NOTE_NEW_PERSON = "new person"
NOTE_INVITED = "invited to set a password"
NOTE_CHANGE = "{field}: “{old}” → “{new}”"

PERSON_FIELDS = ["first_name", "last_name", "credentials", "job_title", "phone"]
ORGANIZATION_FIELDS = {"organization": "name", "city": "city", "state": "state"}
COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
ROLE_NAMES = {
    **{role.value: role for role in Role},
    **{role.value.replace("_", " "): role for role in Role},
    **{role.label.lower(): role for role in Role},
}


@dataclass(frozen=True)
class RowPlan:
    """What one row of the file would do; the reasons when refused, notes on what changes otherwise."""

    number: int
    provider_id: str
    organization: str
    role: str
    role_label: str
    email: str
    name: str
    outcome: str
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # For the import itself: the person's details as the file gives them (non-empty only), and the
    # changes (field -> new value) this row makes to an existing person or organization.
    person_details: Mapping[str, str] = field(default_factory=dict)
    person_changes: Mapping[str, str] = field(default_factory=dict)
    organization_changes: Mapping[str, str] = field(default_factory=dict)

    @property
    def reasons_with_row(self) -> list[str]:
        """The reasons, each naming its row, for the list of refused rows above the table."""
        prefix = f"row {self.number}"
        return [reason if reason.startswith(prefix) else f"{prefix}: {reason}" for reason in self.reasons]


@dataclass(frozen=True)
class ImportPlan:
    rows: tuple[RowPlan, ...]
    # By provider ID: the organization already in the database, None for a new one; and its details from the file.
    organizations: Mapping[str, Organization | None]
    organization_details: Mapping[str, Mapping[str, str]]
    people: Mapping[str, User]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counts[row.outcome] += 1
        return counts

    @property
    def refused(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome == REFUSED]

    @property
    def changes_anything(self) -> bool:
        return any(row.outcome in (CREATED, UPDATED) for row in self.rows)

    def by_organization(self) -> dict[str, list[RowPlan]]:
        """Rows by provider ID in the file's order; a new organization's Primary Contact row first."""
        groups = defaultdict(list)
        for row in sorted(self.rows, key=lambda row: row.role != Role.PRIMARY):
            groups[row.provider_id].append(row)
        order = list(dict.fromkeys(row.provider_id for row in self.rows))
        return {provider_id: groups[provider_id] for provider_id in order}


@dataclass
class _Row:
    """A row while it is being planned."""

    number: int
    provider_id: str
    organization: str
    raw_role: str
    raw_email: str
    values: dict[str, str]
    role: Role | None = None
    email: str = ""
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str = CREATED
    person_changes: dict[str, str] = field(default_factory=dict)
    organization_changes: dict[str, str] = field(default_factory=dict)

    @property
    def person_details(self) -> dict[str, str]:
        return {name: self.values[name] for name in PERSON_FIELDS if self.values.get(name)}

    def freeze(self) -> RowPlan:
        name = " ".join(filter(None, [self.values.get("first_name"), self.values.get("last_name")]))
        return RowPlan(
            number=self.number,
            provider_id=self.provider_id,
            organization=self.organization,
            role=self.role.value if self.role else "",
            role_label=self.role.label if self.role else self.raw_role,
            email=self.email or self.raw_email,
            name=name,
            outcome=REFUSED if self.reasons else self.outcome,
            reasons=tuple(dict.fromkeys(self.reasons)),
            notes=tuple(self.notes),
            person_details=self.person_details,
            person_changes=self.person_changes,
            organization_changes=self.organization_changes,
        )


def _field_error(model, name: str, label: str, value: str, number: int) -> str | None:
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as error:
        return ROW_BAD_VALUE.format(row=number, field=label, message=" ".join(error.messages))
    return None


def _parse(source: ImportRow) -> _Row:
    row = _Row(
        number=source.number,
        provider_id=source.get("provider_id"),
        organization=source.get("organization"),
        raw_role=source.get("role"),
        raw_email=source.get("email"),
        values=source.values,
    )
    if not row.provider_id:
        row.reasons.append(ROW_NO_PROVIDER_ID.format(row=row.number))
    row.role = ROLE_NAMES.get(" ".join(row.raw_role.lower().split()))
    if row.role is None:
        row.reasons.append(ROW_BAD_ROLE.format(row=row.number, role=row.raw_role))
    if not row.raw_email:
        row.reasons.append(ROW_NO_EMAIL.format(row=row.number))
    else:
        try:
            row.email = email_canonical(row.raw_email)
        except ValidationError:
            row.reasons.append(ROW_BAD_EMAIL.format(row=row.number, email=row.raw_email))
    checks = [(Organization, "provider_id", "provider ID", row.provider_id)]
    checks += [(Organization, name, name, source.get(column)) for column, name in ORGANIZATION_FIELDS.items()]
    checks += [(User, name, name.replace("_", " "), source.get(name)) for name in PERSON_FIELDS]
    for model, name, label, value in checks:
        error = value and _field_error(model, name, label, value, row.number)
        if error:
            row.reasons.append(error)
    return row


@dataclass(frozen=True)
class _Holder:
    """Who holds a role: their address, and their name as the site writes it (User.__str__)."""

    email: str
    name: str


@dataclass(frozen=True)
class _World:
    """What the database holds about the file's organizations and people, read in four queries."""

    organizations: dict[str, Organization]
    people: dict[str, User]
    holders: dict[tuple[int, str], list["_Holder"]]
    with_access: set[int]

    @classmethod
    def load(cls, rows: Sequence[_Row]) -> "_World":
        organizations = Organization.objects.in_bulk({row.provider_id for row in rows}, field_name="provider_id")
        people = User.objects.in_bulk({row.email for row in rows if row.email}, field_name="email")
        holders = defaultdict(list)
        # Plain values, not instances: a file of known organizations reads thousands of roles.
        roles = ContactRole.objects.filter(organization__in=organizations.values()).values_list(
            "organization_id", "role", "person__email", "person__first_name", "person__last_name"
        )
        for organization_id, role, email, first_name, last_name in roles:
            holders[organization_id, role].append(
                _Holder(email=email, name=f"{first_name} {last_name}".strip() or email)
            )
        with_access = set(
            ContactRole.objects.filter(person__in=people.values(), role__in=ACCESS_ROLES).values_list(
                "person_id", flat=True
            )
        )
        return cls(organizations=organizations, people=people, holders=holders, with_access=with_access)


def _check_repeats_and_holders(group: list[_Row]) -> None:
    """Within one organization: a row given twice, and a singular role given to two people."""
    first_of, emails_by_role = {}, defaultdict(dict)
    for row in group:
        if row.role is None or not row.email:
            continue
        key = (row.role, row.email)
        if key in first_of:
            row.reasons.append(ROW_REPEATS.format(row=row.number, first=first_of[key].number))
            continue
        first_of[key] = row
        emails_by_role[row.role][row.email] = row
    for role, rows in emails_by_role.items():
        if role != Role.STAFF and len(rows) > 1:
            count = COUNT_WORDS.get(len(rows), str(len(rows)))
            reason = HOLDERS_IN_FILE.format(provider_id=group[0].provider_id, count=count, role=role.label)
            for row in rows.values():
                row.reasons.append(reason)


def _organization_details(group: list[_Row]) -> dict[str, str]:
    """The organization's name, city and state as the file gives them: refused where two rows disagree."""
    details, first = {}, {}
    for row in group:
        for column, name in ORGANIZATION_FIELDS.items():
            value = row.values.get(column, "")
            if not value:
                continue
            if name not in details:
                details[name], first[name] = value, row
            elif value != details[name]:
                reason = ORGANIZATION_VALUES_IN_FILE.format(
                    provider_id=row.provider_id, field=name, first=details[name], other=value
                )
                first[name].reasons.append(reason)
                row.reasons.append(reason)
    return details


def _check_people(rows: Sequence[_Row]) -> None:
    """One person (one email) has one set of details in the file."""
    first_row, details = {}, {}
    for row in rows:
        if not row.email:
            continue
        if row.email not in details:
            first_row[row.email], details[row.email] = row, row.person_details
            continue
        for name, value in row.person_details.items():
            known = details[row.email].setdefault(name, value)
            if known != value:
                row.reasons.append(
                    PERSON_VALUES_IN_FILE.format(
                        row=row.number,
                        email=row.email,
                        field=name.replace("_", " "),
                        first=first_row[row.email].number,
                        other=known,
                    )
                )


class _Planner:
    def __init__(self, rows: Sequence[_Row]):
        self.rows = rows
        self.world = _World.load(rows)
        self.groups = defaultdict(list)
        for row in rows:
            if row.provider_id:
                self.groups[row.provider_id].append(row)
        self.details = {}
        self.invited, self.person_seen = set(), set()

    def plan(self) -> ImportPlan:
        _check_people(self.rows)
        for provider_id, group in self.groups.items():
            _check_repeats_and_holders(group)
            self.details[provider_id] = _organization_details(group)
            organization = self.world.organizations.get(provider_id)
            if organization is None:
                self._check_new(provider_id, group)
            else:
                self._check_existing(organization, group)
        for row in self.rows:
            self._person(row)
        return ImportPlan(
            rows=tuple(row.freeze() for row in self.rows),
            organizations={provider_id: self.world.organizations.get(provider_id) for provider_id in self.groups},
            organization_details=self.details,
            people=self.world.people,
        )

    def _check_new(self, provider_id: str, group: list[_Row]) -> None:
        primaries = [row for row in group if row.role == Role.PRIMARY and row.email]
        missing = []
        if not primaries:
            missing.append(NEW_WITHOUT_PRIMARY.format(provider_id=provider_id))
        if not self.details[provider_id].get("name"):
            missing.append(NEW_WITHOUT_NAME.format(provider_id=provider_id))
        for row in group:
            row.reasons.extend(missing)
        group[0].notes.append(NOTE_NEW_ORGANIZATION)

    def _check_existing(self, organization: Organization, group: list[_Row]) -> None:
        changes = {
            name: value
            for name, value in self.details[organization.provider_id].items()
            if value != getattr(organization, name)
        }
        if changes:
            group[0].organization_changes = changes
            group[0].notes.extend(
                NOTE_CHANGE.format(field=name, old=getattr(organization, name), new=value)
                for name, value in changes.items()
            )
        for row in group:
            if row.role is None:
                continue
            held = self.world.holders.get((organization.pk, row.role), [])
            if any(holder.email == row.email for holder in held):
                row.outcome = UPDATED if row.organization_changes else UNCHANGED
            elif held and row.role != Role.STAFF:
                row.reasons.append(WOULD_REPLACE.format(role=row.role.label, person=held[0].name))

    def _person(self, row: _Row) -> None:
        """The person's side of a row: a new person, changed details, and the invitation a role would send."""
        if not row.email or row.email in self.person_seen:
            self._invitation(row, self.world.people.get(row.email))
            return
        self.person_seen.add(row.email)
        person = self.world.people.get(row.email)
        if person is None:
            row.notes.append(NOTE_NEW_PERSON)
        else:
            row.person_changes = {
                name: value for name, value in row.person_details.items() if value != getattr(person, name)
            }
            row.notes.extend(
                NOTE_CHANGE.format(field=name.replace("_", " "), old=getattr(person, name), new=value)
                for name, value in row.person_changes.items()
            )
            if row.person_changes and row.outcome == UNCHANGED:
                row.outcome = UPDATED
        self._invitation(row, person)

    def _invitation(self, row: _Row, person: User | None) -> None:
        """A role that is the person's first access invites them, once, as the services do."""
        if row.outcome != CREATED or row.role not in ACCESS_ROLES or row.email in self.invited:
            return
        if person is not None and (person.has_usable_password() or person.pk in self.world.with_access):
            return
        self.invited.add(row.email)
        row.notes.append(NOTE_INVITED)


def import_plan(rows: Sequence[ImportRow]) -> ImportPlan:
    """What importing these rows would do now; reads the database in four queries and writes nothing."""
    return _Planner([_parse(row) for row in rows]).plan()
