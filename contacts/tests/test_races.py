"""Races end with a true answer for each person, never a 500 (issue 12, cases 1, 2 and 5).

Each request runs in its own thread with its own database connection, through the
test client (ATOMIC_REQUESTS and all), released together. On PostgreSQL each race
runs RACE_RUNS times; SQLite (a file database whose writers queue) runs each twice.
"""

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from contacts import services
from contacts.models import ContactRole, EmailLog, Organization, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_concurrency import run_at_once
from contacts.views import CONTACT_INVITED, CONTACT_KNOWN, PRIMARY_TRANSFERRED, ROLE_REMOVED
from pars.concurrency import EDIT_CONFLICT

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
RACE_RUNS = 20 if ON_POSTGRESQL else 2
runs = pytest.mark.parametrize("run", range(RACE_RUNS))
User = UserFactory._meta.model


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def post(client, url, data):
    """A request as a browser sends it; what the person reads afterwards."""

    def send():
        # Not the rendered page's context: the test client collects it from every thread's templates.
        response = client.post(url, data)
        return response.status_code, [str(m) for m in get_messages(response.wsgi_request)]

    return send


def outcome_of(outcomes):
    assert [o for o in outcomes if o[0] != "done"] == [], outcomes
    return [result for _, result in outcomes]


@runs
def test_the_same_new_email_added_at_two_organizations_at_once_is_one_person_invited_once(run):
    first, second = OrganizationFactory(), OrganizationFactory()
    data = {
        "email": f"new{run}@example.org",
        "first_name": "New",
        "last_name": "Person",
        "role": "staff",
        "confirm": "1",
    }

    results = outcome_of(
        run_at_once(
            post(signed_in(first.primary_contact), reverse("contacts:contact_add", args=[first.pk]), data),
            post(signed_in(second.primary_contact), reverse("contacts:contact_add", args=[second.pk]), data),
        )
    )

    assert [status for status, _ in results] == [302, 302]
    person = User.objects.get(email=data["email"])
    assert first.holders(Role.STAFF) == [person] and second.holders(Role.STAFF) == [person]
    said = sorted(message for _, messages in results for message in messages)
    expected = [
        CONTACT_INVITED.format(email=person.email, person=person, role="Staff"),
        CONTACT_KNOWN.format(email=person.email, person=person, role="Staff"),
    ]
    assert said == sorted(expected)
    assert EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION, recipient=person).count() == 1


@runs
def test_the_same_new_email_assigned_by_email_at_two_organizations_at_once_is_one_person(run):
    first, second = OrganizationFactory(), OrganizationFactory()
    data = {"who": "new", "email": f"tech{run}@example.org", "first_name": "Tess", "last_name": "Tech"}

    results = outcome_of(
        run_at_once(
            post(signed_in(first.primary_contact), reverse("contacts:role_assign", args=[first.pk, "technical"]), data),
            post(
                signed_in(second.primary_contact), reverse("contacts:role_assign", args=[second.pk, "technical"]), data
            ),
        )
    )

    assert [status for status, _ in results] == [302, 302]
    person = User.objects.get(email=data["email"])
    assert first.holder(Role.TECHNICAL) == person == second.holder(Role.TECHNICAL)


@runs
def test_the_same_role_removed_twice_at_once_is_removed_once_and_the_second_is_told(run):
    organization = OrganizationFactory()
    staff = UserFactory()
    contact_role = services.role_assign(organization=organization, person=staff, role=Role.STAFF, by=None).contact_role
    url = reverse("contacts:role_remove", args=[organization.pk, contact_role.pk])
    primary = organization.primary_contact

    results = outcome_of(run_at_once(post(signed_in(primary), url, {}), post(signed_in(primary), url, {})))

    said = sorted(message for _, messages in results for message in messages)
    assert said == sorted(
        [
            ROLE_REMOVED.format(person=staff, role="Staff"),
            services.ROLE_ALREADY_REMOVED.format(person=staff, role="Staff"),
        ]
    )
    assert ContactRole.history.filter(id=contact_role.pk, history_type="-").count() == 1


@runs
def test_two_hand_overs_at_once_each_name_the_primary_they_really_replaced(run):
    organization = OrganizationFactory()
    first_primary = organization.primary_contact
    ann, bob, sue, tom = (UserFactory(first_name=name) for name in ("Ann", "Bob", "Sue", "Tom"))
    for person in (ann, bob, sue, tom):
        services.role_assign(organization=organization, person=person, role=Role.STAFF, by=None)
    url = reverse("contacts:primary_transfer", args=[organization.pk])

    results = outcome_of(
        run_at_once(
            post(signed_in(sue), url, {"who": "listed", "person": ann.pk, "confirm": "1"}),
            post(signed_in(tom), url, {"who": "listed", "person": bob.pk, "confirm": "1"}),
        )
    )

    final = Organization.objects.get(pk=organization.pk).roles.get(role=Role.PRIMARY).person
    earlier = bob if final == ann else ann
    said = sorted(message for _, messages in results for message in messages if "is now the Primary Contact" in message)
    assert said == sorted(
        [
            PRIMARY_TRANSFERRED.format(new=earlier, previous=first_primary),
            PRIMARY_TRANSFERRED.format(new=final, previous=earlier),
        ]
    )


def details_form(client, organization):
    response = client.get(reverse("contacts:organization_edit", args=[organization.pk]))
    form = response.context["form"]
    return {name: form[name].value() or "" for name in form.fields}


@runs
def test_a_details_edit_and_a_confirmation_at_once_both_stay(run):
    organization = OrganizationFactory(phone="(916) 555-0100")
    ann = UserFactory()
    services.role_assign(organization=organization, person=ann, role=Role.STAFF, by=None)
    editor, confirmer = signed_in(organization.primary_contact), signed_in(ann)
    form = details_form(editor, organization)

    results = outcome_of(
        run_at_once(
            post(
                editor,
                reverse("contacts:organization_edit", args=[organization.pk]),
                {**form, "phone": "(916) 555-0199"},
            ),
            post(confirmer, reverse("contacts:contacts_confirm", args=[organization.pk]), {}),
        )
    )

    assert [status for status, _ in results] == [302, 302]
    organization.refresh_from_db()
    assert organization.phone == "(916) 555-0199"
    assert organization.contacts_confirmed_by == ann


@runs
def test_two_details_edits_at_once_merge_different_fields_and_refuse_the_same_field(run):
    organization = OrganizationFactory(phone="(916) 555-0100", city="Fresno")
    ann = UserFactory()
    services.role_assign(organization=organization, person=ann, role=Role.STAFF, by=None)
    first, second = signed_in(organization.primary_contact), signed_in(ann)
    url = reverse("contacts:organization_edit", args=[organization.pk])
    form_a, form_b = details_form(first, organization), details_form(second, organization)

    def send(client, data):
        def call():
            response = client.post(url, data)
            return response.status_code, response.content.decode()

        return call

    merged = outcome_of(
        run_at_once(send(first, {**form_a, "phone": "(916) 555-0111"}), send(second, {**form_b, "city": "Davis"}))
    )
    assert [status for status, _ in merged] == [302, 302]
    organization.refresh_from_db()
    assert (organization.phone, organization.city) == ("(916) 555-0111", "Davis")

    form_a, form_b = details_form(first, organization), details_form(second, organization)
    clashed = outcome_of(
        run_at_once(
            send(first, {**form_a, "phone": "(916) 555-0122"}), send(second, {**form_b, "phone": "(916) 555-0133"})
        )
    )
    assert sorted(status for status, _ in clashed) == [200, 302]
    refused_html = next(html for status, html in clashed if status == 200)
    assert EDIT_CONFLICT in refused_html.replace("&#x27;", "'")
    organization.refresh_from_db()
    assert organization.phone in ("(916) 555-0122", "(916) 555-0133")
    assert organization.phone in refused_html, "the refused page shows the value that won"


@runs
def test_the_same_new_person_created_twice_at_once_through_the_service_is_one_person(run):
    email = f"Same{run}@Example.org"
    results = outcome_of(
        run_at_once(
            lambda: services.person_get_or_create(email=email, first_name="A"),
            lambda: services.person_get_or_create(email=email, first_name="B"),
        )
    )
    assert sorted(result.created for result in results) == [False, True]
    assert results[0].person.pk == results[1].person.pk
    assert User.objects.filter(email=email.lower()).count() == 1
