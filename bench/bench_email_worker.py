"""The email worker: emails per second to an SMTP sink on 127.0.0.1 with one and two db_worker processes,
and the pages' median time with a healthy and with a hung mail server, side by side.

Runs in a throwaway database (a temporary SQLite file, or a bench_* database on
PostgreSQL when DATABASE_URL points there). The workers are real `manage.py
db_worker --batch` processes; the sink is aiosmtpd; the hung server accepts
connections and never answers (EMAIL_TIMEOUT bounds what a worker waits).
"""

import logging
import os
import statistics
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from bench.throwaway import throwaway_database
from contacts import services
from contacts.forms import LISTED
from contacts.models import EmailLog, Role
from pars.mailservers import hung_mail_server, smtp_sink

EMAILS = 400
PAGE_RUNS = 25
EMAIL_TIMEOUT = 10


def run():
    for noisy in ("axes", "django_tasks", "contacts.emails"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with throwaway_database(), override_settings(ALLOWED_HOSTS=["*"], EMAIL_LIMITS={}):
        _throughput()
        _pages()


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _worker(port):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pars.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval", "0", "-v", "0"]
    return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)


def _queue(count, batch):
    from accounts.tests.factories import InvitedUserFactory
    from contacts.tests.factories import OrganizationFactory

    organization = OrganizationFactory(name=f"Throughput {batch}")
    for _ in range(count):
        services.invitation_send(person=InvitedUserFactory(), organization=organization, by=None)


def _throughput():
    print(f"{connection.vendor}: {EMAILS} invitations per run, db_worker --batch processes, aiosmtpd sink on 127.0.0.1")
    for batch, workers in enumerate((1, 2)):
        EmailLog.objects.all().delete()
        _queue(EMAILS, batch)
        with smtp_sink() as (port, received):
            started = time.perf_counter()
            processes = [_worker(port) for _ in range(workers)]
            for process in processes:
                process.wait(timeout=600)
            wall = time.perf_counter() - started
        sent = EmailLog.objects.filter(status=EmailLog.Status.SENT)
        first, last = (
            sent.order_by(order).values_list("sent_at", flat=True).first() for order in ("sent_at", "-sent_at")
        )
        sending = (last - first).total_seconds()
        duplicates = len(received) - len({tuple(rcpts) for rcpts, _ in received})
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}: {sent.count()} sent, {len(received)} received, "
            f"{duplicates} duplicates; {(sent.count() - 1) / sending:6.1f} emails/s while sending, "
            f"{sent.count() / wall:6.1f} emails/s wall (with process start-up, {wall:.1f}s)"
        )


def _median_ms(timings):
    return f"{statistics.median(timings) * 1000:7.1f} ms"


def _handover_timings(client, organization, people):
    url = reverse("contacts:primary_transfer", args=[organization.pk])
    timings = []
    for _ in range(PAGE_RUNS):
        primary = organization.roles.get(role=Role.PRIMARY).person
        to = people[1] if primary == people[0] else people[0]
        client.force_login(primary)
        started = time.perf_counter()
        response = client.post(url, {"who": LISTED, "person": to.pk, "confirm": "1", "keep_as_staff": "on"})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    return timings


def _reset_timings(client, email):
    timings = []
    for _ in range(PAGE_RUNS):
        started = time.perf_counter()
        response = client.post(reverse("accounts:password_reset"), {"email": email})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302
    return timings


def _pages():
    from contacts.tests.factories import OrganizationFactory

    User = get_user_model()
    jane = User.objects.create_user("jane.handover@example.org", "a-long-bench-password", first_name="Jane")
    john = User.objects.create_user("john.handover@example.org", "a-long-bench-password", first_name="John")
    organization = OrganizationFactory(primary=jane, name="Hand-over bench")
    services.role_assign(organization=organization, person=john, role=Role.STAFF, by=None)
    client = Client()
    rows = {}
    with (
        smtp_sink() as (port, _received),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=port),
    ):
        rows["healthy"] = (
            _handover_timings(client, organization, [jane, john]),
            _reset_timings(client, jane.email),
            _reset_timings(client, "nobody@example.org"),
        )
    with hung_mail_server() as hung:
        smtp = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_PORT": hung.port}
        with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_TIMEOUT=EMAIL_TIMEOUT, **smtp):
            rows["hung (never answers)"] = (
                _handover_timings(client, organization, [jane, john]),
                _reset_timings(client, jane.email),
                _reset_timings(client, "nobody@example.org"),
            )
        connections = len(hung.accepted)
    print(f"pages, median of {PAGE_RUNS} requests each (in-process client, {connection.vendor}):")
    print(f"  {'mail server':<22} {'hand-over':>10} {'reset, known':>14} {'reset, unknown':>16}")
    for label, (handover, known, unknown) in rows.items():
        print(f"  {label:<22} {_median_ms(handover):>10} {_median_ms(known):>14} {_median_ms(unknown):>16}")
    print(f"  connections the pages opened to the hung server: {connections}")
