"""The bulk import of 5,000 rows (1,000 new organizations, five contacts each) through the admin's pages.

    make bench BENCH_ARGS=import              (SQLite, a temporary file)
    DATABASE_URL=postgres://... make bench BENCH_ARGS=import

Self-contained: a throwaway test database, 1,000 organizations already there (so the
plan reads real rosters), then, signed in as a CME editor with the test client:

- upload: the CSV and the Excel file read and kept (the POST of the upload form);
- preview: the preview page, every row planned and shown (median of REPEATS);
- confirm: the page (the rows planned again, the import queued), then the worker's
  task: every row written through the services in one transaction, 1,000
  organizations, 4,000 more roles, 5,000 new people and 3,000 invitations queued;
- the same file again: its preview (every row unchanged).

Each page's figure is the whole request, as the editor waits for it; the worker's
is the task roster_import_run, called as the worker calls it. BENCH_IMPORT_ORGANIZATIONS
changes the size (five rows each).
"""

import importlib
import os
import statistics
import time

ORGANIZATIONS = int(os.environ.get("BENCH_IMPORT_ORGANIZATIONS", "1000"))
REPEATS = 3


def _timed(call):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the log keeps 9,000 queries: a full one would count none
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = call()
        elapsed = time.perf_counter() - started
    assert response.status_code in (200, 302), response.status_code
    return response, elapsed, len(queries.captured_queries)


def _upload(client, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    file = SimpleUploadedFile(name, content)
    response, elapsed, queries = _timed(
        lambda: client.post(reverse("admin:contacts_organization_import"), {"file": file})
    )
    assert response.status_code == 302, response.context["form"].errors
    return response.url, elapsed, queries


def _preview(client, url):
    timings = []
    for _ in range(REPEATS):
        response, elapsed, queries = _timed(lambda: client.get(url))
        timings.append(elapsed)
    return response, statistics.median(timings), queries


def run():
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

    from accounts.tests.client import Client
    from accounts.tests.factories import StaffUserFactory
    from bench import bench_directory
    from bench.throwaway import throwaway_database
    from contacts.models import EmailLog, Organization, RosterImport
    from contacts.services import roster_import_run
    from contacts.tests.import_files import csv_bytes, many_rows, xlsx_bytes

    setup_test_environment()
    try:
        with (
            throwaway_database(),
            override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        ):
            importlib.import_module("contacts.migrations.0003_cme_staff_groups").groups_create(apps)
            bench_directory.load(1000)
            editor = StaffUserFactory(first_name="Eduardo", last_name="Morales")
            editor.groups.add(Group.objects.get(name="CME editors"))
            client = Client()
            client.force_login(editor)
            rows = many_rows(ORGANIZATIONS)
            csv_content, xlsx_content = csv_bytes(rows), xlsx_bytes(rows)
            print(f"database: {connection.vendor}; {len(rows)} rows, {ORGANIZATIONS} new organizations")
            print(f"files: CSV {len(csv_content) / 1024:.0f} KB, Excel {len(xlsx_content) / 1024:.0f} KB")

            url, elapsed, queries = _upload(client, "providers-2026.csv", csv_content)
            print(f"upload CSV (read and keep the rows): {elapsed:.2f}s, {queries} queries")
            xlsx_url, elapsed, queries = _upload(client, "providers-2026.xlsx", xlsx_content)
            print(f"upload Excel (read and keep the rows): {elapsed:.2f}s, {queries} queries")

            response, elapsed, queries = _preview(client, url)
            counts = response.context["plan"].counts
            print(f"preview page, {len(rows)} rows: median {elapsed:.2f}s of {REPEATS}, {queries} queries; {counts}")
            print(f"preview page size: {len(response.content) / 1024:.0f} KB")

            response, elapsed, queries = _timed(lambda: client.post(url))
            assert response.status_code == 302, response.context.get("error")
            print(f"confirm page (plans the rows again, queues the import): {elapsed:.2f}s, {queries} queries")
            staged = RosterImport.objects.get(filename="providers-2026.csv")
            started = time.perf_counter()
            outcome = roster_import_run.call(staged.pk, editor.pk)  # what the worker runs
            elapsed = time.perf_counter() - started
            assert outcome == "applied", RosterImport.objects.get(pk=staged.pk).error
            print(
                f"the worker's import, {len(rows)} rows in one transaction: {elapsed:.2f}s; "
                f"{Organization.objects.count()} organizations, "
                f"{EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION).count()} invitations queued"
            )
            _response, elapsed, queries = _preview(client, url)
            print(f"the import's page once done: median {elapsed:.2f}s, {queries} queries")

            response, elapsed, queries = _preview(client, xlsx_url)
            print(
                f"the same rows again (Excel), preview: median {elapsed:.2f}s, {queries} queries; {response.context['plan'].counts}"
            )
    finally:
        teardown_test_environment()
