"""The mailing lists CME staff download as CSV: one function per list.

Each reads the Organization methods that answer "who gets it", so a fallback
(no billing contact: the invoice goes to the Primary Contact) is decided in
one place and only labelled here. Each takes a queryset of organizations and
reads their rosters with one prefetch, whatever their number.
"""

import csv
import io
import re

from django.http import HttpResponse
from django.utils import timezone

from contacts.models import Organization, Role, required_roles

# A mail merge needs the name in parts and the postal address; staff filter by status.
COLUMNS = [
    "Organization",
    "Provider ID",
    "Accreditation status",
    "Role",
    "First name",
    "Last name",
    "Credentials",
    "Job title",
    "Email",
    "Phone",
    "Street address",
    "City",
    "State",
    "ZIP code",
]
# The role column when the list falls back to the Primary Contact.
FALLBACK_ROLE = "{role} ({missing})"
INVOICE_FALLBACK_ROLE = FALLBACK_ROLE.format(role=Role.PRIMARY.label, missing=f"no {Role.BILLING.label.lower()}")
DIRECTORY_FALLBACK_ROLE = FALLBACK_ROLE.format(role=Role.PRIMARY.label, missing=f"no {Role.WEBSITE.label.lower()}")

# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"^[+\d][\d\s().x-]*$")


def spreadsheet_cell(value: str) -> str:
    """The value as a spreadsheet shows it and never runs it: a leading = + - @ (a formula) gets a quote mark."""
    value = value or ""
    if value.startswith(_FORMULA_START) and not _PHONE.match(value):
        return "'" + value
    return value


def _row(organization, role_label, person) -> list[str]:
    return [
        spreadsheet_cell(value)
        for value in (
            organization.name,
            organization.provider_id,
            organization.get_accreditation_status_display(),
            role_label,
            person.first_name,
            person.last_name,
            person.credentials,
            person.job_title,
            person.email,
            person.phone,
            organization.street_address,
            organization.city,
            organization.state,
            organization.zip_code,
        )
    ]


def _with_roster(organizations):
    # A queryset from the admin may carry its own prefetch of the roster: replace it.
    return organizations.prefetch_related(None).with_roster()


def newsletter_rows(organizations) -> list[list[str]]:
    """The newsletter list: each organization's Primary Contact."""
    return [
        _row(organization, Role.PRIMARY.label, organization.primary_contact)
        for organization in _with_roster(organizations)
        if organization.primary_contact
    ]


def _recipient_rows(organizations, recipient, role_label, fallback_label) -> list[list[str]]:
    """One row per organization: recipient(organization) gives (person, is_fallback)."""
    rows = []
    for organization in _with_roster(organizations):
        person, is_fallback = recipient(organization)
        if person:
            rows.append(_row(organization, fallback_label if is_fallback else role_label, person))
    return rows


def invoice_rows(organizations) -> list[list[str]]:
    """The invoice list: the Billing Contact, else the Primary Contact, else the CEO Contact (past bouncing
    addresses), the role column saying which fallback was used and why."""
    rows = []
    for organization in _with_roster(organizations):
        recipient = organization.invoice_recipient()
        if recipient.person is None:
            continue
        role = Role(recipient.role).label
        label = FALLBACK_ROLE.format(role=role, missing=recipient.reason) if recipient.is_fallback else role
        rows.append(_row(organization, label, recipient.person))
    return rows


def directory_rows(organizations) -> list[list[str]]:
    """The directory list: the published contact (Website Contact, else Primary Contact, marked)
    of exactly the organizations the public directory lists (listed and accredited)."""
    return _recipient_rows(
        organizations.in_directory(), Organization.published_contact, Role.WEBSITE.label, DIRECTORY_FALLBACK_ROLE
    )


def not_confirmed_columns() -> list[str]:
    columns = ["Organization", "Provider ID", "Last confirmed", "Primary Contact", "Primary Contact email"]
    for role in required_roles():
        columns += [role.label, f"{role.label} email"]
    return columns


NEEDED_NOBODY = "Needed: nobody"


def not_confirmed_rows(organizations) -> list[list[str]]:
    """The organizations not yet confirmed this reporting year: their primary and each required role."""
    rows = []
    for organization in organizations:
        confirmed = organization.contacts_confirmed_at
        row = [
            organization.name,
            organization.provider_id,
            f"{timezone.localdate(confirmed)}" if confirmed else "never",
        ]
        for person in [organization.primary_contact, *(organization.holder(role) for role in required_roles())]:
            row += [person.get_full_name() if person else NEEDED_NOBODY, person.email if person else ""]
        rows.append([spreadsheet_cell(value) for value in row])
    return rows


def csv_response(name: str, rows: list[list[str]], columns: list[str] = COLUMNS) -> HttpResponse:
    """A CSV download, with a byte-order mark so that spreadsheets read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    filename = f"{name}-{timezone.localdate():%Y-%m-%d}.csv"
    return HttpResponse(
        "\ufeff" + buffer.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
