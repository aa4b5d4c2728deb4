"""A CME reviewer opens the Reporting-year page: the charts render, axe finds nothing, the tables match the database."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts import services
from contacts.models import Confirmation, Role
from contacts.reporting import report
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import REVIEWERS, cme_staff
from e2e.test_admin_pages_axe import check_at_both_widths, sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reviewer_sees_the_charts_and_tables_that_match_the_database(page, assert_accessible):
    for n in range(6):
        organization = OrganizationFactory(name=f"Society {n}")
        if n % 2:
            services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)
            services.role_assign(organization=organization, person=UserFactory(), role=Role.CEO, by=None)
        if n < 4:
            services.contacts_confirm(organization=organization, by=organization.primary_contact)
        if n < 3:
            Confirmation.objects.create(
                organization=organization, confirmed_at=services.timezone.now().replace(year=2025)
            )
    sign_in_to_admin(page, cme_staff(REVIEWERS))
    page.goto(reverse("admin:contacts_organization_reporting_year"))
    charts = page.get_by_role("img")
    expect(charts).to_have_count(2)
    assert charts.first.locator("rect").count() > 1 and charts.first.bounding_box()["height"] > 100
    check_at_both_widths(page, assert_accessible, "reporting-year")

    expected = report(services.timezone.localdate().year)
    assert page.locator('[data-count="confirmed"]').inner_text() == str(expected.confirmed) == "4"
    assert page.locator('[data-count="not_confirmed"]').inner_text() == str(expected.not_confirmed)
    rows = page.locator("#share-table tbody tr")
    shown = [rows.nth(i).locator("th, td").all_inner_texts() for i in range(rows.count())]
    assert shown == [
        [str(share.year), str(share.complete), str(share.total), f"{share.percent}%"] for share in expected.shares
    ]
    weekly = page.locator("#weekly-table tbody tr td:first-of-type").all_inner_texts()
    assert sum(int(n) for n in weekly) == Confirmation.objects.filter(confirmed_at__year=expected.year).count()
