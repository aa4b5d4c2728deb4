"""Edits never silently undo each other (issue 12, case 1).

Two people open an edit form at the same time. A field only one of them changed
is saved and the other's different field merges with it; a confirmation saved in
between is kept; a field both changed is a conflict shown with theirs beside
yours, who changed it and when, the input kept, and a choice.
"""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils.html import escape

from contacts import services
from contacts.models import Organization, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from contacts.tests.test_admin_roster import change_form_data, change_url
from pars.concurrency import EDIT_CONFLICT, KEEP_THEIRS, RESOLUTION_FIELD

pytestmark = pytest.mark.django_db

DETAILS = ["name", "street_address", "city", "state", "zip_code", "phone", "website"]
PERSON = ["first_name", "last_name", "credentials", "job_title", "phone", "email"]


def opened(client, url, fields):
    """Open an edit page: what its form posts back unchanged (its baseline included)."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in fields}
    data["edit_baseline"] = re.search(r'name="edit_baseline" value="([^"]+)"', response.content.decode()).group(1)
    return data


@pytest.fixture
def organization():
    return OrganizationFactory(phone="(916) 555-0100", website="https://old.example")


@pytest.fixture
def ann(organization):
    ann = UserFactory(first_name="Ann", last_name="Able")
    services.role_assign(organization=organization, person=ann, role=Role.STAFF, by=None)
    return ann


def edit_url(organization):
    return reverse("contacts:organization_edit", args=[organization.pk])


def test_two_forms_opened_at_once_changing_different_fields_both_save(client, organization, ann):
    client.force_login(organization.primary_contact)
    form_a = opened(client, edit_url(organization), DETAILS)
    form_b = opened(client, edit_url(organization), DETAILS)

    assert client.post(edit_url(organization), {**form_a, "phone": "(916) 555-0111"}).status_code == 302
    assert client.post(edit_url(organization), {**form_b, "website": "https://new.example"}).status_code == 302

    organization.refresh_from_db()
    assert (organization.phone, organization.website) == ("(916) 555-0111", "https://new.example")


def test_a_confirmation_saved_while_the_details_form_was_open_is_kept(client, organization, ann):
    client.force_login(organization.primary_contact)
    form = opened(client, edit_url(organization), DETAILS)
    services.contacts_confirm(organization=organization, by=ann)

    assert client.post(edit_url(organization), {**form, "phone": "(916) 555-0111"}).status_code == 302

    organization.refresh_from_db()
    assert organization.contacts_confirmed_by == ann and organization.contacts_confirmed_at is not None
    assert organization.phone == "(916) 555-0111"


def test_a_field_both_changed_is_refused_with_theirs_beside_mine_who_and_when(client, organization, ann):
    client.force_login(organization.primary_contact)
    form = opened(client, edit_url(organization), DETAILS)
    services.organization_update(organization=organization, by=ann, phone="(916) 555-0222")

    response = client.post(edit_url(organization), {**form, "phone": "(916) 555-0333", "city": "Davis"})

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(EDIT_CONFLICT) in html
    [conflict] = response.context["form"].conflicts
    assert (conflict.field, conflict.theirs, conflict.yours, conflict.by) == (
        "phone",
        "(916) 555-0222",
        "(916) 555-0333",
        str(ann),
    )
    assert conflict.at == Organization.history.filter(id=organization.pk).latest().history_date
    assert escape(conflict.message()) in html
    assert 'value="(916) 555-0333"' in html and 'value="Davis"' in html, "my input is kept"
    organization.refresh_from_db()
    assert (organization.phone, organization.city) == ("(916) 555-0222", organization.city), "nothing saved"


def resubmit(client, url, response, **extra):
    """Submit the conflict page's form again, as shown (its new baseline included)."""
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    return client.post(url, {**data, **extra})


def test_save_mine_after_a_conflict_saves_my_value(client, organization, ann):
    client.force_login(organization.primary_contact)
    form = opened(client, edit_url(organization), DETAILS)
    services.organization_update(organization=organization, by=ann, phone="(916) 555-0222")
    conflict_page = client.post(edit_url(organization), {**form, "phone": "(916) 555-0333"})

    response = resubmit(client, edit_url(organization), conflict_page, **{RESOLUTION_FIELD: "mine"})

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.phone == "(916) 555-0333"


def test_keep_theirs_after_a_conflict_keeps_their_value_and_saves_my_other_changes(client, organization, ann):
    client.force_login(organization.primary_contact)
    form = opened(client, edit_url(organization), DETAILS)
    services.organization_update(organization=organization, by=ann, phone="(916) 555-0222")
    conflict_page = client.post(edit_url(organization), {**form, "phone": "(916) 555-0333", "city": "Davis"})

    response = resubmit(client, edit_url(organization), conflict_page, **{RESOLUTION_FIELD: KEEP_THEIRS})

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.phone, organization.city) == ("(916) 555-0222", "Davis")


def test_saving_details_writes_one_history_row_and_a_fixed_number_of_queries(
    client, organization, django_assert_max_num_queries
):
    client.force_login(organization.primary_contact)
    form = opened(client, edit_url(organization), DETAILS)
    rows = organization.history.count()
    # The request's savepoint, session, user, access, the organization, the service's savepoint,
    # its lock, the update, its history row, and the releases.
    with django_assert_max_num_queries(11):
        response = client.post(edit_url(organization), {**form, "phone": "(916) 555-0111"})
    assert response.status_code == 302
    assert organization.history.count() == rows + 1


# The admin's change forms


def test_admin_save_of_other_fields_keeps_a_confirmation_made_meanwhile(client, organization, ann):
    client.force_login(cme_staff(EDITORS))
    data = change_form_data(client, organization)
    services.contacts_confirm(organization=organization, by=ann)

    response = client.post(change_url(organization), {**data, "name": "Renamed CME"})

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.name == "Renamed CME"
    assert organization.contacts_confirmed_by == ann
    assert LogEntry.objects.get(object_id=str(organization.pk)).get_change_message() == "Changed Name."


def test_admin_change_form_shows_a_conflict_on_a_field_someone_changed_meanwhile(client, organization, ann):
    client.force_login(cme_staff(EDITORS))
    data = change_form_data(client, organization)
    services.organization_update(organization=organization, by=ann, phone="(916) 555-0222")

    response = client.post(change_url(organization), {**data, "phone": "(916) 555-0333"})

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(EDIT_CONFLICT) in html
    assert "Keep theirs" in html and "(916) 555-0222" in html
    organization.refresh_from_db()
    assert organization.phone == "(916) 555-0222"


def test_admin_person_change_keeps_a_field_someone_else_changed_meanwhile(client, ann):
    client.force_login(cme_staff(EDITORS))
    url = reverse("admin:accounts_user_change", args=[ann.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data.pop("password", None)
    ann.phone = "(916) 555-0444"
    ann.save(update_fields=["phone"])

    response = client.post(url, {**data, "job_title": "Director"})

    assert response.status_code == 302
    ann.refresh_from_db()
    assert (ann.phone, ann.job_title) == ("(916) 555-0444", "Director")


# A contact's details and Edit My Profile


def test_contact_edits_opened_at_once_merge_and_a_field_both_changed_is_a_conflict(client, organization):
    invited = InvitedUserFactory(first_name="Ivy", phone="(916) 555-0001")
    services.role_assign(organization=organization, person=invited, role=Role.STAFF, by=None)
    client.force_login(organization.primary_contact)
    url = reverse("contacts:person_edit", args=[organization.pk, invited.pk])
    form_a, form_b, form_c = (opened(client, url, PERSON) for _ in range(3))

    assert client.post(url, {**form_a, "phone": "(916) 555-0002"}).status_code == 302
    assert client.post(url, {**form_b, "job_title": "Planner"}).status_code == 302
    conflict = client.post(url, {**form_c, "phone": "(916) 555-0003"})

    assert conflict.status_code == 200
    assert [c.theirs for c in conflict.context["form"].conflicts] == ["(916) 555-0002"]
    invited.refresh_from_db()
    assert (invited.phone, invited.job_title) == ("(916) 555-0002", "Planner")


def test_my_profile_saved_after_someone_changed_another_of_my_fields_keeps_theirs(client, organization, ann):
    client.force_login(ann)
    url = reverse("accounts:profile")
    form = opened(client, url, ["first_name", "last_name", "credentials", "job_title", "phone", "email"])
    services.person_update(person=ann, by=None, job_title="Chair")

    assert client.post(url, {**form, "phone": "(916) 555-0999"}).status_code == 302
    ann.refresh_from_db()
    assert (ann.phone, ann.job_title) == ("(916) 555-0999", "Chair")
