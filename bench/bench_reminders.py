"""send_contact_reminders for 5,000 stale organizations: wall time, query count, and the email log's statuses.

The run only queues (log rows and delivery tasks); bench_email_worker measures the sending.

Runs in a throwaway database made with Django's test database utilities (a
temporary SQLite file, or a bench_* database on PostgreSQL when DATABASE_URL
points there), so the development database is never touched. Emails go to the
locmem backend: this measures our side of the run, not a mail server.
"""

import time
from collections import Counter
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.throwaway import throwaway_database
from contacts.models import ContactRole, EmailLog, Organization, Role, search_normalize

ORGANIZATIONS = 5_000


def run():
    with throwaway_database():
        _measure()


def _measure():
    started = time.perf_counter()
    _stale_organizations(ORGANIZATIONS)
    print(f"{connection.vendor}: created {ORGANIZATIONS:,} stale organizations in {time.perf_counter() - started:.1f}s")

    for label in ("first run", "second run (nothing due)"):
        before = EmailLog.objects.count()
        out = StringIO()
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            call_command("send_contact_reminders", stdout=out)
        elapsed = time.perf_counter() - started
        kinds = Counter(query["sql"].split()[0].upper() for query in queries.captured_queries)
        breakdown = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        queued = EmailLog.objects.count() - before
        print(f"{label}: {elapsed:.2f}s, {len(queries)} queries ({breakdown}), {queued:,} emails queued")
        print(f"  {out.getvalue().strip()}")
    logged = Counter(EmailLog.objects.filter(kind=EmailLog.Kind.REMINDER).values_list("status", flat=True))
    print(
        "email log: " + ", ".join(f"{logged[status]:,} reminders {status.label.lower()}" for status in EmailLog.Status)
    )


def _stale_organizations(count):
    """count never-confirmed organizations, each with exactly one primary; every other one has a billing contact."""
    User = get_user_model()
    with transaction.atomic():  # PostgreSQL checks "exactly one primary" at commit
        people = User.objects.bulk_create(
            User(email=f"person{n}@example.org", first_name="Pat", last_name=f"Person {n}", password="!")
            for n in range(count * 2)
        )
        organizations = Organization.objects.bulk_create(
            Organization(
                name=f"Medical Education Institute {n}",
                provider_id=f"CA{n:05d}",
                city="Sacramento",
                search_text=search_normalize(f"Medical Education Institute {n} Sacramento"),
            )
            for n in range(count)
        )
        roles = [
            ContactRole(organization=organization, person=people[2 * n], role=Role.PRIMARY)
            for n, organization in enumerate(organizations)
        ]
        roles += [
            ContactRole(organization=organization, person=people[2 * n + 1], role=Role.BILLING)
            for n, organization in enumerate(organizations)
            if n % 2 == 0
        ]
        ContactRole.objects.bulk_create(roles)
