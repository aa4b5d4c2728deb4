"""The public directory as open data: its current result as CSV and as JSON (README, "Open data")."""

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
import time_machine
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import http_date

from contacts import open_data, public_views, services
from contacts.models import AccreditationStatus, Role
from contacts.tests.directory_checks import (
    BAD_SEARCHES,
    assert_publishes_only_website_contact,
    counted_providers,
    full_roster_organization,
)
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

CSV = reverse("contacts:directory_csv")
JSON = reverse("contacts:directory_json")
DIRECTORY = reverse("contacts:directory")
# The directory's state (accreditors, version, last change), the capped count, the providers, and their
# published contacts once per EXPORT_CHUNK providers.
EXPORT_QUERIES = 4
# A conditional GET of an unchanged result: the directory's state alone.
NOT_MODIFIED_QUERIES = 1

# Every change below happens at a known moment, a quarter of a second into its second.
CREATED = datetime(2026, 3, 2, 9, 0, 0, 250_000, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
CHANGED = datetime(2026, 3, 2, 11, 0, 0, 250_000, tzinfo=UTC)
MUCH_LATER = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def download(client, url, params=None, **headers):
    response = client.get(url, params or {}, headers=headers)
    if response.streaming:
        response.body = b"".join(response.streaming_content).decode()
    else:
        response.body = response.content.decode()
    return response


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.body.removeprefix("\ufeff"))))


def json_document(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.body)


@pytest.fixture
def delta():
    """Four providers for a search and filters, one with a Website Contact, one with missing details."""
    with time_machine.travel(CREATED, tick=False):
        one = OrganizationFactory(
            name="Delta One",
            accreditation_status=AccreditationStatus.PROBATION,
            accreditor="CMA",
            city="Fresno",
            website="https://one.example.org",
            primary=UserFactory(first_name="Ann", last_name="Primary", credentials="DO", phone="(559) 555-0101"),
        )
        website = UserFactory(first_name="Wes", last_name="Web", credentials="", phone="", email="wes.web@example.org")
        services.role_assign(organization=one, person=website, role=Role.WEBSITE, by=None)
        OrganizationFactory(
            name="Delta Two",
            accreditation_status=AccreditationStatus.PROBATION,
            accreditor="ACCME",
            city="",
            state="",
            website="",
            primary=UserFactory(first_name="Bo", last_name="Two", email="bo.two@example.org", phone="(559) 555-0102"),
        )
        OrganizationFactory(name="Delta Three", accreditation_status=AccreditationStatus.ACCREDITATION)
        OrganizationFactory(
            name="Delta Hidden", accreditation_status=AccreditationStatus.PROBATION, listed_in_directory=False
        )
        OrganizationFactory(name="Echo Four", accreditation_status=AccreditationStatus.PROBATION)
    return one


# What is listed, and in which fields


def test_csv_lists_the_search_and_filters_with_the_fields_the_page_shows(client, delta):
    response = download(client, CSV, {"q": "delta", "status": "probation"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="cme-providers.csv"'
    assert csv_rows(response) == [
        open_data.CSV_COLUMNS,
        [
            "Delta One",
            "CMA",
            "Probation",
            "Fresno",
            "CA",
            "https://one.example.org",
            "Wes Web",
            "",
            "wes.web@example.org",
        ],
        ["Delta Two", "ACCME", "Probation", "", "", "", "Bo Two, MD", "(559) 555-0102", "bo.two@example.org"],
    ]


def test_json_lists_the_search_and_filters_as_format_version_1(client, delta):
    response = download(client, JSON, {"q": "delta", "status": "probation"})

    assert response.status_code == 200
    assert json_document(response) == {
        "version": 1,
        "query": {"q": "delta", "status": "probation", "accreditor": None},
        "count": 2,
        "truncated": False,
        "providers": [
            {
                "name": "Delta One",
                "accreditor": "CMA",
                "status": "probation",
                "status_label": "Probation",
                "city": "Fresno",
                "state": "CA",
                "website": "https://one.example.org",
                "contact": {"name": "Wes Web", "phone": None, "email": "wes.web@example.org"},
            },
            {
                "name": "Delta Two",
                "accreditor": "ACCME",
                "status": "probation",
                "status_label": "Probation",
                "city": None,
                "state": None,
                "website": None,
                "contact": {"name": "Bo Two, MD", "phone": "(559) 555-0102", "email": "bo.two@example.org"},
            },
        ],
    }


def test_the_downloads_list_what_the_page_lists_for_the_same_query(client, delta):
    for params in ({}, {"accreditor": "ACCME"}, {"q": "fresno"}, {"status": "accreditation"}, {"q": "nothing"}):
        page = [organization.name for organization in client.get(DIRECTORY, params).context["organizations"]]

        assert [row[0] for row in csv_rows(download(client, CSV, params))[1:]] == page
        assert [entry["name"] for entry in json_document(download(client, JSON, params))["providers"]] == page


def test_the_downloads_hold_every_page_of_the_result(client):
    for n in range(25):
        OrganizationFactory(name=f"Probation Provider {n:02d}", accreditation_status=AccreditationStatus.PROBATION)

    for params in ({"status": "probation"}, {"status": "probation", "page": "2"}, {"page": "abc"}):
        names = [entry["name"] for entry in json_document(download(client, JSON, params))["providers"]]
        assert names == [f"Probation Provider {n:02d}" for n in range(25)]
        assert len(csv_rows(download(client, CSV, params))) == 1 + 25


def test_an_empty_result_is_a_valid_empty_document(client, delta):
    document = json_document(download(client, JSON, {"q": "orthodontics"}))

    assert (document["count"], document["providers"], document["truncated"]) == (0, [], False)
    assert csv_rows(download(client, CSV, {"q": "orthodontics"})) == [open_data.CSV_COLUMNS]


def test_a_result_past_the_cap_is_cut_there_and_says_so(client, monkeypatch):
    monkeypatch.setattr(open_data, "EXPORT_CAP", 3)
    for n in range(5):
        OrganizationFactory(name=f"Capped Provider {n}")

    json_response = download(client, JSON)
    csv_response = download(client, CSV)

    document = json_document(json_response)
    assert (document["count"], document["truncated"]) == (3, True)
    assert [entry["name"] for entry in document["providers"]] == [f"Capped Provider {n}" for n in range(3)]
    assert len(csv_rows(csv_response)) == 1 + 3
    assert json_response[open_data.TRUNCATED_HEADER] == csv_response[open_data.TRUNCATED_HEADER] == "true"
    assert download(client, JSON, {"q": "provider 4"})[open_data.TRUNCATED_HEADER] == "false"


# Nothing private


def test_the_downloads_publish_the_website_contact_and_no_one_else(client):
    _organization, people = full_roster_organization()

    for url in (CSV, JSON):
        response = download(client, url)
        assert response.status_code == 200
        assert_publishes_only_website_contact(response.body, people)


def test_the_downloads_carry_no_other_field_of_the_organization(client, delta):
    OrganizationFactory(name="Delta Private", street_address="77 Secret Lane", zip_code="90999", phone="(213) 555-0177")

    for url in (CSV, JSON):
        text = download(client, url, {"q": "delta private"}).body
        for private in ("77 Secret Lane", "90999", "(213) 555-0177", "CA0"):
            assert private not in text
    entry = json_document(download(client, JSON, {"q": "delta private"}))["providers"][0]
    assert set(entry) == {"name", "accreditor", "status", "status_label", "city", "state", "website", "contact"}
    assert set(entry["contact"]) == {"name", "phone", "email"}


def test_unlisted_and_unaccredited_providers_are_not_in_the_downloads(client, delta):
    OrganizationFactory(name="Delta Lapsed", accreditation_status=AccreditationStatus.NONACCREDITATION)

    for url in (CSV, JSON):
        text = download(client, url).body
        assert "Delta Hidden" not in text
        assert "Delta Lapsed" not in text


# Spreadsheets


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(client):
    contact = UserFactory(first_name="=cmd|' /C calc'!A0", last_name="Doe", credentials="", phone="+1 (916) 555-0142")
    OrganizationFactory(name="@SUM(A1:A9)", city="-2+3", accreditor="+CMA", primary=contact)

    row = csv_rows(download(client, CSV))[1]

    assert row[:4] == ["'@SUM(A1:A9)", "'+CMA", "Accreditation", "'-2+3"]
    assert row[6:8] == ["'=cmd|' /C calc'!A0 Doe", "+1 (916) 555-0142"]
    assert json_document(download(client, JSON))["providers"][0]["name"] == "@SUM(A1:A9)"


# Conditional GETs


@pytest.fixture
def fetched(client, delta):
    """The JSON and CSV of a search, first fetched an hour after the last change."""
    with time_machine.travel(LATER, tick=False):
        return {url: download(client, url, {"status": "probation"}) for url in (CSV, JSON)}


def test_last_modified_is_the_last_change_rounded_up_to_the_second(fetched):
    for response in fetched.values():
        assert response["Last-Modified"] == http_date(CREATED.timestamp() + 0.75) == "Mon, 02 Mar 2026 09:00:01 GMT"
        assert response["ETag"]
        assert response["Cache-Control"] == "public, no-cache"


@pytest.mark.parametrize("url", [CSV, JSON])
def test_an_unchanged_result_answers_304_with_one_query(client, fetched, url, django_assert_num_queries):
    first = fetched[url]

    with time_machine.travel(MUCH_LATER, tick=False):
        for validator in (
            {"If-Modified-Since": first["Last-Modified"]},
            {"If-Modified-Since": http_date(LATER.timestamp())},
            {"If-None-Match": first["ETag"]},
        ):
            with django_assert_num_queries(NOT_MODIFIED_QUERIES):
                response = download(client, url, {"status": "probation"}, **validator)
            assert response.status_code == 304
            assert response.body == ""
            assert (response["ETag"], response["Last-Modified"]) == (first["ETag"], first["Last-Modified"])


@pytest.mark.parametrize("url", [CSV, JSON])
def test_an_older_copy_gets_the_result_again(client, fetched, url):
    response = download(client, url, {"status": "probation"}, **{"If-Modified-Since": http_date(CREATED.timestamp())})

    assert response.status_code == 200
    assert "Delta One" in response.body


CHANGES = {
    "renamed": (
        lambda one: services.organization_update(organization=one, name="Delta Renamed", by=None),
        "Delta Renamed",
    ),
    "published phone": (
        lambda one: services.person_update(
            person=one.roles.get(role=Role.WEBSITE).person, phone="(559) 555-0199", by=None
        ),
        "(559) 555-0199",
    ),
    "website contact removed": (
        lambda one: services.role_remove(contact_role=one.roles.get(role=Role.WEBSITE), by=None),
        "Ann Primary, DO",
    ),
    "new provider": (
        lambda one: OrganizationFactory(name="Delta New", accreditation_status=AccreditationStatus.PROBATION),
        "Delta New",
    ),
}


@pytest.mark.parametrize("url", [CSV, JSON])
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_the_result_answers_200_with_it(client, delta, fetched, url, change):
    make, shown = CHANGES[change]
    with time_machine.travel(CHANGED, tick=False):
        make(delta)

    with time_machine.travel(MUCH_LATER, tick=False):
        response = download(
            client, url, {"status": "probation"}, **{"If-Modified-Since": fetched[url]["Last-Modified"]}
        )
        by_etag = download(client, url, {"status": "probation"}, **{"If-None-Match": fetched[url]["ETag"]})

    assert response.status_code == by_etag.status_code == 200
    assert shown in response.body
    assert response["Last-Modified"] == "Mon, 02 Mar 2026 11:00:01 GMT"
    assert response["ETag"] != fetched[url]["ETag"]


@pytest.mark.parametrize("url", [CSV, JSON])
def test_a_change_in_the_same_second_as_the_download_is_not_missed(client, delta, url):
    moment = datetime(2026, 3, 2, 9, 30, 0, 100_000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        services.organization_update(organization=delta, name="Delta Early", by=None)
    with time_machine.travel(moment.replace(microsecond=300_000), tick=False):
        first = download(client, url)
    with time_machine.travel(moment.replace(microsecond=600_000), tick=False):
        services.organization_update(organization=delta, name="Delta Late", by=None)

    with time_machine.travel(MUCH_LATER, tick=False):
        response = download(client, url, **{"If-Modified-Since": first["Last-Modified"]})

    # The first download could not yet claim the whole second: its Last-Modified is the moment it was made.
    assert first["Last-Modified"] == "Mon, 02 Mar 2026 09:30:00 GMT"
    assert response.status_code == 200
    assert "Delta Late" in response.body


# Bad input


@pytest.mark.parametrize(("params", "message"), BAD_SEARCHES)
def test_a_search_the_page_would_correct_is_refused_with_its_message(client, delta, params, message):
    csv_response = download(client, CSV, params)
    json_response = download(client, JSON, params)

    assert csv_response.status_code == json_response.status_code == 400
    assert csv_response.body == open_data.REFUSED.format(errors=message)
    field = next(iter(params))
    assert json_document(json_response) == {"version": 1, "errors": {field: [message]}}


def test_unknown_parameters_are_ignored(client, delta):
    response = download(client, JSON, {"status": "probation", "format": "xml", "page": "-1", "sort": "name"})

    assert response.status_code == 200
    assert json_document(response)["count"] == 3


# Query counts


@pytest.mark.parametrize("providers", [3, 40])
@pytest.mark.parametrize("url", [CSV, JSON])
def test_download_query_count_is_fixed(client, django_assert_max_num_queries, providers, url):
    counted_providers(providers)

    with django_assert_max_num_queries(EXPORT_QUERIES):
        response = download(client, url, {"q": "counted"})
    assert response.body.count("Counted Provider") == providers


def test_download_reads_the_published_contacts_once_per_chunk(client, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr(open_data, "EXPORT_CHUNK", 10)
    for n in range(35):
        OrganizationFactory(name=f"Chunked Provider {n:02d}")

    # 35 providers in chunks of 10: four reads of the published contacts instead of one.
    with django_assert_max_num_queries(EXPORT_QUERIES + 3):
        response = download(client, JSON)
    assert json_document(response)["count"] == 35


# A HEAD: the state and the count, never the providers.
HEAD_QUERIES = 2


@pytest.mark.parametrize("url", [CSV, JSON])
def test_head_gives_the_headers_without_reading_the_providers(client, delta, url, django_assert_num_queries):
    # Through the WSGI application as gunicorn calls it: gunicorn reads a HEAD's body to the end, to discard it.
    environ = {"REQUEST_METHOD": "HEAD", "PATH_INFO": url, "QUERY_STRING": "status=probation"}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "testserver"
    started = {}

    # As Django's test client does: keep the test's connection (and its transaction) open across the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_assert_num_queries(HEAD_QUERIES):
            application = get_wsgi_application()
            body = b"".join(application(environ, lambda status, headers: started.update(headers, status=status)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    assert (started["status"], body) == ("200 OK", b"")
    assert started["ETag"] == download(client, url, {"status": "probation"})["ETag"]
    assert started[open_data.TRUNCATED_HEADER] == "false"


# The link on the page


def test_the_directory_page_links_to_the_downloads_of_its_search(client, delta):
    html = client.get(DIRECTORY, {"q": "delta", "status": "probation", "page": "1"}).content.decode()

    assert f'href="{CSV}?q=delta&amp;status=probation"' in html
    assert f'href="{JSON}?q=delta&amp;status=probation"' in html
    assert f'href="{CSV}"' in client.get(DIRECTORY).content.decode()


def test_no_download_is_offered_for_a_search_to_correct(client, delta):
    html = client.get(DIRECTORY, {"status": "bogus"}).content.decode()

    assert CSV not in html
    assert JSON not in html


# The documented format


def _shape(value):
    """The keys and types of a JSON value, nulls aside: what a reader of the format relies on."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_the_readme_documents_the_json_as_it_is_served(client, delta):
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Open data", 1)[1].split("\n## ", 1)[0]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    served = json_document(download(client, JSON, {"q": "delta three"}))

    assert list(example) == list(served)
    assert _shape(example) == _shape(served)
    for key in ("version", "query", "count", "truncated", "providers", *served["providers"][0]):
        assert f"`{key}`" in section or f"`providers[].{key}`" in section or f".{key}`" in section, key


@pytest.mark.postgres
def test_last_modified_probes_each_history_date_index(delta):
    with CaptureQueriesContext(connection) as queries:
        public_views.directory_state()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables are read whole otherwise
        cursor.execute(f"EXPLAIN {queries[0]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # An index alone, never the table: the history_date index read backward for its last entry, or, while the
    # table is tiny, whichever index holds history_date (History's (id, history_date, ...) ones do) read whole.
    for table in ("contacts_historicalorganization", "contacts_historicalcontactrole", "accounts_historicaluser"):
        assert re.search(rf"Index (Only )?Scan (Backward )?using {table}_\w+", plan), plan
        assert not re.search(rf"Seq Scan on {table}\b", plan), plan
