"""Reads run without a transaction; a write runs in one, and a failing write leaves nothing behind."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from contacts import services, views
from contacts.models import Role
from contacts.tests.factories import OrganizationFactory


class WriteFailedAfterSaving(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_page_that_only_reads_runs_outside_any_transaction(client, monkeypatch):
    organization = OrganizationFactory()
    seen = []
    roster_rows = views.roster_rows
    monkeypatch.setattr(views, "roster_rows", lambda org: seen.append(connection.in_atomic_block) or roster_rows(org))
    client.force_login(organization.primary_contact)
    assert client.get(reverse("contacts:profile", args=[organization.pk])).status_code == 200
    assert seen == [False]


@pytest.mark.django_db(transaction=True)
def test_a_write_runs_in_the_requests_transaction(client, monkeypatch):
    organization = OrganizationFactory()
    seen = []
    confirm = services.contacts_confirm
    monkeypatch.setattr(
        services, "contacts_confirm", lambda **kw: seen.append(connection.in_atomic_block) or confirm(**kw)
    )
    client.force_login(organization.primary_contact)
    assert client.post(reverse("contacts:contacts_confirm", args=[organization.pk])).status_code == 302
    assert seen == [True]


@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_after_saving_rolls_back_entirely(monkeypatch):
    organization = OrganizationFactory()
    history_before = organization.history.count()
    confirm = services.contacts_confirm

    def confirm_then_fail(**kwargs):
        confirm(**kwargs)
        raise WriteFailedAfterSaving

    monkeypatch.setattr(services, "contacts_confirm", confirm_then_fail)
    client = Client(raise_request_exception=False)
    client.force_login(organization.primary_contact)
    assert client.post(reverse("contacts:contacts_confirm", args=[organization.pk])).status_code == 500
    organization.refresh_from_db()
    assert organization.contacts_confirmed_at is None
    assert organization.history.count() == history_before


@pytest.mark.django_db
def test_a_signed_in_request_loads_the_person_and_their_right_to_sign_in_in_one_query(
    client, django_assert_num_queries
):
    person = UserFactory()
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    client.force_login(person)
    # The session, with the person and the answer to "may they still sign in?"; the page itself reads nothing.
    with django_assert_num_queries(1):
        assert client.get(reverse("accounts:password_change")).status_code == 200
