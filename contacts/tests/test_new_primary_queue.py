"""The new-primary queue: CME staff find the organizations whose Primary Contact changed, and mark them welcomed."""

from datetime import timedelta

import pytest
from django.urls import reverse

from contacts import services
from contacts.admin import ALREADY_WELCOMED, WELCOMED
from contacts.history import history_page
from contacts.models import ContactRole, Organization, Role
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_organization_changelist")


def names(response):
    return sorted(organization.name for organization in response.context["cl"].result_list)


@pytest.fixture
def organizations():
    """An old primary (welcomed long ago), a primary handed over 3 days ago, and one 20 days ago."""
    settled = OrganizationFactory(name="Settled")
    recent = OrganizationFactory(name="Recent")
    older = OrganizationFactory(name="Older")
    now = services.timezone.now()
    Organization.objects.filter(pk=settled.pk).update(primary_welcomed_at=now - timedelta(days=300))
    ContactRole.objects.filter(organization=settled, role=Role.PRIMARY).update(assigned_at=now - timedelta(days=400))
    for organization, days in ((recent, 3), (older, 20)):
        services.primary_contact_transfer(organization=organization, to=UserFactory(), by=None)
        ContactRole.objects.filter(organization=organization, role=Role.PRIMARY).update(
            assigned_at=now - timedelta(days=days)
        )
    return {"settled": settled, "recent": recent, "older": older}


def test_filter_lists_primaries_changed_in_the_last_n_days(client, organizations):
    client.force_login(cme_staff(REVIEWERS))
    assert names(client.get(CHANGELIST, {"primary_changed": "7"})) == ["Recent"]
    assert names(client.get(CHANGELIST, {"primary_changed": "30"})) == ["Older", "Recent"]
    assert names(client.get(CHANGELIST, {"primary_changed": "not_welcomed"})) == ["Older", "Recent"]
    assert client.get(CHANGELIST, {"primary_changed": "nonsense"}).status_code == 200


def test_admin_index_counts_the_new_primaries_not_yet_welcomed(client, organizations):
    client.force_login(cme_staff(REVIEWERS))
    html = client.get(reverse("admin:index")).content.decode()
    assert "2 new primary contacts not yet welcomed" in html
    assert "?primary_changed=not_welcomed" in html


def test_mark_as_welcomed_records_who_and_when_and_leaves_the_queue(client, organizations):
    editor = cme_staff(EDITORS)
    client.force_login(editor)
    recent, settled = organizations["recent"], organizations["settled"]
    response = client.post(
        CHANGELIST,
        {"action": "mark_primary_welcomed", "_selected_action": [recent.pk, settled.pk]},
        follow=True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [WELCOMED.format(count=1), ALREADY_WELCOMED.format(names="Settled")]
    recent.refresh_from_db()
    assert recent.primary_welcomed_by == editor
    assert names(client.get(CHANGELIST, {"primary_changed": "not_welcomed"})) == ["Older"]
    assert "1 new primary contact not yet welcomed" in client.get(reverse("admin:index")).content.decode()
    entries, _more = history_page(recent, page=1, per_page=10)
    assert entries[0]["action"] == "welcomed the new Primary Contact"
    assert entries[0]["actor"] == str(editor)


def test_a_later_hand_over_puts_the_organization_back_in_the_queue(organizations):
    recent = organizations["recent"]
    services.primary_welcome_record(organizations=[recent], by=cme_staff(EDITORS))
    assert not Organization.objects.primary_not_welcomed().filter(pk=recent.pk).exists()
    services.primary_contact_transfer(organization=recent, to=UserFactory(), by=None)
    assert Organization.objects.primary_not_welcomed().filter(pk=recent.pk).exists()


def test_reviewers_are_not_offered_mark_as_welcomed(client, organizations):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(CHANGELIST)
    actions = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert "mark_primary_welcomed" not in actions
