"""The real thing: db_worker processes, real SMTP servers on 127.0.0.1, signals, and pages that never wait.

Each worker here is `manage.py db_worker` in its own process, on the test
database (committed rows: transaction=True), sending over SMTP to a sink or to
a server that accepts and never answers.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from contacts import services
from contacts.emails import WORKER_STOPPED
from contacts.forms import LISTED
from contacts.models import EmailLog, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from pars.mailservers import hung_mail_server, smtp_sink

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(settings.BASE_DIR)
EMAIL_TIMEOUT = 3  # seconds: how long the worker waits on a silent mail server


def database_url() -> str:
    """The test database, for a worker in another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker(port, *args):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pars.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "test-worker-only",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "EMAIL_TIMEOUT": str(EMAIL_TIMEOUT),
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def invite(count=1):
    organization = OrganizationFactory()
    return [
        services.invitation_send(person=InvitedUserFactory(), organization=organization, by=None) for _ in range(count)
    ]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_process_sends_the_queued_emails_over_smtp_and_marks_them_sent():
    logs = invite(3)
    with smtp_sink() as (port, received):
        process = worker(port, "--batch")
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert sorted(rcpt for rcpts, _ in received for rcpt in rcpts) == sorted(log.to_email for log in logs)
    assert set(EmailLog.objects.values_list("status", "attempts")) == {(EmailLog.Status.SENT, 1)}


def test_sigterm_while_the_mail_server_hangs_finishes_the_email_in_hand_and_exits():
    [log] = invite()
    with hung_mail_server() as server:
        process = worker(server.port)
        assert wait_for(lambda: EmailLog.objects.get(pk=log.pk).status == EmailLog.Status.SENDING)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=EMAIL_TIMEOUT + 15)
        took = time.monotonic() - stopped_at
    assert process.returncode == 0, output
    assert took < EMAIL_TIMEOUT + 10, "bounded by the mail timeout, not forever"
    log.refresh_from_db()
    assert (log.status, log.attempts, log.claimed_until) == (EmailLog.Status.QUEUED, 1, None), output
    assert "timed out" in log.error
    assert log.next_attempt_at > log.queued_at, "tried again after the first retry delay"


def test_second_sigterm_releases_the_email_in_hand_at_once():
    [log] = invite()
    with hung_mail_server() as server:
        process = worker(server.port)
        assert wait_for(lambda: EmailLog.objects.get(pk=log.pk).status == EmailLog.Status.SENDING)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        forced_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=EMAIL_TIMEOUT + 15)
        took = time.monotonic() - forced_at
    assert took < EMAIL_TIMEOUT - 1, "it did not wait for the mail server"
    log.refresh_from_db()
    assert (log.status, log.claimed_until, log.error) == (EmailLog.Status.QUEUED, None, WORKER_STOPPED), output
    with smtp_sink() as (port, received):
        again = worker(port, "--batch")
        again.communicate(timeout=60)
    assert [rcpts for rcpts, _ in received] == [[log.to_email]], "the next worker sends it"


def test_email_of_a_killed_worker_is_sent_by_another_once_its_lease_expires(settings):
    [log] = invite()
    with hung_mail_server() as server:
        process = worker(server.port)
        assert wait_for(lambda: EmailLog.objects.get(pk=log.pk).status == EmailLog.Status.SENDING)
        process.kill()  # no chance to record anything
        process.communicate(timeout=10)
    log.refresh_from_db()
    assert log.status == EmailLog.Status.SENDING
    # The lease ends (EMAIL_LEASE_SECONDS); rather than wait five minutes, end it and its guard's wait now.
    from django_tasks_db.models import DBTaskResult

    EmailLog.objects.filter(pk=log.pk).update(claimed_until=log.queued_at)
    DBTaskResult.objects.filter(status="READY").update(run_after=log.queued_at)
    with smtp_sink() as (port, received):
        again = worker(port, "--batch")
        again.communicate(timeout=60)
    assert [rcpts for rcpts, _ in received] == [[log.to_email]]
    log.refresh_from_db()
    assert (log.status, log.attempts) == (EmailLog.Status.SENT, 2)


@pytest.mark.postgres
def test_two_workers_at_once_send_each_email_exactly_once():
    logs = invite(40)
    with smtp_sink() as (port, received):
        workers = [worker(port, "--batch") for _ in range(2)]
        outputs = [process.communicate(timeout=120)[0] for process in workers]
    assert [process.returncode for process in workers] == [0, 0], outputs
    recipients = sorted(rcpt for rcpts, _ in received for rcpt in rcpts)
    assert recipients == sorted(log.to_email for log in logs), "each email once: none missing, none twice"
    assert set(EmailLog.objects.values_list("status", "attempts")) == {(EmailLog.Status.SENT, 1)}


# No page waits on the mail server


@pytest.fixture
def hung(settings):
    """The site's email settings point at a mail server that accepts and never answers."""
    with hung_mail_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, EMAIL_TIMEOUT
        yield server


def timed_post(client, url, data):
    started = time.monotonic()
    response = client.post(url, data)
    return response, time.monotonic() - started


def test_hand_over_answers_at_once_with_a_hung_mail_server_and_never_calls_it(client, hung):
    """The fault: a committed hand-over answered 500 after 30.7 s."""
    organization = OrganizationFactory()
    jane = UserFactory()
    services.role_assign(organization=organization, person=jane, role=Role.STAFF, by=None)
    client.force_login(organization.primary_contact)
    url = reverse("contacts:primary_transfer", args=[organization.pk])
    data = {"who": LISTED, "person": jane.pk, "confirm": "1", "keep_as_staff": "on"}
    response, took = timed_post(client, url, data)
    assert response.status_code == 302
    assert took < EMAIL_TIMEOUT, f"the page took {took:.1f} s"
    assert hung.accepted == [], "the request never connected to the mail server"
    assert sorted(EmailLog.objects.values_list("status", flat=True)) == [EmailLog.Status.QUEUED] * 2


def test_add_contact_answers_at_once_with_a_hung_mail_server(client, hung):
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    url = reverse("contacts:contact_add", args=[organization.pk])
    data = {"email": "nia@example.org", "role": Role.STAFF, "first_name": "Nia", "last_name": "Long", "confirm": "1"}
    response, took = timed_post(client, url, data)
    assert response.status_code == 302
    assert took < EMAIL_TIMEOUT
    assert hung.accepted == []
    assert EmailLog.objects.get().status == EmailLog.Status.QUEUED


def test_reset_page_answers_alike_for_a_known_and_an_unknown_address_with_a_hung_mail_server(client, hung):
    """The fault: ~40 ms for a known address, ~7 ms for an unknown one, because the known one sent its email."""
    person = UserFactory(email="known@example.org")
    OrganizationFactory(primary=person)
    known, known_took = timed_post(client, reverse("accounts:password_reset"), {"email": "known@example.org"})
    unknown, unknown_took = timed_post(client, reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert known_took < EMAIL_TIMEOUT and unknown_took < EMAIL_TIMEOUT
    assert hung.accepted == [], "neither request talks to the mail server: each only queues its request"
    assert not EmailLog.objects.exists()


def test_resending_an_invitation_answers_at_once_with_a_hung_mail_server(client, hung):
    organization = OrganizationFactory()
    person = services.contact_add(organization=organization, email="nia@example.org", role=Role.STAFF, by=None).person
    client.force_login(organization.primary_contact)
    url = reverse("contacts:invitation_resend", args=[organization.pk, person.pk])
    response, took = timed_post(client, url, {})
    assert response.status_code == 302
    assert took < EMAIL_TIMEOUT
    assert hung.accepted == []
    assert EmailLog.objects.filter(status=EmailLog.Status.QUEUED).count() == 2
