"""The CSV lists CME staff export from the organization list: their rows, columns and fallbacks."""

import csv
import io

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from contacts import exports, services
from contacts.exports import COLUMNS, DIRECTORY_FALLBACK_ROLE, INVOICE_FALLBACK_ROLE
from contacts.models import AccreditationStatus, Organization, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_organization_changelist")


def person(first, last, email, credentials="MD", phone="(916) 555-0101"):
    return UserFactory(first_name=first, last_name=last, email=email, credentials=credentials, phone=phone)


@pytest.fixture
def with_billing_and_website():
    organization = OrganizationFactory(
        name="Sutter Health CME", provider_id="CA00001", primary=person("Jane", "Doe", "jane@sutter.example")
    )
    billing = person("Bill", "Payne", "bill@sutter.example", credentials="", phone="(916) 555-0102")
    website = person("Wendy", "Webb", "wendy@sutter.example", credentials="MPH", phone="(916) 555-0103")
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)
    services.role_assign(organization=organization, person=website, role=Role.WEBSITE, by=None)
    return organization


@pytest.fixture
def primary_only():
    return OrganizationFactory(
        name="Kern Medical Education",
        provider_id="CA00002",
        primary=person("Pat", "Prime", "pat@kern.example", credentials="DO, MPH", phone="+1 661 555 0100"),
    )


def expected_row(organization, role_label, person):
    return [
        organization.name,
        organization.provider_id,
        organization.get_accreditation_status_display(),
        role_label,
        person.first_name,
        person.last_name,
        person.credentials,
        person.job_title,
        person.email,
        person.phone,
        organization.street_address,
        organization.city,
        organization.state,
        organization.zip_code,
    ]


def expected(action, sutter, kern):
    holder = sutter.holder
    return {
        "export_newsletter_list": [
            expected_row(kern, "Primary Contact", kern.primary_contact),
            expected_row(sutter, "Primary Contact", sutter.primary_contact),
        ],
        "export_invoice_list": [
            expected_row(kern, "Primary Contact (no billing contact)", kern.primary_contact),
            expected_row(sutter, "Billing Contact", holder(Role.BILLING)),
        ],
        "export_directory_list": [
            expected_row(kern, "Primary Contact (no website contact)", kern.primary_contact),
            expected_row(sutter, "Website Contact", holder(Role.WEBSITE)),
        ],
    }[action]


ACTIONS = ["export_newsletter_list", "export_invoice_list", "export_directory_list"]


def export(client, action, organizations):
    response = client.post(
        CHANGELIST,
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [organization.pk for organization in organizations]},
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response


def rows_of(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("kind", [REVIEWERS, EDITORS, SUPERUSER])
@pytest.mark.parametrize("action", ACTIONS)
def test_each_export_lists_the_right_contact_for_organizations_with_and_without_billing_and_website(
    client, with_billing_and_website, primary_only, kind, action
):
    client.force_login(cme_staff(kind))
    response = export(client, action, [with_billing_and_website, primary_only])
    header, *rows = rows_of(response)
    assert header == COLUMNS
    assert header[:6] == ["Organization", "Provider ID", "Accreditation status", "Role", "First name", "Last name"]
    assert header[-4:] == ["Street address", "City", "State", "ZIP code"]
    assert rows == expected(action, with_billing_and_website, primary_only)
    assert rows[0][0] == "Kern Medical Education" and rows[0][4:6] == ["Pat", "Prime"]


def test_fallback_role_labels_say_who_is_missing():
    assert INVOICE_FALLBACK_ROLE == "Primary Contact (no billing contact)"
    assert DIRECTORY_FALLBACK_ROLE == "Primary Contact (no website contact)"


def test_export_lists_only_the_selected_organizations(client, with_billing_and_website, primary_only):
    client.force_login(cme_staff(REVIEWERS))
    [_header, *rows] = rows_of(export(client, "export_newsletter_list", [primary_only]))
    assert [row[0] for row in rows] == ["Kern Medical Education"]


def test_export_is_a_dated_attachment_named_for_its_list(client, primary_only):
    client.force_login(cme_staff(EDITORS))
    disposition = export(client, "export_invoice_list", [primary_only])["Content-Disposition"]
    assert disposition.startswith('attachment; filename="invoice-list-') and disposition.endswith('.csv"')


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(client):
    organization = OrganizationFactory(name="=HYPERLINK(1)", primary=person("@Jane", "Doe", "jane@x.example"))
    [row] = exports.newsletter_rows(Organization.objects.filter(pk=organization.pk))
    assert row[0] == "'=HYPERLINK(1)"
    assert row[4] == "'@Jane"


def test_directory_export_lists_exactly_what_the_public_directory_lists(client, with_billing_and_website, primary_only):
    Organization.objects.filter(pk=primary_only.pk).update(accreditation_status=AccreditationStatus.NONACCREDITATION)
    hidden = OrganizationFactory(name="Unlisted CME", listed_in_directory=False)
    client.force_login(cme_staff(REVIEWERS))
    [_header, *rows] = rows_of(
        export(client, "export_directory_list", [with_billing_and_website, primary_only, hidden])
    )
    listed = set(Organization.objects.in_directory().values_list("name", flat=True))
    assert [row[0] for row in rows] == ["Sutter Health CME"]
    assert {row[0] for row in rows} <= listed


def grow(count):
    for _ in range(count):
        organization = OrganizationFactory()
        services.role_assign(organization=organization, person=UserFactory(), role=Role.BILLING, by=None)


@pytest.mark.parametrize("rows", [exports.newsletter_rows, exports.invoice_rows, exports.directory_rows])
def test_each_list_reads_any_number_of_organizations_in_two_queries(django_assert_num_queries, rows):
    grow(3)
    with django_assert_num_queries(2):
        assert len(rows(Organization.objects.all())) == 3
    grow(30)
    with django_assert_num_queries(2):
        assert len(rows(Organization.objects.all())) == 33


def test_export_action_keeps_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    client.force_login(cme_staff(EDITORS))
    grow(40)
    with django_assert_max_num_queries(12):
        response = export(client, "export_invoice_list", Organization.objects.all())
    assert len(rows_of(response)) == 41
