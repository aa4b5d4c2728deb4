"""/healthz: what a load balancer asks before sending traffic."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from accounts.tests.factories import InvitedUserFactory
from contacts.models import EmailLog
from contacts.services import invitation_send
from contacts.tests.factories import OrganizationFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

HEALTHZ = reverse("healthz")


def unreachable(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


def test_healthz_answers_200_ok_while_the_database_answers(client):
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_answers_503_when_the_database_cursor_raises(client, monkeypatch):
    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get(HEALTHZ)
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


def test_healthz_answers_503_when_no_connection_can_be_made(client, monkeypatch):
    monkeypatch.setattr(connection, "ensure_connection", unreachable)
    response = client.get(HEALTHZ)
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


def test_healthz_needs_no_sign_in_and_reads_no_session(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert client.get(HEALTHZ).status_code == 200


def test_healthz_reports_the_age_of_the_oldest_queued_email(client, settings, time_machine):
    settings.HEALTHZ_EMAIL_MAX_AGE_SECONDS = 900
    time_machine.move_to("2025-06-15 09:00Z", tick=False)
    invitation_send(person=InvitedUserFactory(), organization=OrganizationFactory(), by=None)
    time_machine.move_to("2025-06-15 09:15Z", tick=False)
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json()["oldest_queued_email_seconds"] == 900


def test_healthz_answers_503_when_the_oldest_queued_email_is_older_than_the_limit(client, settings, time_machine):
    settings.HEALTHZ_EMAIL_MAX_AGE_SECONDS = 900
    time_machine.move_to("2025-06-15 09:00Z", tick=False)
    invitation_send(person=InvitedUserFactory(), organization=OrganizationFactory(), by=None)
    time_machine.move_to("2025-06-15 09:15:01Z", tick=False)
    response = client.get(HEALTHZ)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "emails": "not being sent",
        "oldest_queued_email_seconds": 901,
    }
    run_email_worker()
    assert client.get(HEALTHZ).status_code == 200, "the worker caught up"


def test_an_email_waiting_for_its_retry_delay_is_not_late(client, settings, time_machine):
    settings.HEALTHZ_EMAIL_MAX_AGE_SECONDS = 900
    time_machine.move_to("2025-06-15 09:00Z", tick=False)
    log = invitation_send(person=InvitedUserFactory(), organization=OrganizationFactory(), by=None)
    EmailLog.objects.filter(pk=log.pk).update(next_attempt_at=log.queued_at + timedelta(hours=2), attempts=3)
    time_machine.move_to("2025-06-15 10:00Z", tick=False)
    assert client.get(HEALTHZ).json()["oldest_queued_email_seconds"] == 0
