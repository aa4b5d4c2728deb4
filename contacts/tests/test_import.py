"""The bulk import's rules: what each row would do, all or nothing, twice, and undo (the services, not the pages)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts import imports, services
from contacts.importfile import import_file_read
from contacts.models import ContactRole, EmailLog, Organization, Role, RosterImport
from contacts.services import (
    IMPORT_CHANGED_SINCE,
    IMPORT_HAS_REFUSED_ROWS,
    IMPORT_NOT_APPLIED,
    IMPORT_NOTHING_TO_DO,
    IMPORT_ROW_FAILED,
    IMPORT_UNDONE_EMAIL,
)
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, StaffUserFactory, UserFactory
from contacts.tests.import_files import csv_upload, known_row, xlsx_upload
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

SUTTER = [
    "CA00123",
    "Sutter Health CME",
    "Primary Contact",
    "ana@sutter.org",
    "Ana",
    "Ruiz",
    "(916) 555-0101",
    "Fresno",
]
SUTTER_BILLING = ["CA00123", "Sutter Health CME", "Billing Contact", "bill@sutter.org", "Bill", "Ng", "", ""]
SUTTER_STAFF = ["CA00123", "Sutter Health CME", "Staff", "sam@sutter.org", "Sam", "Lee", "", ""]
KERN = ["CA00456", "Kern Medical Education", "primary", "kim@kern.org", "Kim", "Park", "", "Bakersfield"]


@pytest.fixture
def editor():
    return StaffUserFactory(first_name="Eduardo", last_name="Morales")


def stage(rows, editor, upload=csv_upload):
    return services.roster_import_stage(rows=import_file_read(upload(rows)), filename="providers-2026.csv", by=editor)


def plan_of(roster_import):
    return imports.import_plan(services.roster_import_rows(roster_import))


def outcomes(roster_import):
    return [(row.number, row.outcome) for row in plan_of(roster_import).rows]


def reasons(roster_import):
    return [reason for row in plan_of(roster_import).rows for reason in row.reasons]


def invitations_to(email):
    return EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION, to_email=email).count()


# The happy path


@pytest.mark.parametrize("upload", [csv_upload, xlsx_upload])
def test_a_file_creates_organizations_with_their_rosters_through_the_services(editor, upload):
    staged = stage([SUTTER, SUTTER_BILLING, SUTTER_STAFF, KERN], editor, upload)
    assert outcomes(staged) == [(2, "created"), (3, "created"), (4, "created"), (5, "created")]

    applied = services.roster_import_apply(roster_import=staged, by=editor)

    assert (applied.organizations_created, applied.roles_created, applied.people_created) == (2, 2, 4)
    sutter = Organization.objects.get(provider_id="CA00123")
    assert (sutter.name, sutter.city) == ("Sutter Health CME", "Fresno")
    assert {(r.role, r.person.email) for r in sutter.roles.all()} == {
        (Role.PRIMARY, "ana@sutter.org"),
        (Role.BILLING, "bill@sutter.org"),
        (Role.STAFF, "sam@sutter.org"),
    }
    assert Organization.objects.get(provider_id="CA00456").primary_contact.email == "kim@kern.org"
    # The primary and the staff member get the set-password link; the billing contact never signs in.
    assert [invitations_to(e) for e in ("ana@sutter.org", "sam@sutter.org", "bill@sutter.org")] == [1, 1, 0]
    assert RosterImport.objects.get().status == RosterImport.Status.APPLIED


def test_history_names_the_import_its_editor_and_its_file(editor):
    services.roster_import_apply(roster_import=stage([SUTTER, SUTTER_STAFF], editor), by=editor)
    sutter = Organization.objects.get(provider_id="CA00123")
    reason = "imported by Eduardo Morales from providers-2026.csv"
    assert sutter.history.get().history_change_reason == reason
    assert {r.history_change_reason for r in ContactRole.history.filter(organization_id=sutter.pk)} == {reason}
    assert list(sutter.imports.all()) == [RosterImport.objects.get()]


def test_the_organizations_history_tab_says_its_changes_came_from_the_import(editor, client):
    services.roster_import_apply(roster_import=stage([SUTTER, SUTTER_STAFF], editor), by=editor)
    sutter = Organization.objects.get(provider_id="CA00123")
    client.force_login(sutter.primary_contact)
    html = client.get(reverse("contacts:history", args=[sutter.pk])).content.decode()
    reason = "(imported by Eduardo Morales from providers-2026.csv)"
    assert f"created the organization {reason}." in html
    assert f"assigned Sam Lee as Staff {reason}." in html


def test_addresses_are_stored_canonical_and_one_person_is_invited_once(editor):
    other = ["CA00456", "Kern Medical Education", "Primary Contact", "ANA@Sutter.org", "Ana", "Ruiz", "", ""]
    services.roster_import_apply(roster_import=stage([SUTTER, other], editor), by=editor)
    kern = Organization.objects.get(provider_id="CA00456")
    assert kern.primary_contact.email == "ana@sutter.org"
    assert invitations_to("ana@sutter.org") == 1


def test_a_known_persons_details_and_an_organizations_city_are_updated(editor):
    sutter = OrganizationFactory(provider_id="CA00123", name="Sutter Health CME", city="Sacramento")
    ana = sutter.primary_contact
    row = known_row(sutter, "Primary Contact", ana, phone="(916) 555-0199", city="Fresno")
    staged = stage([row], editor)
    assert outcomes(staged) == [(2, "updated")]
    assert plan_of(staged).rows[0].notes == (
        "city: “Sacramento” → “Fresno”",
        f"phone: “{ana.phone}” → “(916) 555-0199”",
    )

    services.roster_import_apply(roster_import=staged, by=editor)

    sutter.refresh_from_db()
    ana.refresh_from_db()
    assert (sutter.city, ana.phone) == ("Fresno", "(916) 555-0199")


# Each kind of refused row, with its reason


def test_two_primary_contacts_for_one_organization_are_refused(editor):
    second = ["CA00123", "Sutter Health CME", "Primary Contact", "bob@sutter.org", "Bob", "", "", ""]
    staged = stage([SUTTER, second], editor)
    assert outcomes(staged) == [(2, "refused"), (3, "refused")]
    assert set(reasons(staged)) == {
        imports.HOLDERS_IN_FILE.format(provider_id="CA00123", count="two", role="Primary Contact")
    }
    assert reasons(staged)[0] == "CA00123 has two Primary Contacts in this file"


def test_an_address_that_is_not_an_email_is_refused_with_its_row_number(editor):
    rows = [SUTTER, *[[*SUTTER_STAFF[:3], f"s{n}@sutter.org", "", "", "", ""] for n in range(11)]]
    rows.append(["CA00123", "Sutter Health CME", "Staff", "jane@", "Jane", "", "", ""])
    staged = stage(rows, editor)
    assert reasons(staged) == ["row 14: 'jane@' is not an email address"]
    assert reasons(staged) == [imports.ROW_BAD_EMAIL.format(row=14, email="jane@")]


def test_a_role_held_by_someone_else_is_refused_never_replaced(editor):
    sutter = OrganizationFactory(provider_id="CA00123", name="Sutter Health CME")
    robert = UserFactory(first_name="Robert", last_name="Kim")
    services.role_assign(organization=sutter, person=robert, role=Role.BILLING, by=None)
    row = ["CA00123", "Sutter Health CME", "Billing Contact", "bill@sutter.org", "Bill", "Ng", "", ""]
    staged = stage([row], editor)
    assert reasons(staged) == ["Billing Contact already held by Robert Kim: this file would replace them"]
    assert reasons(staged) == [imports.WOULD_REPLACE.format(role="Billing Contact", person=robert)]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [SUTTER, [*SUTTER_STAFF[:2], "Treasurer", *SUTTER_STAFF[3:]]],
            [imports.ROW_BAD_ROLE.format(row=3, role="Treasurer")],
        ),
        ([["", *SUTTER[1:]]], [imports.ROW_NO_PROVIDER_ID.format(row=2)]),
        ([SUTTER, [*SUTTER_STAFF[:3], "", *SUTTER_STAFF[4:]]], [imports.ROW_NO_EMAIL.format(row=3)]),
        ([SUTTER, SUTTER_STAFF, SUTTER_STAFF], [imports.ROW_REPEATS.format(row=4, first=3)]),
        (
            [SUTTER, [SUTTER_STAFF[0], "Sutter CME", *SUTTER_STAFF[2:]]],
            [
                imports.ORGANIZATION_VALUES_IN_FILE.format(
                    provider_id="CA00123", field="name", first="Sutter Health CME", other="Sutter CME"
                )
            ]
            * 2,
        ),
        ([SUTTER_STAFF], [imports.NEW_WITHOUT_PRIMARY.format(provider_id="CA00123")]),
        ([[SUTTER[0], "", *SUTTER[2:]]], [imports.NEW_WITHOUT_NAME.format(provider_id="CA00123")]),
        (
            [SUTTER, [*SUTTER_STAFF[:3], "ana@sutter.org", "Anna", "Ruiz", "", ""]],
            [
                imports.PERSON_VALUES_IN_FILE.format(
                    row=3, email="ana@sutter.org", field="first name", first=2, other="Ana"
                )
            ],
        ),
        (
            [[*SUTTER[:5], "R" * 151, *SUTTER[6:]]],
            [
                imports.ROW_BAD_VALUE.format(
                    row=2, field="last name", message="Ensure this value has at most 150 characters (it has 151)."
                )
            ],
        ),
    ],
    ids=[
        "role",
        "provider-id",
        "email",
        "repeated",
        "two-names",
        "new-without-primary",
        "new-without-name",
        "two-names-for-a-person",
        "too-long",
    ],
)
def test_each_other_kind_of_refused_row_says_why(editor, rows, expected):
    staged = stage(rows, editor)
    assert reasons(staged) == expected
    with pytest.raises(ValidationError) as refused:
        services.roster_import_apply(roster_import=staged, by=editor)
    assert refused.value.messages == [IMPORT_HAS_REFUSED_ROWS.format(count=len(plan_of(staged).refused))]
    assert not Organization.objects.filter(provider_id="CA00123").exists()


def test_one_refused_row_keeps_every_other_row_out(editor):
    bad = ["CA00456", "Kern Medical Education", "Primary Contact", "kim@", "", "", "", ""]
    staged = stage([SUTTER, SUTTER_STAFF, bad], editor)
    with pytest.raises(ValidationError):
        services.roster_import_apply(roster_import=staged, by=editor)
    assert not Organization.objects.exists()
    assert not EmailLog.objects.exists()
    assert RosterImport.objects.get().status == RosterImport.Status.PREVIEWED


# All or nothing on a late error


def test_a_change_between_preview_and_confirm_refuses_the_whole_file(editor):
    kern = OrganizationFactory(provider_id="CA00456", name="Kern Medical Education")
    late = ["CA00456", "Kern Medical Education", "Billing Contact", "bill@kern.org", "Bill", "", "", ""]
    staged = stage([SUTTER, SUTTER_STAFF, late], editor)
    assert outcomes(staged) == [(2, "created"), (3, "created"), (4, "created")]
    services.role_assign(organization=kern, person=UserFactory(), role=Role.BILLING, by=None)  # meanwhile

    with pytest.raises(ValidationError) as refused:
        services.roster_import_apply(roster_import=staged, by=editor)

    assert refused.value.messages == [IMPORT_HAS_REFUSED_ROWS.format(count=1)]
    assert not Organization.objects.filter(provider_id="CA00123").exists()


def test_a_service_refusing_the_last_row_undoes_every_row_before_it(editor, monkeypatch):
    """A late error while writing (here the last role_assign) rolls back the organizations, people and emails before it."""
    staged = stage([SUTTER, SUTTER_STAFF, SUTTER_BILLING, KERN], editor)
    real_role_assign, calls = services.role_assign, []

    def refusing_the_second(**arguments):
        calls.append(arguments["role"])
        if len(calls) == 2:
            raise ValidationError("That role changed meanwhile; try again.")
        return real_role_assign(**arguments)

    monkeypatch.setattr(services, "role_assign", refusing_the_second)
    with pytest.raises(ValidationError) as refused:
        services.roster_import_apply(roster_import=staged, by=editor)

    assert refused.value.messages == [IMPORT_ROW_FAILED.format(row=4, error="That role changed meanwhile; try again.")]
    assert calls == [Role.STAFF, Role.BILLING]  # the staff row was written before the error
    assert not Organization.objects.exists()
    assert not ContactRole.objects.exists()
    assert not EmailLog.objects.exists()
    assert not type(editor).objects.exclude(pk=editor.pk).exists()
    assert RosterImport.objects.get().status == RosterImport.Status.PREVIEWED


# Importing twice


def test_importing_the_same_file_twice_changes_nothing_and_invites_nobody_again(editor):
    rows = [SUTTER, SUTTER_BILLING, SUTTER_STAFF, KERN]
    services.roster_import_apply(roster_import=stage(rows, editor), by=editor)
    emails, history = EmailLog.objects.count(), ContactRole.history.count()

    again = stage(rows, editor)
    assert {outcome for _, outcome in outcomes(again)} == {"unchanged"}
    with pytest.raises(ValidationError) as refused:
        services.roster_import_apply(roster_import=again, by=editor)

    assert refused.value.messages == [IMPORT_NOTHING_TO_DO]
    assert (EmailLog.objects.count(), ContactRole.history.count()) == (emails, history)
    assert invitations_to("ana@sutter.org") == 1


def test_a_person_invited_by_an_earlier_import_is_not_invited_by_a_later_one(editor):
    services.roster_import_apply(roster_import=stage([SUTTER], editor), by=editor)
    later = ["CA00456", "Kern Medical Education", "Primary Contact", "ana@sutter.org", "Ana", "Ruiz", "", ""]
    staged = stage([later], editor)
    assert "invited to set a password" not in plan_of(staged).rows[0].notes
    services.roster_import_apply(roster_import=staged, by=editor)
    assert invitations_to("ana@sutter.org") == 1


def test_a_confirmed_import_cannot_be_confirmed_again(editor):
    staged = stage([SUTTER], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    with pytest.raises(ValidationError) as refused:
        services.roster_import_apply(roster_import=staged, by=editor)
    assert refused.value.messages == [services.IMPORT_NOT_PREVIEWED]
    assert Organization.objects.count() == 1


# Undo


def test_undo_reverts_everything_the_import_did(editor):
    sutter = OrganizationFactory(provider_id="CA00123", name="Sutter Health CME", city="Sacramento")
    ana = sutter.primary_contact
    kept_phone = ana.phone
    corrected = ["CA00123", "Sutter Health CME", "Primary Contact", ana.email, "", "", "(916) 555-0199", "Fresno"]
    staged = stage([corrected, SUTTER_STAFF, KERN], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    assert Organization.objects.count() == 2

    undone = services.roster_import_undo(roster_import=staged, by=editor)

    assert (undone.organizations_deleted, undone.roles_removed, undone.people_deleted) == (1, 1, 2)
    assert list(Organization.objects.all()) == [sutter]
    sutter.refresh_from_db()
    ana.refresh_from_db()
    assert (sutter.city, ana.phone) == ("Sacramento", kept_phone)
    assert [r.role for r in sutter.roles.all()] == [Role.PRIMARY]
    assert not type(editor).objects.filter(email__in=["sam@sutter.org", "kim@kern.org"]).exists()
    staged.refresh_from_db()
    assert (staged.status, staged.undone_by) == (RosterImport.Status.UNDONE, editor)
    # The invitations it queued never go out.
    invitation = EmailLog.objects.get(kind=EmailLog.Kind.INVITATION, to_email="kim@kern.org")
    assert (invitation.status, invitation.error) == (EmailLog.Status.SUPPRESSED, IMPORT_UNDONE_EMAIL)
    assert "kim@kern.org" not in [to for message in run_email_worker() for to in message.to]
    assert (
        sutter.history.first().history_change_reason == "undo of the import from providers-2026.csv by Eduardo Morales"
    )


def test_the_same_file_imports_again_after_its_undo(editor):
    staged = stage([SUTTER, SUTTER_STAFF], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    services.roster_import_undo(roster_import=staged, by=editor)
    again = stage([SUTTER, SUTTER_STAFF], editor)
    assert outcomes(again) == [(2, "created"), (3, "created")]
    services.roster_import_apply(roster_import=again, by=editor)
    assert Organization.objects.get().roles.count() == 2


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda org, person: services.contacts_confirm(organization=org, by=person), "Sutter Health CME"),
        (
            lambda org, person: services.role_assign(organization=org, person=UserFactory(), role=Role.CEO, by=None),
            "the roster of Sutter Health CME",
        ),
        (
            lambda org, person: services.person_update(person=person, by=None, job_title="Director"),
            "the details of Sam Lee",
        ),
        (
            lambda org, person: (person.set_password("a new password"), person.save()),
            "the account of Sam Lee (they set a password)",
        ),
    ],
    ids=["organization", "roster", "person", "password"],
)
def test_undo_is_refused_once_something_the_import_touched_changed(editor, change, what):
    staged = stage([SUTTER, SUTTER_STAFF], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    sutter = Organization.objects.get()
    change(sutter, sutter.roles.get(role=Role.STAFF).person)

    with pytest.raises(ValidationError) as refused:
        services.roster_import_undo(roster_import=staged, by=editor)

    assert refused.value.messages == [IMPORT_CHANGED_SINCE.format(what=what)]
    assert Organization.objects.filter(provider_id="CA00123").exists()
    staged.refresh_from_db()
    assert staged.status == RosterImport.Status.APPLIED


def test_an_import_is_undone_once(editor):
    staged = stage([SUTTER], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    services.roster_import_undo(roster_import=staged, by=editor)
    with pytest.raises(ValidationError) as refused:
        services.roster_import_undo(roster_import=staged, by=editor)
    assert refused.value.messages == [IMPORT_NOT_APPLIED.format(status="undone")]


def test_a_previewed_import_has_nothing_to_undo(editor):
    with pytest.raises(ValidationError) as refused:
        services.roster_import_undo(roster_import=stage([SUTTER], editor), by=editor)
    assert refused.value.messages == [IMPORT_NOT_APPLIED.format(status="previewed, not imported")]


def test_undo_keeps_a_person_the_import_found_and_removes_only_the_role_it_gave(editor):
    """A person the import found (not created) keeps their account on undo; only the role it gave goes."""
    sam = InvitedUserFactory(email="sam@sutter.org", first_name="Sam", last_name="Lee")
    staged = stage([SUTTER, SUTTER_STAFF], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    services.roster_import_undo(roster_import=staged, by=editor)
    assert type(editor).objects.filter(pk=sam.pk).exists()
    assert not ContactRole.objects.filter(person=sam).exists()


def test_an_unchanged_row_neither_names_the_import_nor_blocks_its_undo(editor):
    sutter = OrganizationFactory(provider_id="CA00123", name="Sutter Health CME")
    unchanged = known_row(sutter, "Primary Contact", sutter.primary_contact)
    staged = stage([unchanged, KERN], editor)
    services.roster_import_apply(roster_import=staged, by=editor)
    assert not sutter.imports.exists()
    services.contacts_confirm(organization=sutter, by=sutter.primary_contact)  # after the import
    services.person_update(person=sutter.primary_contact, by=None, job_title="Director")

    services.roster_import_undo(roster_import=staged, by=editor)

    assert list(Organization.objects.all()) == [sutter]
