"""The Reporting-year page: counts, weekly and yearly charts with their tables, and the CSV, for CME staff."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.exports import NEEDED_NOBODY
from contacts.models import Confirmation, EmailLog, Role
from contacts.reporting import report
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff

pytestmark = pytest.mark.django_db

URL = reverse("admin:contacts_organization_reporting_year")
NOW = datetime(2026, 6, 15, 12, tzinfo=timezone.get_current_timezone())


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def at(year, month, day):
    return datetime(year, month, day, 12, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def world():
    """Three organizations: one complete and confirmed each year, one confirmed this year but missing its CEO,
    one never confirmed but reminded this year."""
    complete = OrganizationFactory(name="Complete Society")
    for role in (Role.BILLING, Role.CEO):
        services.role_assign(organization=complete, person=UserFactory(), role=role, by=None)
    lacking = OrganizationFactory(name="Lacking Society")
    services.role_assign(organization=lacking, person=UserFactory(), role=Role.BILLING, by=None)
    silent = OrganizationFactory(name="Silent Society", primary=UserFactory(first_name="Sid", last_name="Lent"))
    for year in (2024, 2025, 2026):
        Confirmation.objects.create(organization=complete, confirmed_at=at(year, 3, 4))
    services.contacts_confirm(organization=lacking, by=lacking.primary_contact)  # June 15, 2026
    EmailLog.objects.create(
        kind=EmailLog.Kind.REMINDER,
        organization=silent,
        to_email="x@example.org",
        subject="s",
        status=EmailLog.Status.SENT,
        queued_at=at(2026, 6, 1),
    )
    return {"complete": complete, "lacking": lacking, "silent": silent}


def test_counts_and_shares_come_from_the_confirmations_kept_per_year(world):
    result = report(2026)
    assert (result.total, result.confirmed, result.reminded, result.not_confirmed, result.incomplete) == (3, 2, 1, 1, 2)
    assert [(share.year, share.complete, share.percent) for share in result.shares] == [
        (2024, 1, 33),
        (2025, 1, 33),
        (2026, 1, 33),
    ]
    weeks = {week.start.isoformat(): (week.confirmations, week.reminders) for week in result.weeks}
    assert weeks["2026-03-02"] == (1, 0)
    assert weeks["2026-06-01"] == (0, 1)
    assert weeks["2026-06-15"] == (1, 0)
    assert result.weeks[-1].start.isoformat() == "2026-06-15"  # no week after today


def test_confirming_writes_a_row_per_confirmation(world):
    lacking = world["lacking"]
    services.contacts_confirm(organization=lacking, by=lacking.primary_contact)
    assert Confirmation.objects.filter(organization=lacking).count() == 2


@pytest.mark.parametrize("kind", [REVIEWERS, EDITORS, SUPERUSER])
def test_cme_staff_reviewers_included_see_the_page(client, world, kind, django_assert_max_num_queries):
    client.force_login(cme_staff(kind))
    with django_assert_max_num_queries(10):
        response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<dd data-count="confirmed">2</dd>' in html
    assert '<dd data-count="not_confirmed">1</dd>' in html
    assert '<dd data-count="incomplete">2</dd>' in html
    assert html.count('role="img"') == 2
    assert '<th scope="row">2024</th><td>1</td><td>3</td><td>33%</td>' in html
    assert "style=" not in html.split('id="content-main"')[1]


def test_the_query_count_does_not_grow_with_the_organizations(client, world, django_assert_max_num_queries):
    for _ in range(10):
        OrganizationFactory()
    client.force_login(cme_staff(REVIEWERS))
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize("year", ["1999", "abc", "99999999999999999999", "", "2030"])
def test_a_bad_year_shows_this_year_never_an_error(client, world, year):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(URL, {"year": year})
    assert response.status_code == 200
    assert response.context["report"].year == 2026


def test_a_past_year_counts_that_years_confirmations(client, world):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get(URL, {"year": "2025"}).context["report"].confirmed == 1


def test_csv_lists_the_organizations_not_yet_confirmed_with_primary_and_required_contacts(client, world):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(URL, {"csv": "1"})
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "Organization,Provider ID,Last confirmed,Primary Contact,Primary Contact email,"
        "Billing Contact,Billing Contact email,CEO Contact,CEO Contact email"
    )
    silent = world["silent"]
    assert lines[1:] == [
        f"Silent Society,{silent.provider_id},never,Sid Lent,{silent.primary_contact.email},"
        f"{NEEDED_NOBODY},,{NEEDED_NOBODY},"
    ]


def test_people_who_are_not_cme_staff_cannot_open_it(client, world):
    client.force_login(world["silent"].primary_contact)
    assert client.get(URL).status_code == 302
