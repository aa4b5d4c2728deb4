"""Every admin page for each kind of CME staff: reviewers open all and change nothing.

Also: adding an organization (with its Primary Contact), the history pages, the email log.
"""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.urls import reverse

from contacts import services
from contacts.models import EmailLog, Organization, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, SUPERUSER, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

User = get_user_model()
STAFF_KINDS = [REVIEWERS, EDITORS, SUPERUSER]


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """An organization whose roster has changed, a contact, and an email in the log."""
    organization = OrganizationFactory(name="Sutter Health CME")
    invited = InvitedUserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.role_assign(organization=organization, person=invited, role=Role.TECHNICAL, by=None)
    services.organization_update(organization=organization, by=None, city="Fresno")
    version = Organization.history.filter(id=organization.pk).earliest("history_date")
    return {
        "organization": organization,
        "person": invited,
        "email": EmailLog.objects.get(),
        "version": version,
    }


def page_urls(world):
    organization, person, email = world["organization"], world["person"], world["email"]
    return [
        reverse("admin:index"),
        reverse("admin:app_list", args=["contacts"]),
        reverse("admin:app_list", args=["accounts"]),
        reverse("admin:contacts_organization_changelist"),
        reverse("admin:contacts_organization_change", args=[organization.pk]),
        reverse("admin:contacts_organization_history", args=[organization.pk]),
        reverse("admin:contacts_organization_simple_history", args=[organization.pk, world["version"].history_id]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[person.pk]),
        reverse("admin:accounts_user_history", args=[person.pk]),
        reverse("admin:contacts_emaillog_changelist"),
        reverse("admin:contacts_emaillog_change", args=[email.pk]),
    ]


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_every_cme_staff_member_opens_every_admin_page(client, world, kind):
    client.force_login(cme_staff(kind))
    for url in page_urls(world):
        assert client.get(url).status_code == 200, url


def test_reviewer_sees_the_organization_change_page_read_only(client, world):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(reverse("admin:contacts_organization_change", args=[world["organization"].pk]))
    assert response.context["title"].startswith("View")
    assert not response.context["has_change_permission"]
    assert 'name="_save"' not in response.content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "organization_change",
        "organization_revert",
        "organization_add",
        "user_change",
        "user_password",
        "emaillog_change",
    ],
)
def test_reviewer_posting_to_any_page_is_forbidden(client, world, page):
    client.force_login(cme_staff(REVIEWERS))
    organization, person = world["organization"], world["person"]
    url = {
        "organization_change": reverse("admin:contacts_organization_change", args=[organization.pk]),
        "organization_revert": reverse(
            "admin:contacts_organization_simple_history", args=[organization.pk, world["version"].history_id]
        ),
        "organization_add": reverse("admin:contacts_organization_add"),
        "user_change": reverse("admin:accounts_user_change", args=[person.pk]),
        "user_password": reverse("admin:auth_user_password_change", args=[person.pk]),
        "emaillog_change": reverse("admin:contacts_emaillog_change", args=[world["email"].pk]),
    }[page]
    response = client.post(url, {"name": "Hijacked", "city": "Nowhere", "email": "hijack@example.org"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=organization.pk).city == "Fresno"
    assert User.objects.get(pk=person.pk).email == person.email


def test_reviewer_cannot_delete_an_organization(client, world):
    client.force_login(cme_staff(REVIEWERS))
    url = reverse("admin:contacts_organization_delete", args=[world["organization"].pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Organization.objects.filter(pk=world["organization"].pk).exists()


def test_reviewer_is_offered_the_exports_but_no_action_that_changes_anything(client, world):
    client.force_login(cme_staff(REVIEWERS))
    response = client.get(reverse("admin:contacts_organization_changelist"))
    actions = [name for name, _label in response.context["action_form"].fields["action"].choices if name]
    assert actions == ["export_newsletter_list", "export_invoice_list", "export_directory_list"]


def test_editor_cannot_delete_organizations_but_a_superuser_can(client, world):
    url = reverse("admin:contacts_organization_delete", args=[world["organization"].pk])
    client.force_login(cme_staff(EDITORS))
    assert client.post(url, {"post": "yes"}).status_code == 403
    client.force_login(cme_staff(SUPERUSER))
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Organization.objects.filter(pk=world["organization"].pk).exists()


# History


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_history_page_lists_the_organizations_changes_and_its_rosters(client, world, kind):
    client.force_login(cme_staff(kind))
    response = client.get(reverse("admin:contacts_organization_history", args=[world["organization"].pk]))
    html = response.content.decode()
    assert "Fresno" in html
    assert "Roster history" in html
    assert "Technical Contact" in html and world["person"].email in html


def test_history_of_an_unknown_organization_is_404(client):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get("/admin/contacts/organization/nonsense/history/").status_code == 404
    assert client.get("/admin/contacts/organization/999999/history/").status_code == 404


# Adding an organization: only with its Primary Contact

ADD_URL = reverse("admin:contacts_organization_add")


def add_form(**overrides):
    return {
        "name": "Kern Medical Education",
        "provider_id": "CA55555",
        "accreditor": "CMA",
        "accreditation_status": "provisional",
        "state": "CA",
        "listed_in_directory": "on",
        "_save": "Save",
        **overrides,
    }


@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_add_page_asks_for_the_primary_contact_and_shows_no_roster_yet(client, kind):
    client.force_login(cme_staff(kind))
    response = client.get(ADD_URL)
    assert response.status_code == 200
    assert response.context["adminform"].form.fields["primary_contact"].required
    assert response.context["inline_admin_formsets"] == []


def test_adding_an_organization_without_a_primary_contact_is_refused(client):
    client.force_login(cme_staff(EDITORS))
    response = client.post(ADD_URL, add_form())
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["primary_contact"] == ["This field is required."]
    assert not Organization.objects.filter(provider_id="CA55555").exists()


@pytest.mark.parametrize("kind", [EDITORS, SUPERUSER])
def test_adding_an_organization_creates_it_with_its_primary_contact(
    client, kind, mailoutbox, django_capture_on_commit_callbacks
):
    staff = cme_staff(kind)
    client.force_login(staff)
    primary = InvitedUserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, add_form(primary_contact=primary.pk))
    assert response.status_code == 302
    organization = Organization.objects.get(provider_id="CA55555")
    assert organization.primary_contact == primary
    assert organization.roles.get().assigned_by == staff
    assert Organization.history.get(id=organization.pk).history_user == staff
    # A primary who cannot sign in yet is invited, as on the site.
    assert [message.to for message in run_email_worker()] == [[primary.email]]


def test_reviewer_cannot_open_the_add_page(client):
    client.force_login(cme_staff(REVIEWERS))
    assert client.get(ADD_URL).status_code == 403


def test_duplicate_provider_id_is_a_form_error(client):
    OrganizationFactory(provider_id="CA55555")
    client.force_login(cme_staff(EDITORS))
    response = client.post(ADD_URL, add_form(primary_contact=UserFactory().pk))
    assert response.status_code == 200
    assert "provider_id" in response.context["adminform"].form.errors


# The email log: read-only for everyone


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_email_log_lists_each_email_and_nobody_may_add_change_or_delete_one(client, world, kind):
    client.force_login(cme_staff(kind))
    email = world["email"]
    response = client.get(reverse("admin:contacts_emaillog_changelist"))
    html = response.content.decode()
    assert email.to_email in html and email.subject in html and "Sutter Health CME" in html
    assert client.get(reverse("admin:contacts_emaillog_add")).status_code == 403
    change = reverse("admin:contacts_emaillog_change", args=[email.pk])
    assert client.post(change, {"subject": "changed"}).status_code == 403
    assert client.post(reverse("admin:contacts_emaillog_delete", args=[email.pk]), {"post": "yes"}).status_code == 403
    assert EmailLog.objects.get(pk=email.pk).subject == email.subject


def test_email_log_filters_by_kind_and_status_and_searches_recipient_and_subject(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(cme_staff(REVIEWERS))
    with django_capture_on_commit_callbacks(execute=True):
        other = OrganizationFactory(primary=InvitedUserFactory(email="zed@example.net"))
    url = reverse("admin:contacts_emaillog_changelist")

    def recipients(params):
        return sorted(log.to_email for log in client.get(url, params).context["cl"].result_list)

    assert recipients({"q": "zed@"}) == ["zed@example.net"]
    assert recipients({"kind__exact": "invitation"}) == sorted([world["person"].email, "zed@example.net"])
    assert recipients({"kind__exact": "reminder"}) == []
    assert recipients({"status__exact": "failed"}) == []
    assert other.primary_contact.email == "zed@example.net"


# The update reminder, from contacts.reminders


def test_editor_sends_the_update_reminder_to_the_selected_organizations_primary(client, world, mailoutbox):
    client.force_login(cme_staff(EDITORS))
    organization = world["organization"]
    OrganizationFactory(name="Not selected")
    run_email_worker().clear()
    data = {"action": "send_update_reminder_action", helpers.ACTION_CHECKBOX_NAME: [organization.pk]}
    confirmation = client.post(reverse("admin:contacts_organization_changelist"), data)
    assert confirmation.status_code == 200
    assert run_email_worker() == []
    response = client.post(reverse("admin:contacts_organization_changelist"), {**data, "post": "yes"})
    assert response.status_code == 302
    assert [message.to for message in run_email_worker()] == [[organization.primary_contact.email]]
    assert EmailLog.objects.filter(kind=EmailLog.Kind.REMINDER, organization=organization).count() == 1


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_organizations_cannot_be_deleted_in_bulk(client, world, kind):
    client.force_login(cme_staff(kind))
    response = client.get(reverse("admin:contacts_organization_changelist"))
    actions = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert "send_update_reminder_action" in actions or kind == REVIEWERS
    assert "delete_selected" not in actions


@pytest.mark.parametrize("kind", [REVIEWERS, EDITORS])
def test_cme_staff_cannot_open_groups_or_permissions(client, kind):
    client.force_login(cme_staff(kind))
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_add")).status_code == 403


def test_admin_is_titled_for_the_product(client):
    client.force_login(cme_staff(REVIEWERS))
    html = client.get(reverse("admin:index")).content.decode()
    assert "PARS contacts — CMA CME staff" in html
    assert "Django administration" not in html


@pytest.mark.parametrize("kind", [REVIEWERS, EDITORS])
def test_cme_staff_see_no_sign_in_throttle_tables(client, kind):
    client.force_login(cme_staff(kind))
    app_labels = [app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]]
    assert "axes" not in app_labels
    assert sorted(app_labels) == ["accounts", "contacts"]


def test_email_log_shows_status_and_date_before_the_long_columns(client, world):
    client.force_login(cme_staff(REVIEWERS))
    html = client.get(reverse("admin:contacts_emaillog_changelist")).content.decode()
    assert html.index("column-sent_at") < html.index("column-status") < html.index("column-subject")
