"""The admin's organization list with 100 organizations on the page: its query count and time.

Self-contained: builds a throwaway test database (a temporary SQLite file, or
test_bench_admin_<pid> on PostgreSQL when DATABASE_URL says so), fills it, and
destroys it afterwards.
"""

import importlib
import os
import re
import statistics
import tempfile
import time

ORGANIZATIONS = 100
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")
REPEATS = 7


def _build(count):
    from accounts.tests.factories import UserFactory
    from contacts import services
    from contacts.models import Role
    from contacts.tests.factories import OrganizationFactory

    for i in range(count):
        organization = OrganizationFactory()
        extra = [Role.STAFF, Role.STAFF, Role.TECHNICAL]
        if i % 2:
            extra.append(Role.BILLING)
        if i % 3:
            extra.append(Role.WEBSITE)
        for role in extra:
            services.role_assign(organization=organization, person=UserFactory(), role=role, by=None)


def _measure(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up: templates, permission caches
    timings, counts = [], []
    for _ in range(REPEATS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        # ATOMIC_REQUESTS wraps the request in a transaction: count the queries, not BEGIN and COMMIT.
        sql = [q["sql"] for q in queries.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]
        counts.append(len(sql))
    if os.environ.get("BENCH_SHOW_SQL"):
        print("\n".join(statement[:140] for statement in sql))
    return response, counts, timings


def run():
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment, teardown_test_environment
    from django.urls import reverse

    from accounts.tests.client import Client  # force_login also passes the editor's second factor
    from accounts.tests.factories import StaffUserFactory

    setup_test_environment()
    workdir = tempfile.TemporaryDirectory(prefix="bench-admin-")
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = os.path.join(workdir.name, "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"test_bench_admin_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            importlib.import_module("contacts.migrations.0003_cme_staff_groups").groups_create(apps)
            editor = StaffUserFactory()
            editor.groups.add(Group.objects.get(name="CME editors"))
            client = Client()
            client.force_login(editor)
            url = reverse("admin:contacts_organization_changelist")
            started = time.perf_counter()
            _build(5)
            _response, few, _ = _measure(client, url)
            _build(ORGANIZATIONS - 5)
            print(f"built {ORGANIZATIONS} organizations with rosters in {time.perf_counter() - started:.1f}s")
            response, counts, timings = _measure(client, url)
            shown = len(response.context["cl"].result_list)
            print(f"database: {connection.vendor}; signed in as a CME editor")
            print(f"changelist, {shown} organizations on the page: {counts[0]} queries (5 organizations: {few[0]})")
            print(
                f"changelist time: median {statistics.median(timings) * 1000:.0f} ms, "
                f"min {min(timings) * 1000:.0f} ms over {REPEATS} requests"
            )
            _response, filtered, filtered_timings = _measure(client, url + "?unfilled=billing&confirmed=stale&q=e")
            print(
                f"changelist filtered and searched: {filtered[0]} queries, "
                f"median {statistics.median(filtered_timings) * 1000:.0f} ms"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        workdir.cleanup()
