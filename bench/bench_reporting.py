"""The Reporting-year page at 10,000 organizations: its query count and median time.

    make bench BENCH_ARGS=reporting            (SQLite, a temporary file)
    DATABASE_URL=postgres://... make bench BENCH_ARGS=reporting

Self-contained like bench_admin: a throwaway test database, the organizations
loaded with bench_directory.load (bulk_create), then for three reporting years a
confirmation for about two organizations in three and reminders for the rest,
spread over the weeks; two in three organizations hold Billing and CEO.
BENCH_ORGANIZATIONS changes the size.
"""

import importlib
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta

ORGANIZATIONS = int(os.environ.get("BENCH_REPORTING_ORGANIZATIONS", "10000"))


def _load(count):
    from django.db import transaction
    from django.utils import timezone

    from bench import bench_directory
    from contacts.models import Confirmation, ContactRole, EmailLog, Organization, Role

    bench_directory.load(count)
    rng = random.Random(16)
    organizations = list(Organization.objects.values_list("pk", flat=True))
    people = [bench_directory._person(f"{role}{pk}") for pk in organizations[::3] for role in ("billing", "ceo")]  # noqa: SLF001 -- the bench's own helper
    this_year = timezone.localdate().year
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        from django.contrib.auth import get_user_model

        created = get_user_model().objects.bulk_create(people, batch_size=2000)
        holders = iter(created)
        roles = [
            ContactRole(organization_id=pk, person=next(holders), role=role)
            for pk in organizations[::3]
            for role in (Role.BILLING, Role.CEO)
        ]
        ContactRole.objects.bulk_create(roles, batch_size=2000)
        confirmations, reminders = [], []
        for year in (this_year - 2, this_year - 1, this_year):
            start = datetime(year, 1, 1, 9, tzinfo=tz)
            days = min(365, (timezone.now() - start).days) if year == this_year else 365
            for pk in organizations:
                moment = start + timedelta(days=rng.randrange(max(days, 1)), minutes=rng.randrange(600))
                if rng.random() < 0.66:
                    confirmations.append(Confirmation(organization_id=pk, confirmed_at=moment))
                else:
                    reminders.append(
                        EmailLog(
                            kind=EmailLog.Kind.REMINDER,
                            organization_id=pk,
                            to_email="bench@example.org",
                            subject="Reminder",
                            status=EmailLog.Status.SENT,
                            queued_at=moment,
                            sent_at=moment,
                            next_attempt_at=None,
                        )
                    )
        Confirmation.objects.bulk_create(confirmations, batch_size=2000)
        EmailLog.objects.bulk_create(reminders, batch_size=2000)
    return len(confirmations), len(reminders)


def run():
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import (
        override_settings,
        setup_test_environment,
        teardown_test_environment,
    )
    from django.urls import reverse

    from accounts.tests.client import Client
    from accounts.tests.factories import StaffUserFactory
    from bench.bench_admin import REPEATS
    from bench.bench_admin import _measure as measure

    setup_test_environment()
    workdir = tempfile.TemporaryDirectory(prefix="bench-reporting-")
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = os.path.join(workdir.name, "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"test_bench_reporting_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            started = time.perf_counter()
            confirmations, reminders = _load(ORGANIZATIONS)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            print(
                f"loaded {ORGANIZATIONS:,} organizations, {confirmations:,} confirmations and {reminders:,} "
                f"reminders over three years in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
            importlib.import_module("contacts.migrations.0003_cme_staff_groups").groups_create(apps)
            reviewer = StaffUserFactory()
            reviewer.groups.add(Group.objects.get(name="CME reviewers"))
            client = Client()
            client.force_login(reviewer)
            url = reverse("admin:contacts_organization_reporting_year")
            response, counts, timings = measure(client, url)  # bench_admin's: warm-up, then REPEATS requests
            report = response.context["report"]
            print(f"database: {connection.vendor}; signed in as a CME reviewer")
            print(
                f"reporting year {report.year}: {report.total:,} organizations, {report.confirmed:,} confirmed, "
                f"{report.reminded:,} reminded, {report.incomplete:,} incomplete"
            )
            print(
                f"reporting-year page: {counts[0]} queries; median {statistics.median(timings) * 1000:.0f} ms, "
                f"min {min(timings) * 1000:.0f} ms over {REPEATS} requests"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        workdir.cleanup()
