"""Two people changing one organization's roster at the same moment.

Each thread has its own database connection. On PostgreSQL the services lock the
organization's row; on SQLite (transaction_mode IMMEDIATE, a file database)
writers queue for the database lock. Either way the changes run one after the
other and the roster ends consistent.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from contacts import services
from contacts.models import ContactRole, EmailLog, Role
from contacts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(*calls):
    """Run each call in its own thread, released together; return what each ended with."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("done", call())
        except ValidationError as error:
            outcomes[index] = ("refused", error.messages)
        except Exception as error:
            outcomes[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting"
    return outcomes


def test_two_simultaneous_hand_overs_end_with_exactly_one_primary():
    organization = OrganizationFactory()
    previous = organization.primary_contact
    bea, carl = UserFactory(), UserFactory()

    outcomes = run_at_once(
        lambda: services.primary_contact_transfer(organization=organization, to=bea, by=previous),
        lambda: services.primary_contact_transfer(organization=organization, to=carl, by=previous),
    )

    assert [kind for kind, _ in outcomes if kind == "error"] == [], outcomes
    primaries = ContactRole.objects.filter(organization=organization, role=Role.PRIMARY)
    assert primaries.count() == 1
    assert primaries.get().person in (bea, carl)
    done = sum(kind == "done" for kind, _ in outcomes)
    assert done >= 1
    # Each completed hand-over told its previous and its new primary.
    assert EmailLog.objects.filter(kind=EmailLog.Kind.PRIMARY_HANDOVER).count() == 2 * done


def test_two_simultaneous_hand_overs_to_the_same_person_give_one_hand_over_and_one_clear_refusal():
    organization = OrganizationFactory()
    bea = UserFactory()

    outcomes = run_at_once(
        lambda: services.primary_contact_transfer(organization=organization, to=bea, by=None),
        lambda: services.primary_contact_transfer(organization=organization, to=bea, by=None),
    )

    assert sorted(kind for kind, _ in outcomes) == ["done", "refused"], outcomes
    assert [detail for kind, detail in outcomes if kind == "refused"] == [[services.ALREADY_PRIMARY.format(person=bea)]]
    assert ContactRole.objects.get(organization=organization, role=Role.PRIMARY).person == bea


def test_two_simultaneous_billing_assignments_give_one_holder_and_one_clear_refusal():
    organization = OrganizationFactory()
    bea, carl = UserFactory(), UserFactory()

    outcomes = run_at_once(
        lambda: services.role_assign(organization=organization, person=bea, role=Role.BILLING, by=None),
        lambda: services.role_assign(organization=organization, person=carl, role=Role.BILLING, by=None),
    )

    assert sorted(kind for kind, _ in outcomes) == ["done", "refused"], outcomes
    holder = ContactRole.objects.get(organization=organization, role=Role.BILLING).person
    refusal = next(detail for kind, detail in outcomes if kind == "refused")
    assert refusal == [
        services.ROLE_ALREADY_FILLED.format(organization=organization, role=Role.BILLING.label, person=holder)
    ]
