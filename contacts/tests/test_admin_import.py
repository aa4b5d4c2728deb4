"""The bulk import's admin pages: upload, preview and confirm, undo; bad files answered on the form, never a 500."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from contacts import importfile, services
from contacts.import_admin import IMPORT_QUEUED
from contacts.models import EmailLog, Organization, RosterImport
from contacts.services import IMPORT_CHANGED_SINCE
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.import_files import HEADER, XLSX, csv_bytes, csv_upload, many_rows, xlsx_bytes, xlsx_upload
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:contacts_organization_import")
ROWS = [
    ["CA00123", "Sutter Health CME", "Primary Contact", "ana@sutter.org", "Ana", "Ruiz", "", "Fresno"],
    ["CA00123", "Sutter Health CME", "Staff", "sam@sutter.org", "Sam", "Lee", "", ""],
]


def preview_url(roster_import):
    return reverse("admin:contacts_organization_import_preview", args=[roster_import.pk])


@pytest.fixture
def editor(client):
    person = cme_staff(EDITORS)
    client.force_login(person)
    return person


def upload(client, file):
    return client.post(UPLOAD, {"file": file})


def test_an_editor_uploads_previews_confirms_and_sees_the_organizations(client, editor):
    response = upload(client, csv_upload(ROWS))
    staged = RosterImport.objects.get()
    assert response.url == preview_url(staged)
    assert not Organization.objects.exists()  # nothing before the confirmation

    preview = client.get(response.url).content.decode()
    assert '<dd data-count="created">2</dd>' in preview
    assert 'value="Import 2 rows"' in preview

    response = client.post(preview_url(staged), follow=True)
    page = response.content.decode()
    assert IMPORT_QUEUED.format(filename="providers-2026.csv") in page
    assert "Importing 2 rows from providers-2026.csv" in page
    assert "Check whether it is done" in page

    run_email_worker()  # the worker imports it (and sends the invitations)
    page = client.get(preview_url(staged)).content.decode()
    assert "1 new organization(s), 1 more role(s), 2 new people" in page
    assert ">Sutter Health CME</a> (CA00123)" in page
    assert "Check whether it is done" not in page
    assert "Undo this import" in page
    assert Organization.objects.get().roles.count() == 2


def test_the_preview_lists_the_refused_rows_with_their_reasons_and_offers_no_confirmation(client, editor):
    rows = [*ROWS, ["CA00123", "Sutter Health CME", "Staff", "jane@", "Jane", "", "", ""]]
    response = client.get(upload(client, csv_upload(rows)).url)
    page = response.content.decode()
    assert "<li>row 4: &#x27;jane@&#x27; is not an email address</li>" in page
    assert '<dd data-count="refused">1</dd>' in page
    assert "Import 3 rows" not in page


def test_a_file_that_changes_nothing_says_so(client, editor):
    OrganizationFactory(provider_id="CA00999", name="Kern Medical Education")
    kern = Organization.objects.get()
    row = [kern.provider_id, kern.name, "Primary Contact", kern.primary_contact.email, "", "", "", ""]
    page = client.get(upload(client, csv_upload([row])).url).content.decode()
    assert "Nothing to import: every row is already as the file says." in page
    assert "Import 1 row" not in page


def test_a_second_confirmation_from_a_page_left_open_is_refused_with_the_reason(client, editor):
    staged_url = upload(client, csv_upload(ROWS)).url
    client.post(staged_url)  # the first confirmation imports
    response = client.post(staged_url)
    assert response.status_code == 200
    assert services.IMPORT_NOT_PREVIEWED in response.content.decode()
    run_email_worker()
    assert Organization.objects.count() == 1


def test_a_row_refused_by_the_time_the_worker_runs_puts_the_import_back_with_the_reason(client, editor):
    staged_url = upload(client, csv_upload(ROWS)).url
    client.post(staged_url)
    services.organization_create(
        primary=OrganizationFactory().primary_contact, by=None, provider_id="CA00123", name="Sutter Health CME"
    )
    run_email_worker()
    staged = RosterImport.objects.get()
    assert (staged.status, staged.error) == (
        RosterImport.Status.PREVIEWED,
        services.IMPORT_HAS_REFUSED_ROWS.format(count=1),
    )
    page = client.get(staged_url).content.decode()
    assert services.IMPORT_HAS_REFUSED_ROWS.format(count=1) in page
    assert "Primary Contact already held by" in page


def test_undo_from_the_import_page_and_its_refusal_once_something_changed(client, editor):
    staged_url = upload(client, csv_upload(ROWS)).url
    client.post(staged_url)
    run_email_worker()
    staged = RosterImport.objects.get()
    undo = reverse("admin:contacts_organization_import_undo", args=[staged.pk])

    sutter = Organization.objects.get()
    services.contacts_confirm(organization=sutter, by=editor)  # since the import
    page = client.post(undo, follow=True).content.decode()
    assert IMPORT_CHANGED_SINCE.format(what="Sutter Health CME") in page
    assert Organization.objects.exists()


def test_undo_deletes_what_the_import_created(client, editor):
    client.post(upload(client, csv_upload(ROWS)).url)
    run_email_worker()
    staged = RosterImport.objects.get()
    page = client.post(reverse("admin:contacts_organization_import_undo", args=[staged.pk]), follow=True)
    assert "is undone: 1 organization(s) and 2 people deleted" in page.content.decode()
    assert not Organization.objects.exists()


def test_the_organizations_history_names_the_import(client, editor):
    client.post(upload(client, csv_upload(ROWS)).url)
    run_email_worker()
    sutter = Organization.objects.get()
    page = client.get(reverse("admin:contacts_organization_history", args=[sutter.pk])).content.decode()
    assert f"Imported by {editor} from providers-2026.csv</a>" in page
    assert f"imported by {editor} from providers-2026.csv" in page  # the change reason of each record


# Bad files: each gets the upload form again, with the reason, and nothing is kept.


def bad(name, content, content_type="text/csv"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def formula_workbook():
    return xlsx_bytes([[*ROWS[0][:3], '=LOWER("ANA@SUTTER.ORG")', *ROWS[0][4:]]])


BAD_FILES = {
    "wrong-encoding": (
        bad(
            "providers.csv",
            csv_bytes([["CA00123", "Société Médicale", "Primary Contact", "a@b.org"]]).decode().encode("latin-1"),
        ),
        importfile.FILE_NOT_UTF8.format(name="providers.csv", line=2),
    ),
    "missing-column": (
        bad("providers.csv", csv_bytes([["CA00123", "Sutter", "Primary Contact"]], header=HEADER[:3])),
        importfile.FILE_MISSING_COLUMNS.format(
            name="providers.csv",
            missing="“email”",
            required="provider_id, organization, role, email",
            found="Provider ID, Organization, Role",
        ),
    ),
    "formula-cell": (
        bad("providers.xlsx", formula_workbook(), XLSX),
        importfile.FILE_FORMULA.format(name="providers.xlsx", row=2, column="D", formula='=LOWER("ANA@SUTTER.ORG")'),
    ),
    "formula-in-csv": (
        bad("providers.csv", csv_bytes([["CA00123", "Sutter", "Primary Contact", "=HYPERLINK(1)"]])),
        importfile.FILE_FORMULA.format(name="providers.csv", row=2, column="D", formula="=HYPERLINK(1)"),
    ),
    "empty-file": (bad("providers.csv", b""), importfile.FILE_EMPTY.format(name="providers.csv")),
    "blank-lines-only": (bad("providers.csv", b"\n\n,,,\n"), importfile.FILE_EMPTY.format(name="providers.csv")),
    "header-only": (bad("providers.xlsx", xlsx_bytes([]), XLSX), importfile.FILE_NO_ROWS.format(name="providers.xlsx")),
    "not-a-workbook": (
        bad("providers.xlsx", b"PK\x03\x04 not really a zip", XLSX),
        importfile.FILE_NOT_READABLE.format(name="providers.xlsx"),
    ),
    "old-excel": (
        bad("providers.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "application/vnd.ms-excel"),
        importfile.FILE_NOT_READABLE.format(name="providers.xls"),
    ),
    "utf-16": (bad("providers.csv", "provider_id,organization,role,email\n".encode("utf-16")), None),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_gets_the_form_again_with_the_reason(client, editor, kind):
    file, message = BAD_FILES[kind]
    response = upload(client, file)
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    if message is not None:
        assert errors == [message]
    else:  # UTF-16 is not UTF-8: either reason is a true one
        assert errors[0].startswith("providers.csv is not UTF-8 text") or errors == [
            importfile.FILE_NOT_READABLE.format(name="providers.csv")
        ]
    assert errors[0] in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not RosterImport.objects.exists()


def test_a_50_mb_file_is_refused_by_the_size_limit(client, editor, settings):
    assert settings.CONTACTS_IMPORT_MAX_BYTES == 10 * 1024 * 1024
    response = upload(client, bad("providers.csv", b"x" * (50 * 1024 * 1024)))
    assert response.context["form"].errors["file"] == [
        importfile.FILE_TOO_LARGE.format(name="providers.csv", size="50.0\xa0MB", limit="10.0\xa0MB")
    ]
    assert not RosterImport.objects.exists()


def test_too_many_rows_are_refused(client, editor, settings):
    settings.CONTACTS_IMPORT_MAX_ROWS = 10
    response = upload(client, csv_upload(many_rows(3)))
    assert response.context["form"].errors["file"] == [
        importfile.FILE_TOO_MANY_ROWS.format(name="providers-2026.csv", limit="10")
    ]


def test_an_upload_without_a_file_asks_for_one(client, editor):
    response = client.post(UPLOAD, {})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["This field is required."]


# Who may, and how many queries


def test_reviewers_may_not_import_or_undo(client):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"file": csv_upload(ROWS)}).status_code == 403
    assert not RosterImport.objects.exists()


def test_the_organization_list_offers_the_import_to_editors_only(client, editor):
    changelist = reverse("admin:contacts_organization_changelist")
    assert f'href="{UPLOAD}"' in client.get(changelist).content.decode()
    client.force_login(cme_staff(REVIEWERS))
    assert f'href="{UPLOAD}"' not in client.get(changelist).content.decode()


def test_an_unknown_import_is_404(client, editor):
    assert client.get(reverse("admin:contacts_organization_import_preview", args=[999])).status_code == 404
    assert client.post(reverse("admin:contacts_organization_import_undo", args=[999])).status_code == 404


@pytest.mark.parametrize("organizations", [1, 40])
def test_the_preview_and_the_confirmation_take_the_same_queries_for_5_rows_or_200(
    client, editor, organizations, django_assert_max_num_queries
):
    # A known organization, the file's first, whose roster the plan reads: its primary as the file has them.
    primary = UserFactory(email="p0@society0.org", first_name="Firstp0", last_name="Last0", phone="(916) 555-0100")
    OrganizationFactory(provider_id="CA90000", name="Imported Medical Society 0", city="Fresno", primary=primary)
    url = upload(client, xlsx_upload(many_rows(organizations))).url
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(17):
        assert client.post(url).status_code == 302  # the confirmation, which queues it


def test_the_upload_page_and_the_confirmation_take_a_fixed_number_of_queries(
    client, editor, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        assert client.get(UPLOAD).status_code == 200
    with django_assert_max_num_queries(8):
        url = upload(client, csv_upload(ROWS)).url
    # The confirmation plans the rows again and queues the import; the worker writes them.
    with django_assert_max_num_queries(15):
        assert client.post(url).status_code == 302
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200  # being imported
    run_email_worker()
    assert EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION).count() == 2
    with django_assert_max_num_queries(7):
        assert client.get(url).status_code == 200  # imported, with its organizations


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (
            ValidationError("That role changed meanwhile; try again."),
            "Nothing was imported: row 3: That role changed meanwhile; try again.",
        ),
        (IntegrityError("duplicate key value violates unique constraint"), services.IMPORT_OVERTAKEN),
    ],
    ids=["refused", "overtaken"],
)
def test_an_import_the_worker_could_not_finish_is_back_to_its_preview_with_the_reason(
    client, editor, monkeypatch, raised, reason
):
    staged_url = upload(client, csv_upload(ROWS)).url
    client.post(staged_url)

    def failing(**arguments):
        raise raised

    monkeypatch.setattr(services, "role_assign", failing)
    run_email_worker()

    staged = RosterImport.objects.get()
    assert (staged.status, staged.error) == (RosterImport.Status.PREVIEWED, reason)
    assert not Organization.objects.exists()
    page = client.get(staged_url).content.decode()
    assert reason in page
    assert 'value="Import 2 rows"' in page  # it may be confirmed again
