"""/healthz: what a load balancer asks before sending traffic."""

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

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
