"""The PostgreSQL backend's health check: no round trip for a connection in use, a new connection for a dead one."""

import time

import psycopg2
import pytest
from django.db import connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def wrapper():
    """A connection of its own to the test database, with health checks on, as under gunicorn."""
    connection = connections.create_connection("default")
    connection.settings_dict = {**connection.settings_dict, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": 60}
    connection.settings_dict.setdefault("CONN_HEALTH_CHECK_IDLE_SECONDS", 10)
    yield connection
    connection.close()


def request(connection) -> int:
    """One request's life as Django's signals drive it; the server process that answered its query."""
    connection.close_if_unusable_or_obsolete()  # request_started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    connection.close_if_unusable_or_obsolete()  # request_finished
    return pid


def checks_counted(connection) -> list:
    checks = []
    is_usable = connection.is_usable
    connection.is_usable = lambda: checks.append(1) or is_usable()
    return checks


def test_the_site_uses_this_backend_on_postgresql():
    assert connections["default"].__class__.__module__ == "pars.postgresql.base"


def test_a_connection_that_just_served_a_request_is_used_without_a_select_1(wrapper):
    first = request(wrapper)
    checks = checks_counted(wrapper)
    assert [request(wrapper) for _ in range(3)] == [first] * 3
    assert checks == []


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_uses_it(wrapper):
    first = request(wrapper)
    with psycopg2.connect(**wrapper.get_connection_params()) as killer, killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    deadline = time.monotonic() + 5
    while not wrapper.server_has_written() and time.monotonic() < deadline:
        time.sleep(0.01)
    checks = checks_counted(wrapper)
    second = request(wrapper)  # no error: the dead connection was seen and replaced before the query
    assert second != first
    assert checks == [1]


def test_a_connection_idle_longer_than_the_limit_is_checked_first(wrapper):
    first = request(wrapper)
    wrapper.known_good_at -= wrapper.settings_dict["CONN_HEALTH_CHECK_IDLE_SECONDS"] + 1
    checks = checks_counted(wrapper)
    assert request(wrapper) == first
    assert checks == [1]


def test_with_no_idle_allowance_every_request_is_checked_as_django_does(wrapper):
    wrapper.settings_dict["CONN_HEALTH_CHECK_IDLE_SECONDS"] = 0
    request(wrapper)
    checks = checks_counted(wrapper)
    time.sleep(0.01)
    request(wrapper)
    request(wrapper)
    assert checks == [1, 1]
