"""The roster inline of the organization page: the site's invariants, saved through the services."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts import services
from contacts.admin import (
    NO_PRIMARY,
    PERSON_LISTED_TWICE,
    PRIMARY_ROLE_FIXED,
    ROLE_HELD_TWICE,
    ROSTER_NOT_SAVED,
    SECOND_PRIMARY,
)
from contacts.models import EmailLog, Organization, Role
from contacts.services import PRIMARY_CANNOT_BE_REMOVED
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

CHANGERS = [EDITORS, SUPERUSER]
PREFIX = "roles"


def change_url(organization):
    return reverse("admin:contacts_organization_change", args=[organization.pk])


@pytest.fixture
def organization():
    organization = OrganizationFactory(name="Sutter Health CME")
    services.role_assign(organization=organization, person=UserFactory(first_name="Bill"), role=Role.BILLING, by=None)
    services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)
    return organization


@pytest.fixture(params=CHANGERS)
def editor(request, client):
    person = cme_staff(request.param)
    client.force_login(person)
    return person


def _value(bound_field):
    value = bound_field.value()
    if value is None:
        return ""
    if value is True:
        return "on"
    return value


def change_form_data(client, organization):
    """What the change page's form posts back unchanged, as a dict to edit."""
    response = client.get(change_url(organization))
    assert response.status_code == 200
    data = {"_save": "Save"}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for bound_field in form:
            value = _value(bound_field)
            if value not in ("", False):
                data[bound_field.html_name] = value
    return data


def row_of(data, role):
    """The index of the inline row holding role."""
    total = int(data[f"{PREFIX}-TOTAL_FORMS"])
    return next(i for i in range(total) if data.get(f"{PREFIX}-{i}-role") == role)


def add_row(data, person, role):
    index = int(data[f"{PREFIX}-TOTAL_FORMS"])
    data[f"{PREFIX}-TOTAL_FORMS"] = str(index + 1)
    data[f"{PREFIX}-{index}-person"] = person.pk
    data[f"{PREFIX}-{index}-role"] = role
    return data


def roster(organization):
    return sorted((r.role, r.person.email) for r in organization.roles.select_related("person"))


def refused_with(response, message):
    assert response.status_code == 200, "the form is shown again"
    errors = [
        str(error) for inline in response.context["inline_admin_formsets"] for error in inline.formset.non_form_errors()
    ]
    assert message in errors
    return True


# The invariants: a readable error, never a 500


def test_second_primary_row_is_refused_with_a_message_not_an_integrity_error(client, editor, organization):
    before = roster(organization)
    data = add_row(change_form_data(client, organization), UserFactory(), Role.PRIMARY)
    response = client.post(change_url(organization), data)
    assert refused_with(response, SECOND_PRIMARY)
    assert roster(organization) == before


def test_deleting_the_primary_row_is_refused(client, editor, organization):
    before = roster(organization)
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.PRIMARY)}-DELETE"] = "on"
    response = client.post(change_url(organization), data)
    assert refused_with(response, PRIMARY_CANNOT_BE_REMOVED)
    assert roster(organization) == before


def test_changing_the_primary_rows_role_is_refused(client, editor, organization):
    before = roster(organization)
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.PRIMARY)}-role"] = Role.STAFF
    response = client.post(change_url(organization), data)
    assert refused_with(response, PRIMARY_ROLE_FIXED)
    assert roster(organization) == before


def test_a_roster_left_without_a_primary_must_get_one_before_it_saves(client, editor, organization):
    # Only a write behind the services' back can leave this (and PostgreSQL refuses it at commit).
    primary_row = organization.roles.get(role=Role.PRIMARY)
    organization.roles.filter(role=Role.PRIMARY).delete()
    try:
        response = client.post(change_url(organization), change_form_data(client, organization))
        assert refused_with(response, NO_PRIMARY)
    finally:
        # Back as it was, so that the test's transaction passes PostgreSQL's commit-time check.
        primary_row.save(force_insert=True)


def test_second_holder_of_a_singular_role_is_refused(client, editor, organization):
    before = roster(organization)
    billing = organization.roles.get(role=Role.BILLING).person
    newcomer = UserFactory(first_name="Second", last_name="Biller")
    data = add_row(change_form_data(client, organization), newcomer, Role.BILLING)
    response = client.post(change_url(organization), data)
    assert refused_with(response, ROLE_HELD_TWICE.format(role="Billing Contact", people=f"{billing} and {newcomer}"))
    assert roster(organization) == before


def test_same_person_listed_twice_as_staff_is_refused(client, editor, organization):
    staff = organization.roles.get(role=Role.STAFF).person
    data = add_row(change_form_data(client, organization), staff, Role.STAFF)
    response = client.post(change_url(organization), data)
    assert refused_with(response, PERSON_LISTED_TWICE.format(person=staff, role="Staff"))


# Saving through the services


def test_adding_a_billing_contact_assigns_the_role(client, editor, organization):
    organization.roles.get(role=Role.BILLING).delete()
    newcomer = UserFactory()
    response = client.post(
        change_url(organization), add_row(change_form_data(client, organization), newcomer, Role.BILLING)
    )
    assert response.status_code == 302
    assert organization.roles.get(role=Role.BILLING).person == newcomer
    assert organization.roles.get(role=Role.BILLING).assigned_by == editor
    assert "was changed successfully" in next(str(m) for m in get_messages(response.wsgi_request))


def test_adding_an_invited_person_in_a_role_with_access_emails_their_invitation(
    client, editor, organization, mailoutbox, django_capture_on_commit_callbacks
):
    invited = InvitedUserFactory()
    data = add_row(change_form_data(client, organization), invited, Role.TECHNICAL)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(organization), data)
    assert organization.roles.get(role=Role.TECHNICAL).person == invited
    assert [message.to for message in run_email_worker()] == [[invited.email]]
    assert EmailLog.objects.get().kind == EmailLog.Kind.INVITATION


def test_changing_the_billing_rows_person_replaces_the_billing_contact(client, editor, organization):
    newcomer = UserFactory()
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.BILLING)}-person"] = newcomer.pk
    assert client.post(change_url(organization), data).status_code == 302
    assert list(organization.roles.filter(role=Role.BILLING).values_list("person", flat=True)) == [newcomer.pk]


def test_changing_the_primary_rows_person_hands_the_role_over_and_emails_both(
    client, editor, organization, mailoutbox, django_capture_on_commit_callbacks
):
    previous = organization.primary_contact
    successor = UserFactory()
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.PRIMARY)}-person"] = successor.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(change_url(organization), data).status_code == 302
    assert Organization.objects.get(pk=organization.pk).primary_contact == successor
    handovers = EmailLog.objects.filter(kind=EmailLog.Kind.PRIMARY_HANDOVER)
    assert sorted(handovers.values_list("to_email", flat=True)) == sorted([previous.email, successor.email])
    assert len(run_email_worker()) == 2


def test_deleting_a_row_removes_the_role(client, editor, organization):
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.BILLING)}-DELETE"] = "on"
    assert client.post(change_url(organization), data).status_code == 302
    assert not organization.roles.filter(role=Role.BILLING).exists()


def test_swapping_two_singular_roles_between_people_is_allowed(client, editor, organization):
    ceo = UserFactory()
    services.role_assign(organization=organization, person=ceo, role=Role.CEO, by=None)
    billing = organization.roles.get(role=Role.BILLING).person
    data = change_form_data(client, organization)
    billing_row, ceo_row = row_of(data, Role.BILLING), row_of(data, Role.CEO)
    data[f"{PREFIX}-{billing_row}-role"], data[f"{PREFIX}-{ceo_row}-role"] = Role.CEO, Role.BILLING
    assert client.post(change_url(organization), data).status_code == 302
    assert organization.roles.get(role=Role.BILLING).person == ceo
    assert organization.roles.get(role=Role.CEO).person == billing


def test_a_roster_changed_meanwhile_is_said_on_the_form_as_sent_and_nothing_is_saved(client, editor, organization):
    data = add_row(change_form_data(client, organization), UserFactory(), Role.WEBSITE)
    data["city"] = "Fresno"
    # Someone fills the Website Contact between page load and save.
    services.role_assign(organization=organization, person=UserFactory(), role=Role.WEBSITE, by=None)
    response = client.post(change_url(organization), data)
    # The form again, as sent, with the refusal on it: nothing the editor typed is lost.
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    [error] = form.non_field_errors()
    assert error.startswith(ROSTER_NOT_SAVED.split("{error}")[0])
    assert form["city"].value() == "Fresno"
    [roster] = response.context_data["inline_admin_formsets"]
    assert Role.WEBSITE in [row["role"].value() for row in roster.formset.forms]
    assert Organization.objects.get(pk=organization.pk).city == "Sacramento"


def test_hand_over_refused_with_a_later_row_saves_nothing_and_emails_nobody(
    client, editor, organization, mailoutbox, django_capture_on_commit_callbacks
):
    previous = organization.primary_contact
    data = change_form_data(client, organization)
    data[f"{PREFIX}-{row_of(data, Role.PRIMARY)}-person"] = InvitedUserFactory().pk
    add_row(data, UserFactory(), Role.WEBSITE)
    # Someone fills the Website Contact between page load and save: the hand-over
    # is saved first, then the new Website row is refused and everything rolls back.
    services.role_assign(organization=organization, person=UserFactory(), role=Role.WEBSITE, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(organization), data)
    assert response.status_code == 200
    [error] = response.context_data["adminform"].form.non_field_errors()
    assert error.startswith(ROSTER_NOT_SAVED.split("{error}")[0])
    assert Organization.objects.get(pk=organization.pk).primary_contact == previous
    assert run_email_worker() == []
    assert not EmailLog.objects.exists()


def test_organization_details_change_is_recorded_in_history_with_the_editor(client, editor, organization):
    data = change_form_data(client, organization)
    data["city"] = "Fresno"
    assert client.post(change_url(organization), data).status_code == 302
    latest = Organization.history.filter(id=organization.pk).latest("history_date")
    assert (latest.city, latest.history_user) == ("Fresno", editor)


# Reviewers look, never touch


def test_reviewer_sees_the_roster_read_only_and_a_post_is_forbidden(client, organization):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(change_url(organization))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert organization.primary_contact.email in response.content.decode()
    response = client.post(change_url(organization), {"name": "Hijacked", "_save": "Save"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=organization.pk).name == "Sutter Health CME"
