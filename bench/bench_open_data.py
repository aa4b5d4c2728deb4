"""The directory's open data: the whole directory of 10,000 organizations as CSV and as JSON.

    make bench BENCH_ARGS=open_data                                    # SQLite
    DATABASE_URL=postgres://pars_ci:pars_ci@127.0.0.1:5432/pars_ci make bench BENCH_ARGS=open_data

Runs in a throwaway database (bench.throwaway), loaded like bench_directory's
(bench_directory.load: every organization with its primary, a fifth with a
Website Contact, about 95% listed and accredited); BENCH_ORGANIZATIONS changes
the size (default 10,000). Through django.test.Client, the body read to its
end: the full download of each format, a filtered one, and the conditional
GET of an unchanged directory (304). Prints the median and max of a few
requests, the queries, the rows and the bytes.
"""

import os
import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.bench_directory import check_invariants, load
from bench.throwaway import throwaway_database
from contacts import services
from contacts.models import Organization

ORGANIZATIONS = int(os.environ.get("BENCH_OPEN_DATA_ORGANIZATIONS", os.environ.get("BENCH_ORGANIZATIONS", "10000")))
REQUESTS = 5

SCENARIOS = [
    ("CSV, whole directory", "contacts:directory_csv", {}),
    ("JSON, whole directory", "contacts:directory_json", {}),
    ("JSON, search 'cardiology'", "contacts:directory_json", {"q": "cardiology"}),
    ("CSV, filtered: probation", "contacts:directory_csv", {"status": "probation"}),
]


def run():
    with throwaway_database():
        started = time.perf_counter()
        load(ORGANIZATIONS)
        print(f"{connection.vendor}: loaded {ORGANIZATIONS:,} organizations in {time.perf_counter() - started:.1f}s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE contacts_organization, contacts_contactrole, accounts_user")
        check_invariants()
        # bulk_create writes no history: one change through a service gives the directory its Last-Modified.
        organization = Organization.objects.in_directory().order_by("pk").first()
        services.organization_update(organization=organization, by=None, city="Sacramento")
        time.sleep(1.1)  # a Last-Modified within the current second is not yet final (contacts.open_data)
        measure()


def _get(client, url, params, **headers):
    """One download read to its end: (seconds, status, body bytes)."""
    started = time.perf_counter()
    response = client.get(url, params, headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return time.perf_counter() - started, response, body


def measure():
    client = Client(HTTP_HOST="localhost")
    print(f"\n{'request':34} {'median':>9} {'max':>9} {'queries':>7} {'rows':>7} {'bytes':>11}")
    for label, name, params in SCENARIOS:
        url = reverse(name)
        _get(client, url, params)  # warm the connection and the caches
        timings = []
        for _ in range(REQUESTS):
            seconds, response, body = _get(client, url, params)
            assert response.status_code == 200, response.status_code
            timings.append(seconds)
        with CaptureQueriesContext(connection) as queries:
            _seconds, response, body = _get(client, url, params)
        rows = body.count(b"\n") - 1 if name.endswith("csv") else body.count(b'"status_label"')
        _print(label, timings, len(queries), rows, len(body))

    url = reverse("contacts:directory_json")
    _seconds, response, _body = _get(client, url, {})
    timings = []
    for _ in range(REQUESTS * 4):
        seconds, not_modified, _body = _get(client, url, {}, **{"If-Modified-Since": response["Last-Modified"]})
        assert not_modified.status_code == 304, not_modified.status_code
        timings.append(seconds)
    with CaptureQueriesContext(connection) as queries:
        _get(client, url, {}, **{"If-None-Match": response["ETag"]})
    _print("JSON, unchanged: 304", timings, len(queries), 0, 0)
    print(f"\nmedian and max of {REQUESTS} requests each (the 304: {REQUESTS * 4}), body read to its end")


def _print(label, timings, queries, rows, size):
    print(
        f"{label:34} {statistics.median(timings) * 1000:7.1f}ms {max(timings) * 1000:7.1f}ms"
        f" {queries:>7} {rows:>7,} {size:>11,}",
        flush=True,
    )
