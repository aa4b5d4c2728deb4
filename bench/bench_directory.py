"""The public directory at 100,000 organizations, on PostgreSQL.

    DATABASE_URL=postgres://pars_ci:pars_ci@127.0.0.1:5432/pars_ci make bench BENCH_ARGS=directory

DATABASE_URL names the server and a role that may create databases; the
benchmark never touches that database. Like the test runner, it creates a
throwaway one (BENCH_DATABASE_NAME, default pars_bench; one left over from an
interrupted run is dropped), migrates it, loads the organizations with
bulk_create, runs VACUUM ANALYZE, times the directory through django.test.Client
and drops the database at the end (BENCH_KEEP_DATABASE=1 keeps it, to study
query plans in psql). BENCH_ORGANIZATIONS changes the size.

The data keeps the invariants: each organization has exactly one primary (the
deferred trigger of migration 0002 checks every one of them at commit) and
search_text is made by search_normalize, as Organization.save() makes it.
"""

import os
import random
import re
import statistics
import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import ACCREDITED_STATUSES, AccreditationStatus, ContactRole, Organization, Role, search_normalize

User = get_user_model()

ORGANIZATIONS = int(os.environ.get("BENCH_ORGANIZATIONS", "100000"))
DATABASE_NAME = os.environ.get("BENCH_DATABASE_NAME", "pars_bench")
REQUESTS = 15
BATCH = 5000

PREFIXES = ["Pacific", "Golden State", "Sierra", "Coastal", "Valley", "Bay Area", "Central", "Northern",
            "Southern", "Mission", "Redwood", "Sunset", "Harbor", "Desert", "Foothill", "Summit", "Orchard",
            "Lakeside", "Canyon", "Café"]  # fmt: skip
SPECIALTIES = ["Cardiology", "Pediatrics", "Oncology", "Family Medicine", "Surgery", "Psychiatry", "Radiology",
               "Neurology", "Dermatology", "Médecine Interne", "Orthopedics", "Anesthesiology", "Emergency Medicine",
               "Obstetrics", "Urology", "Geriatrics", "Nephrology", "Ophthalmology", "Pathology", "Rheumatology"]  # fmt: skip
SUFFIXES = ["Institute", "Society", "Medical Group", "Foundation", "Hospital", "Education Center", "Association",
            "Academy", "Health System", "Clinic"]  # fmt: skip
CITIES = ["Los Angeles", "San Diego", "San José", "San Francisco", "Fresno", "Sacramento", "Long Beach", "Oakland",
          "Bakersfield", "Anaheim", "Santa Ana", "Riverside", "Stockton", "Irvine", "Chula Vista", "Fremont",
          "San Bernardino", "Modesto", "Fontana", "Oxnard", "Moreno Valley", "Huntington Beach", "Glendale",
          "Santa Clarita", "Oceanside", "Garden Grove", "Rancho Cucamonga", "Santa Rosa", "Ontario", "Elk Grove",
          "Corona", "Lancaster", "Palmdale", "Salinas", "Hayward", "Pomona", "Sunnyvale", "Escondido", "Torrance",
          "Pasadena", "Orange", "Fullerton", "Roseville", "Visalia", "Concord", "Thousand Oaks", "Simi Valley",
          "Santa Clara", "Vallejo", "Berkeley", "La Cañada Flintridge", "Redding", "Chico", "Eureka", "Davis",
          "Palo Alto", "Santa Barbara", "Monterey", "Napa", "Merced"]  # fmt: skip

SCENARIOS = [
    ("all providers, page 1", {}),
    ("name search 'cardiology'", {"q": "cardiology"}),
    ("name search, two words 'pacific cardio'", {"q": "pacific cardio"}),
    ("name search, accents 'medecine interne'", {"q": "medecine interne"}),
    ("city search 'SAN JOSE'", {"q": "SAN JOSE"}),
    ("filtered: commendation + ACCME", {"status": "commendation", "accreditor": "ACCME"}),
    ("search + filter: 'sacramento' + probation", {"q": "sacramento", "status": "probation"}),
    ("name search 'cardiology', page 2", {"q": "cardiology", "page": "2"}),
    ("rare name, no match 'zzyzx'", {"q": "zzyzx"}),
    ("two letters 'la' (too short for trigrams)", {"q": "la"}),
    ("all providers, last page (deep OFFSET)", {"page": "999999"}),
]


def run():
    if connection.vendor != "postgresql":
        print("Skipped: this benchmark needs PostgreSQL. Set DATABASE_URL=postgres://... (see its docstring).")
        return
    if connection.settings_dict["NAME"] == DATABASE_NAME:
        raise SystemExit(f"DATABASE_URL must name another database than the throwaway {DATABASE_NAME!r}.")
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    original_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        load(ORGANIZATIONS)
        print(f"loaded {ORGANIZATIONS:,} organizations in {time.perf_counter() - started:.1f}s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE contacts_organization, contacts_contactrole, accounts_user")
        check_invariants()
        measure()
    finally:
        if os.environ.get("BENCH_KEEP_DATABASE"):
            print(f"kept the database {DATABASE_NAME!r}")
        else:
            connection.creation.destroy_test_db(original_name, verbosity=0)


def load(count):
    rng = random.Random(7)
    statuses = [*ACCREDITED_STATUSES, AccreditationStatus.NONACCREDITATION]
    status_weights = [10, 60, 20, 5, 5]
    people = []
    organizations = []
    for n in range(count):
        people.append(_person(f"primary{n}"))
        name = f"{rng.choice(PREFIXES)} {rng.choice(SPECIALTIES)} {rng.choice(SUFFIXES)}"
        city = rng.choice(CITIES)
        organizations.append(
            Organization(
                name=name,
                provider_id=f"B{n:06d}",
                accreditor=rng.choices(["CMA", "ACCME", "AAFP"], weights=[85, 10, 5])[0],
                accreditation_status=rng.choices(statuses, weights=status_weights)[0],
                street_address=f"{n % 9000 + 100} Main Street",
                city=city,
                state="CA",
                zip_code=f"9{n % 10000:04d}",
                phone=f"(916) 555-{n % 10000:04d}",
                website=f"https://provider{n}.example.org",
                listed_in_directory=rng.random() > 0.05,
                # bulk_create skips save(): fill search_text the way save() does.
                search_text=search_normalize(f"{name} {city}"),
            )
        )
    # A fifth of the providers publish a website contact; a fifth have a staff member.
    extras = [(n, Role.WEBSITE) for n in range(0, count, 5)] + [(n, Role.STAFF) for n in range(2, count, 5)]
    people += [_person(f"{role}{n}") for n, role in extras]

    with transaction.atomic():
        User.objects.bulk_create(people, batch_size=BATCH)
        Organization.objects.bulk_create(organizations, batch_size=BATCH)
        roles = [
            ContactRole(organization=organization, person=person, role=Role.PRIMARY)
            for organization, person in zip(organizations, people, strict=False)
        ]
        roles += [
            ContactRole(organization=organizations[n], person=person, role=role)
            for (n, role), person in zip(extras, people[count:], strict=True)
        ]
        ContactRole.objects.bulk_create(roles, batch_size=BATCH)
    # The commit above ran the deferred "exactly one primary" check for every organization.


def _person(key):
    return User(
        email=f"{key}@bench.example.org",
        first_name=key.capitalize(),
        last_name="Bench",
        credentials="MD",
        job_title="Coordinator",
        phone="(916) 555-0000",
        password="!bench-no-password",
    )


def check_invariants():
    organizations = Organization.objects.count()
    primaries = ContactRole.objects.filter(role=Role.PRIMARY).values("organization").distinct().count()
    assert organizations == primaries == ContactRole.objects.filter(role=Role.PRIMARY).count(), "one primary each"
    assert not Organization.objects.filter(search_text="").exists(), "search_text filled"
    listed = Organization.objects.in_directory().count()
    print(f"{organizations:,} organizations, each with one primary; {listed:,} listed in the directory")


def measure():
    client = Client(HTTP_HOST="localhost")
    url = reverse("contacts:directory")
    print(f"\n{'request':46} {'median':>8} {'max':>8} {'queries':>7} {'found':>7}  indexes used")
    for label, params in SCENARIOS:
        for _ in range(2):  # warm the caches and the connection
            client.get(url, params)
        timings = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        found = re.search(r"(\d+) providers?(?: found|,)", response.content.decode())
        found = found.group(1) if found else 0
        print(
            f"{label:46} {statistics.median(timings) * 1000:6.1f}ms {max(timings) * 1000:6.1f}ms"
            f" {len(queries):>7} {found:>7}  {', '.join(_indexes(queries)) or '-'}",
            flush=True,
        )

    organization = Organization.objects.in_directory().order_by("pk").first()
    provider_url = reverse("contacts:provider", args=[organization.pk])
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        assert client.get(provider_url).status_code == 200
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        client.get(provider_url)
    print(
        f"{'provider page':46} {statistics.median(timings) * 1000:6.1f}ms {max(timings) * 1000:6.1f}ms {len(queries):>7}"
    )
    print(f"\nmedian and max of {REQUESTS} requests each through django.test.Client (templates rendered)")


def _indexes(queries):
    """The indexes PostgreSQL chooses for the page's queries (EXPLAIN of the captured SQL)."""
    used = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if not query["sql"].startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            for name in re.findall(
                r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan
            ):
                if name not in used:
                    used.append(name)
            if "Seq Scan on contacts_organization" in plan and "seq scan" not in used:
                used.append("seq scan")
    return used
