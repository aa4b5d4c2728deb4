"""Reading a bulk-import file, CSV or Excel (.xlsx), into rows; or refusing it with a message that says why.

One row per (organization, role, person), keyed by provider ID and email. The first
row names the columns, in any order and case ("Provider ID" or provider_id). Nothing
here touches the database: contacts.imports plans what the rows would do.

A file is refused whole (ImportFileError) when it is too large, empty, not UTF-8
(CSV), not a workbook, lacks a required column or holds a formula: the import reads
values, and a formula's value is whatever Excel last computed, or nothing.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from openpyxl import load_workbook

REQUIRED_COLUMNS = ["provider_id", "organization", "role", "email"]
OPTIONAL_COLUMNS = ["first_name", "last_name", "credentials", "job_title", "phone", "city", "state"]
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Other spellings of a column's name a spreadsheet may carry.
COLUMN_ALIASES = {"organization_name": "organization", "provider": "provider_id", "email_address": "email"}

FILE_TOO_LARGE = "{name} is {size}; the import takes files of up to {limit}. Split it into smaller files."
FILE_EMPTY = "{name} is empty: the import needs a first row naming the columns, then one row per contact."
FILE_NO_ROWS = "{name} names its columns but has no rows to import."
FILE_TOO_MANY_ROWS = "{name} has more than {limit} rows; split it into smaller files."
FILE_NOT_UTF8 = (
    "{name} is not UTF-8 text: line {line} holds a character the import cannot read. "
    "In Excel, save it as “CSV UTF-8 (Comma delimited)”, or upload the .xlsx workbook itself."
)
FILE_NOT_READABLE = (
    "{name} cannot be read: the import takes a CSV file (UTF-8) or an Excel workbook (.xlsx). "
    "An older .xls workbook must first be saved as .xlsx."
)
FILE_MISSING_COLUMNS = (
    "{name} has no {missing} column. The first row must name the columns {required}; it names {found}."
)
FILE_FORMULA = (
    "{name} holds a formula in row {row}, column {column} ({formula}). The import reads values only: "
    "copy the cells and paste them as values (Paste Special, then Values), then upload the file again."
)

EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
ZIP_MAGIC = b"PK\x03\x04"
# An Excel 97-2003 workbook (.xls), or any other OLE2 compound file.
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class ImportFileError(Exception):
    """The file as a whole cannot be imported; str() says why, for the person who uploaded it."""


@dataclass(frozen=True)
class ImportRow:
    """One row of the file: its number as the spreadsheet shows it (the header is row 1), its cells by column."""

    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


def _column(header) -> str:
    name = "_".join(str(header or "").strip().lower().replace("-", " ").split())
    return COLUMN_ALIASES.get(name, name)


def _cell_text(value) -> str:
    """A cell as text: 95814.0 -> "95814", a date -> "2026-12-01"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def import_file_read(upload) -> list[ImportRow]:
    """The rows of an uploaded file (a Django UploadedFile), or ImportFileError saying why not."""
    name = upload.name or "The file"
    limit = settings.CONTACTS_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ImportFileError(
            FILE_TOO_LARGE.format(name=name, size=filesizeformat(upload.size), limit=filesizeformat(limit))
        )
    if upload.size == 0:
        raise ImportFileError(FILE_EMPTY.format(name=name))
    content = upload.read()
    if content.startswith(OLE_MAGIC):
        raise ImportFileError(FILE_NOT_READABLE.format(name=name))
    if name.lower().endswith(EXCEL_EXTENSIONS) or content.startswith(ZIP_MAGIC):
        table = _excel_table(content, name)
    else:
        table = _csv_table(content, name)
    return _rows(table, name)


def _csv_table(content: bytes, name: str):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(FILE_NOT_UTF8.format(name=name, line=content[: error.start].count(b"\n") + 1)) from None
    if "\x00" in text:  # UTF-16, or a binary file with a .csv name
        raise ImportFileError(FILE_NOT_READABLE.format(name=name))
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        for index, cell in enumerate(cells):
            if cell.startswith("="):
                # Excel would run it when the file is opened: refused, as in a workbook.
                raise ImportFileError(FILE_FORMULA.format(name=name, row=number, column=_letter(index), formula=cell))
        yield cells


def _excel_table(content: bytes, name: str):
    try:
        # Read-only streams the sheet; data_only=False keeps formulas as formulas, to refuse them.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:  # openpyxl raises a dozen kinds (zip, XML, key, value errors) for a file it cannot read
        raise ImportFileError(FILE_NOT_READABLE.format(name=name)) from None
    try:
        for number, cells in enumerate(workbook.worksheets[0].iter_rows(), start=1):
            for index, cell in enumerate(cells):
                if getattr(cell, "data_type", None) == "f":
                    formula = str(cell.value)
                    raise ImportFileError(
                        FILE_FORMULA.format(name=name, row=number, column=_letter(index), formula=formula)
                    )
            yield [_cell_text(cell.value) for cell in cells]
    finally:
        workbook.close()


def _letter(index: int) -> str:
    """The spreadsheet's name of the column at index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _rows(table, name: str) -> list[ImportRow]:
    numbered = enumerate(table, start=1)
    header = next((cells for _number, cells in numbered if any(_cell_text(cell) for cell in cells)), None)
    if header is None:
        raise ImportFileError(FILE_EMPTY.format(name=name))
    columns = [_column(cell) for cell in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ImportFileError(
            FILE_MISSING_COLUMNS.format(
                name=name,
                missing=" or ".join(f"“{column}”" for column in missing),
                required=", ".join(REQUIRED_COLUMNS),
                found=", ".join(cell for cell in map(_cell_text, header) if cell) or "nothing",
            )
        )
    wanted = [(index, column) for index, column in enumerate(columns) if column in COLUMNS]
    rows = []
    limit = settings.CONTACTS_IMPORT_MAX_ROWS
    for number, cells in numbered:
        values = {column: _cell_text(cells[index]) for index, column in wanted if index < len(cells)}
        if not any(values.values()):
            continue
        if len(rows) == limit:
            raise ImportFileError(FILE_TOO_MANY_ROWS.format(name=name, limit=f"{limit:,}"))
        rows.append(ImportRow(number=number, values=values))
    if not rows:
        raise ImportFileError(FILE_NO_ROWS.format(name=name))
    return rows
