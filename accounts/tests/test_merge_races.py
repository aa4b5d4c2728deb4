"""Merges racing a hand-over or another merge end with a true answer each, never an error or a deadlock.

Each call runs in its own thread with its own connection, released together (run_at_once).
On PostgreSQL each race runs RACE_RUNS times.
"""

import pytest

from accounts.merging import MERGE_ALREADY_MERGED, MERGE_CHANGED_MEANWHILE, person_merge, person_merge_preview
from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import ContactRole, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_concurrency import run_at_once
from contacts.tests.test_races import RACE_RUNS

pytestmark = pytest.mark.django_db(transaction=True)
runs = pytest.mark.parametrize("run", range(RACE_RUNS))
User = UserFactory._meta.model


@runs
def test_a_merge_and_a_hand_over_at_once_end_with_one_primary(run):
    new, old, carl = UserFactory(), UserFactory(), UserFactory()
    organization = OrganizationFactory(primary=old)
    preview = person_merge_preview(keep=new, merge=old)

    outcomes = run_at_once(
        lambda: person_merge(keep=new, merge=old, by=None, version=preview.version),
        lambda: services.primary_contact_transfer(organization=organization, to=carl, by=None),
    )

    assert [kind for kind, _ in outcomes if kind == "error"] == [], outcomes
    primary = ContactRole.objects.get(organization=organization, role=Role.PRIMARY).person
    merged, handed = (kind == "done" for kind, _ in outcomes)
    assert handed  # the hand-over never waits on a merge's answer
    if merged:  # the merge went first: old's role moved to new, then handed to carl
        assert primary == carl and User.objects.get(pk=old.pk).merged_into == new
    else:  # the hand-over went first: the merge saw old's roles change, and said so
        assert outcomes[0] == ("refused", [MERGE_CHANGED_MEANWHILE.format(keep=new.email, merge=old.email)])
        assert primary == carl and User.objects.get(pk=old.pk).is_active


@runs
def test_one_duplicate_merged_into_two_people_at_once_is_merged_once(run):
    old, first, second = UserFactory(), UserFactory(), UserFactory()
    OrganizationFactory(primary=old)
    versions = [person_merge_preview(keep=keep, merge=old).version for keep in (first, second)]

    outcomes = run_at_once(
        lambda: person_merge(keep=first, merge=old, by=None, version=versions[0]),
        lambda: person_merge(keep=second, merge=old, by=None, version=versions[1]),
    )

    assert sorted(kind for kind, _ in outcomes) == ["done", "refused"], outcomes
    winner = (first, second)[[kind for kind, _ in outcomes].index("done")]
    old.refresh_from_db()
    assert old.merged_into == winner
    refusal = next(messages for kind, messages in outcomes if kind == "refused")
    assert refusal == [MERGE_ALREADY_MERGED.format(person=old, into=winner)]
    assert ContactRole.objects.get(role=Role.PRIMARY).person == winner
