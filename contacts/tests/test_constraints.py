"""Each database constraint rejects its violation and allows its legal neighbour.

These write rows directly, past the services, to prove the database itself says no.
"""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.models import ContactRole, EmailLog, Organization, Role
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def add_role(organization, role, person=None):
    return ContactRole.objects.create(organization=organization, person=person or UserFactory(), role=role)


def test_role_outside_the_seven_is_refused_by_the_database():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        add_role(organization, "janitor")


def test_each_of_the_seven_roles_is_accepted_by_the_database():
    organization = OrganizationFactory()
    for role in Role.values:
        if role != Role.PRIMARY:
            add_role(organization, role)
    assert sorted(organization.roles.values_list("role", flat=True)) == sorted(Role.values)


@pytest.mark.parametrize("role", [Role.BILLING, Role.CEO, Role.WEBSITE, Role.TECHNICAL, Role.MEDICAL_DIRECTOR])
def test_second_holder_of_a_singular_role_is_refused_by_the_database(role):
    organization = OrganizationFactory()
    add_role(organization, role)
    with pytest.raises(IntegrityError), transaction.atomic():
        add_role(organization, role)


def test_two_staff_at_one_organization_are_allowed():
    organization = OrganizationFactory()
    add_role(organization, Role.STAFF)
    add_role(organization, Role.STAFF)
    assert organization.roles.filter(role=Role.STAFF).count() == 2


def test_same_singular_role_at_two_organizations_is_allowed():
    person = UserFactory()
    first, second = OrganizationFactory(), OrganizationFactory()
    add_role(first, Role.BILLING, person)
    add_role(second, Role.BILLING, person)
    assert person.contact_roles.filter(role=Role.BILLING).count() == 2


def test_person_holding_the_same_role_twice_at_one_organization_is_refused_by_the_database():
    organization = OrganizationFactory()
    person = UserFactory()
    add_role(organization, Role.STAFF, person)
    with pytest.raises(IntegrityError), transaction.atomic():
        add_role(organization, Role.STAFF, person)


def test_one_person_in_two_roles_at_one_organization_is_allowed():
    organization = OrganizationFactory()
    person = UserFactory()
    add_role(organization, Role.STAFF, person)
    add_role(organization, Role.TECHNICAL, person)
    assert set(person.contact_roles.values_list("role", flat=True)) == {Role.STAFF, Role.TECHNICAL}


def test_second_primary_is_refused_by_the_database():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        add_role(organization, Role.PRIMARY)


def test_primary_of_one_organization_may_be_primary_of_another():
    person = UserFactory()
    OrganizationFactory(primary=person)
    OrganizationFactory(primary=person)
    assert person.contact_roles.filter(role=Role.PRIMARY).count() == 2


def test_email_differing_only_in_case_is_refused_by_the_database():
    User.objects.create(email="Jane@X.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="jane@x.org")


def test_same_local_part_at_another_domain_is_allowed():
    User.objects.create(email="Jane@X.org")
    User.objects.create(email="jane@y.org")
    assert User.objects.filter(email__istartswith="jane@").count() == 2


def test_accreditation_term_ending_before_it_starts_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(
            name="Backwards Term",
            provider_id="CA90001",
            accreditation_start=date(2026, 1, 1),
            accreditation_end=date(2025, 12, 31),
        )


@pytest.mark.parametrize(
    "start, end",
    [
        (date(2026, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), date(2030, 1, 1)),
        (None, date(2030, 1, 1)),
        (None, None),
    ],
)
def test_accreditation_term_in_order_or_open_is_allowed(start, end):
    # Through the factory: on PostgreSQL an organization must commit with its primary.
    OrganizationFactory(provider_id="CA90002", accreditation_start=start, accreditation_end=end)
    assert Organization.objects.filter(provider_id="CA90002").exists()


# Exactly one primary, at commit: the deferred constraint trigger (PostgreSQL only; nothing on SQLite).


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_deleting_the_primary_row_fails_at_commit():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError, match="exactly one primary"), transaction.atomic():
        ContactRole.objects.filter(organization=organization, role=Role.PRIMARY).delete()
        # The statement itself goes through; the commit is refused.
        assert not organization.roles.filter(role=Role.PRIMARY).exists()
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_raw_sql_delete_of_the_primary_is_refused():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError, match="exactly one primary"), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM contacts_contactrole WHERE organization_id = %s AND role = 'primary'", [organization.pk]
        )
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_demoting_the_primary_row_to_staff_fails_at_commit():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError, match="exactly one primary"):
        ContactRole.objects.filter(organization=organization, role=Role.PRIMARY).update(role=Role.STAFF)
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_organization_inserted_without_a_primary_fails_at_commit():
    with pytest.raises(IntegrityError, match="exactly one primary"), transaction.atomic():
        Organization.objects.create(name="No Primary Medical Group", provider_id="CA90010")
    assert not Organization.objects.filter(provider_id="CA90010").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_organization_inserted_with_its_primary_in_the_same_transaction_commits():
    with transaction.atomic():
        organization = Organization.objects.create(name="With Primary Medical Group", provider_id="CA90011")
        ContactRole.objects.create(organization=organization, person=UserFactory(), role=Role.PRIMARY)
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_second_primary_is_refused_at_once():
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactRole.objects.create(organization=organization, person=UserFactory(), role=Role.PRIMARY)
    assert organization.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_primary_replaced_by_delete_and_insert_in_one_transaction_commits():
    organization = OrganizationFactory()
    new = UserFactory()
    with transaction.atomic():
        organization.roles.filter(role=Role.PRIMARY).delete()
        ContactRole.objects.create(organization=organization, person=new, role=Role.PRIMARY)
    assert organization.roles.get(role=Role.PRIMARY).person == new


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_moving_the_primary_row_to_another_organization_fails_at_commit():
    first, second = OrganizationFactory(), OrganizationFactory()
    with pytest.raises(IntegrityError, match="exactly one primary"), transaction.atomic():
        second.roles.filter(role=Role.PRIMARY).delete()
        first.roles.filter(role=Role.PRIMARY).update(organization=second)
    assert first.roles.filter(role=Role.PRIMARY).count() == 1
    assert second.roles.filter(role=Role.PRIMARY).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_deleting_the_whole_organization_is_allowed():
    organization = OrganizationFactory()
    ContactRole.objects.create(organization=organization, person=UserFactory(), role=Role.STAFF)
    organization.delete()
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not ContactRole.objects.filter(organization_id=organization.pk).exists()


# The email log's kind and status are one of their choices.


def email_log(**fields):
    if fields.get("status") == EmailLog.Status.SENDING:
        fields.setdefault("claimed_until", timezone.now())
    return EmailLog(to_email="jane@example.org", subject="Hello", **fields)


@pytest.mark.parametrize("field", ["kind", "status"])
def test_email_log_value_outside_its_choices_is_refused_by_the_database(field):
    values = {"kind": EmailLog.Kind.REMINDER, "status": EmailLog.Status.SENT, field: "bogus"}
    with pytest.raises(IntegrityError), transaction.atomic():
        email_log(**values).save()


@pytest.mark.parametrize("status", EmailLog.Status.values)
@pytest.mark.parametrize("kind", EmailLog.Kind.values)
def test_email_log_with_each_kind_and_status_is_accepted_by_the_database(kind, status):
    email_log(kind=kind, status=status).save()
    assert EmailLog.objects.filter(kind=kind, status=status).exists()
