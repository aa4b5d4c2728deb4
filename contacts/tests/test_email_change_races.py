"""Email changes that race end with one true answer for each person, never a 500 (threads, as test_races).

Each call runs in its own thread with its own database connection, released together.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_concurrency import run_at_once
from contacts.tests.test_email_change import confirm_token
from contacts.tests.test_races import outcome_of, runs
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db(transaction=True)

User = UserFactory._meta.model


def link_token(person, email) -> str:
    services.email_change_request(person=person, email=email)
    return confirm_token([m for m in run_email_worker() if m.to == [email]][-1])


@runs
def test_the_same_link_confirmed_twice_at_once_changes_the_address_once(run):
    jane = UserFactory(email=f"jane{run}@old.example")
    new = f"jane{run}@new.example"
    path = reverse("accounts:email_confirm", args=[link_token(jane, new)])

    def confirm():
        response = Client().post(path)
        return response.status_code, response.content.decode()

    results = outcome_of(run_at_once(confirm, confirm))

    assert sorted(status for status, _ in results) == [200, 302]
    [refused_page] = [html for status, html in results if status == 200]
    assert services.EMAIL_LINK_INVALID in refused_page
    jane.refresh_from_db()
    assert jane.email == new
    assert EmailLog.objects.filter(kind=EmailLog.Kind.EMAIL_CHANGED, recipient=jane).count() == 1


@runs
def test_two_people_confirming_the_same_new_address_at_once_one_gets_it(run):
    ann, bob = UserFactory(email=f"ann{run}@example.org"), UserFactory(email=f"bob{run}@example.org")
    shared = f"shared{run}@example.org"
    tokens = [link_token(ann, shared), link_token(bob, shared)]

    outcomes = run_at_once(*(lambda token=token: services.email_change_confirm(token=token) for token in tokens))

    assert sorted(kind for kind, _ in outcomes) == ["done", "refused"], outcomes
    [(_, winner)] = [o for o in outcomes if o[0] == "done"]
    [(_, refusal)] = [o for o in outcomes if o[0] == "refused"]
    loser = bob if winner.person.pk == ann.pk else ann
    assert refusal == [
        services.EMAIL_TAKEN_MEANWHILE.format(email=shared, current=loser.email, support=settings.SUPPORT_EMAIL)
    ]
    assert list(User.objects.filter(email=shared)) == [winner.person]


@runs
def test_a_confirmation_and_a_new_contact_with_the_same_address_at_once_make_one_person(run):
    jane = UserFactory(email=f"jane{run}@old.example")
    new = f"jane{run}@new.example"
    token = link_token(jane, new)
    organization = OrganizationFactory()

    outcomes = run_at_once(
        lambda: services.email_change_confirm(token=token),
        lambda: services.contact_add(
            organization=organization, email=new, role=Role.STAFF, by=organization.primary_contact, first_name="N"
        ),
    )

    assert [kind for kind, _ in outcomes][1] == "done", outcomes
    [holder] = User.objects.filter(email=new)
    jane.refresh_from_db()
    if outcomes[0][0] == "done":  # the confirmation first: the contact added is Jane, by her new address
        assert holder == jane
    else:  # the new contact first: Jane keeps her address, and the page says why
        assert outcomes[0][1][0].startswith(f"{new} is now used by another person")
        assert jane.email == f"jane{run}@old.example" and holder != jane
    assert organization.holders(Role.STAFF) == [holder]
