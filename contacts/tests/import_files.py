"""Files for the bulk-import tests and benchmark: CSV and Excel, built in memory."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

HEADER = ["Provider ID", "Organization", "Role", "Email", "First name", "Last name", "Phone", "City"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def csv_upload(rows, name="providers-2026.csv", header=HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes(rows, header), content_type="text/csv")


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_upload(rows, name="providers-2026.xlsx", header=HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx_bytes(rows, header), content_type=XLSX)


def many_rows(organizations: int, *, start: int = 0) -> list[list[str]]:
    """Five rows per new organization: Primary, Billing, CEO and two Staff, each a new person."""
    rows = []
    for n in range(start, start + organizations):
        provider_id, name = f"CA{90000 + n}", f"Imported Medical Society {n}"
        for role, who in (
            ("Primary Contact", "p"),
            ("Billing Contact", "b"),
            ("CEO Contact", "c"),
            ("Staff", "s1"),
            ("Staff", "s2"),
        ):
            rows.append(
                [
                    provider_id,
                    name,
                    role,
                    f"{who}{n}@society{n}.org",
                    f"First{who}{n}",
                    f"Last{n}",
                    "(916) 555-0100",
                    "Fresno",
                ]
            )
    return rows


def known_row(organization, role: str, person, *, phone: str = "", city: str = "") -> list[str]:
    """A row naming a person and an organization already in the database, as HEADER orders it."""
    return [
        organization.provider_id,
        organization.name,
        role,
        person.email,
        person.first_name,
        person.last_name,
        phone,
        city,
    ]
