"""Adding contacts, assigning, replacing and removing role holders, editing invited contacts."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from contacts import services
from contacts.forms import CHOOSE_LISTED, CHOOSE_WHO, LISTED, NEW, NEW_PERSON_NEEDS_NAME
from contacts.models import ROLE_PURPOSES, ContactRole, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from contacts.views import ALSO_INVITED, CONTACT_INVITED, CONTACT_KNOWN, ROLE_ASSIGNED, ROLE_REMOVED, SELF_LOST_ACCESS
from pars.forms import CHOICE_INVALID, CHOOSE, EMAIL_INVALID, PHONE_INVALID
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def organization():
    return OrganizationFactory(primary=UserFactory(first_name="Jane", last_name="Doe"))


@pytest.fixture
def primary(client, organization):
    client.force_login(organization.primary_contact)
    return organization.primary_contact


def add(organization, role, person=None):
    person = person or UserFactory()
    services.role_assign(organization=organization, person=person, role=role, by=organization.primary_contact)
    return person


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def add_contact(client, organization, data):
    """Add a contact as a person does: the form, then the check-your-answers page, then confirm.

    Asserts that the check page saved and sent nothing.
    """
    url = reverse("contacts:contact_add", args=[organization.pk])
    people, roles, outbox = User.objects.count(), ContactRole.objects.count(), len(run_email_worker())
    check = client.post(url, data)
    assert check.status_code == 200
    assert check.context["checking"], check.context["form"].errors
    assert (User.objects.count(), ContactRole.objects.count(), len(run_email_worker())) == (people, roles, outbox)
    return client.post(url, {**data, "confirm": "1"}, follow=True)


NEW_CONTACT = {
    "email": "New.Person@Example.org",
    "first_name": "New",
    "last_name": "Person",
    "credentials": "RN",
    "job_title": "Coordinator",
    "phone": "(916) 555-0199",
    "role": "staff",
}


# Add a contact


def test_adding_a_new_email_creates_the_person_and_emails_the_invitation(
    client, organization, primary, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = add_contact(client, organization, NEW_CONTACT)
    person = User.objects.get(email__iexact="new.person@example.org")
    assert (person.first_name, person.credentials, person.job_title) == ("New", "RN", "Coordinator")
    assert not person.has_usable_password()
    assert organization.holders(Role.STAFF) == [person]
    assert [message.to for message in run_email_worker()] == [[person.email]]
    assert "set your password" in run_email_worker()[0].subject
    # The page names the address the invitation goes to: its canonical form.
    expected = CONTACT_INVITED.format(email="new.person@example.org", person=person, role="Staff")
    assert messages_of(response) == [expected]
    assert response.redirect_chain[-1][0] == reverse("contacts:profile", args=[organization.pk])


def test_adding_a_known_email_only_adds_the_role(client, organization, primary, django_capture_on_commit_callbacks):
    known = UserFactory(email="known@example.org", first_name="Kim", last_name="Known")
    data = {**NEW_CONTACT, "email": "KNOWN@example.org", "first_name": "Other", "role": "technical"}
    with django_capture_on_commit_callbacks(execute=True):
        response = add_contact(client, organization, data)
    known.refresh_from_db()
    assert known.first_name == "Kim"
    assert organization.holder(Role.TECHNICAL) == known
    [notice] = run_email_worker()  # the role notice, no invitation
    assert notice.to == [known.email]
    assert notice.subject == f"You are now Technical Contact of {organization}"
    assert messages_of(response) == [
        CONTACT_KNOWN.format(email="known@example.org", person=known, role="Technical Contact")
    ]


def test_known_contact_without_a_password_gets_the_invitation_with_their_first_access(
    client, organization, primary, django_capture_on_commit_callbacks
):
    billing_only = InvitedUserFactory(email="billing@example.org")
    add(organization, Role.BILLING, billing_only)
    data = {**NEW_CONTACT, "email": "billing@example.org", "role": "staff"}
    with django_capture_on_commit_callbacks(execute=True):
        response = add_contact(client, organization, data)
    invitations = [message for message in run_email_worker() if "set your password" in message.subject]
    assert [message.to for message in invitations] == [["billing@example.org"]]
    assert ALSO_INVITED in messages_of(response)[0]


def test_adding_a_billing_contact_sends_no_invitation_and_says_none(
    client, organization, primary, django_capture_on_commit_callbacks
):
    data = {**NEW_CONTACT, "role": "billing"}
    with django_capture_on_commit_callbacks(execute=True):
        response = add_contact(client, organization, data)
    billing = organization.holder(Role.BILLING)
    assert billing.email == "new.person@example.org"
    [notice] = run_email_worker()  # the role notice, no invitation
    assert notice.subject == f"You are now Billing Contact of {organization}"
    assert messages_of(response) == [ROLE_ASSIGNED.format(person=billing, role="Billing Contact")]


def test_adding_to_a_filled_role_shows_the_services_error_and_keeps_the_input(client, organization, primary):
    holder = add(organization, Role.BILLING)
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {**NEW_CONTACT, "role": "billing"})
    assert response.status_code == 200
    html = response.content.decode()
    assert services.ROLE_ALREADY_FILLED.format(organization=organization, role="Billing Contact", person=holder) in html
    assert 'value="New.Person@Example.org"' in html
    assert 'value="Coordinator"' in html
    assert not User.objects.filter(email__iexact="new.person@example.org").exists()


def test_invalid_email_re_renders_the_form_with_a_message(client, organization, primary):
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {**NEW_CONTACT, "email": "nope"})
    assert response.status_code == 200
    assert EMAIL_INVALID in response.content.decode()
    assert 'value="nope"' in response.content.decode()


def test_primary_is_not_offered_when_adding_a_contact(client, organization, primary):
    response = client.get(reverse("contacts:contact_add", args=[organization.pk]) + "?role=website")
    form = response.context["form"]
    assert "primary" not in dict(form.fields["role"].choices)
    assert form.initial["role"] == "website"
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {**NEW_CONTACT, "role": "primary"})
    assert response.status_code == 200
    assert organization.holders(Role.PRIMARY) == [primary]


# Assign or replace a singular role


def test_assigning_someone_on_the_roster_to_an_empty_role(client, organization, primary):
    staff = add(organization, Role.STAFF)
    response = client.post(
        reverse("contacts:role_assign", args=[organization.pk, "website"]), {"who": LISTED, "person": staff.pk}
    )
    assert response.status_code == 302
    assert organization.holder(Role.WEBSITE) == staff
    assert messages_of(response) == [ROLE_ASSIGNED.format(person=staff, role="Website Contact")], "no invitation"


def test_replacing_a_holder_with_a_new_email_invites_the_new_person(
    client, organization, primary, django_capture_on_commit_callbacks
):
    old = add(organization, Role.TECHNICAL)
    data = {"who": NEW, "email": "tech@example.org", "first_name": "Tess", "last_name": "Tech"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("contacts:role_assign", args=[organization.pk, "technical"]), data, follow=True)
    new = User.objects.get(email="tech@example.org")
    assert organization.holder(Role.TECHNICAL) == new
    assert old not in organization.holders(Role.TECHNICAL)
    sent = {message.to[0]: message.subject for message in run_email_worker()}
    assert sent == {
        "tech@example.org": "PARS contacts: system access granted — set your password",
        old.email: f"You are no longer Technical Contact of {organization}",
    }
    assert "invitation" in messages_of(response)[0]


def test_assign_form_offers_the_roster_but_not_the_current_holder(client, organization, primary):
    holder = add(organization, Role.CEO)
    staff = add(organization, Role.STAFF)
    response = client.get(reverse("contacts:role_assign", args=[organization.pk, "ceo"]))
    choices = dict(response.context["form"].fields["person"].choices)
    assert str(staff.pk) in choices and str(primary.pk) in choices
    assert str(holder.pk) not in choices
    assert f"{holder} is the CEO Contact" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, CHOOSE_WHO),
        ({"who": NEW, "email": "someone@example.org"}, NEW_PERSON_NEEDS_NAME),
        ({"who": LISTED, "email": "someone@example.org", "first_name": "A", "last_name": "B"}, CHOOSE_LISTED),
    ],
)
def test_assign_form_asks_one_question_and_says_what_is_missing(client, organization, primary, data, error):
    data = {key: primary.pk if value == "PRIMARY" else value for key, value in data.items()}
    response = client.post(reverse("contacts:role_assign", args=[organization.pk, "medical_director"]), data)
    assert response.status_code == 200
    assert escape(error) in response.content.decode()
    assert organization.holder(Role.MEDICAL_DIRECTOR) is None


def test_a_person_from_another_roster_cannot_be_picked_by_id(client, organization, primary):
    outsider = OrganizationFactory().primary_contact
    response = client.post(
        reverse("contacts:role_assign", args=[organization.pk, "website"]), {"who": LISTED, "person": outsider.pk}
    )
    assert response.status_code == 200
    assert organization.holder(Role.WEBSITE) is None


def test_assigning_the_primary_role_leads_to_the_hand_over(client, organization, primary):
    response = client.get(reverse("contacts:role_assign", args=[organization.pk, "primary"]))
    assert response.url == reverse("contacts:primary_transfer", args=[organization.pk])


def test_assigning_staff_leads_to_adding_a_contact(client, organization, primary):
    response = client.get(reverse("contacts:role_assign", args=[organization.pk, "staff"]))
    assert response.url == reverse("contacts:contact_add", args=[organization.pk]) + "?role=staff"


# Remove a role holder


def test_removing_a_staff_member_asks_then_removes_and_ends_their_access(client, organization, primary):
    staff = add(organization, Role.STAFF, UserFactory(first_name="Sam", last_name="Staff"))
    contact_role = organization.roles.get(person=staff)
    url = reverse("contacts:role_remove", args=[organization.pk, contact_role.pk])
    page = client.get(url).content.decode()
    assert "Remove Sam Staff as Staff?" in page
    assert "they lose access at once" in page
    response = client.post(url, follow=True)
    assert messages_of(response) == [ROLE_REMOVED.format(person=staff, role="Staff")]
    assert not ContactRole.objects.filter(pk=contact_role.pk).exists()
    client.force_login(staff)
    assert client.get(reverse("contacts:profile", args=[organization.pk])).status_code != 200


def test_removing_yourself_warns_that_you_lose_access_then_sends_you_to_the_dashboard(client, organization):
    me = add(organization, Role.STAFF)
    client.force_login(me)
    OrganizationFactory(primary=me)  # still signed in: a contact elsewhere
    contact_role = organization.roles.get(person=me)
    url = reverse("contacts:role_remove", args=[organization.pk, contact_role.pk])
    assert "you will lose access" in client.get(url).content.decode()
    response = client.post(url)
    assert response.url == reverse("contacts:dashboard")
    assert messages_of(response) == [SELF_LOST_ACCESS.format(organization=organization)]
    assert client.get(reverse("contacts:profile", args=[organization.pk])).status_code == 404


def test_removing_one_of_your_roles_keeps_your_access(client, organization):
    me = add(organization, Role.STAFF)
    add(organization, Role.WEBSITE, me)
    client.force_login(me)
    contact_role = organization.roles.get(person=me, role=Role.WEBSITE)
    url = reverse("contacts:role_remove", args=[organization.pk, contact_role.pk])
    assert "You keep your other roles" in client.get(url).content.decode()
    assert client.post(url).url == reverse("contacts:profile", args=[organization.pk])


def test_the_primary_cannot_be_removed(client, organization, primary):
    contact_role = organization.roles.get(role=Role.PRIMARY)
    url = reverse("contacts:role_remove", args=[organization.pk, contact_role.pk])
    for response in (client.get(url, follow=True), client.post(url, follow=True)):
        assert response.redirect_chain == [(reverse("contacts:profile", args=[organization.pk]), 302)]
        assert messages_of(response) == [services.PRIMARY_CANNOT_BE_REMOVED]
    assert organization.holders(Role.PRIMARY) == [primary]


# Edit the details of a contact who has not set a password


def test_invited_contact_details_can_be_edited_with_history(client, organization, primary):
    invited = add(organization, Role.STAFF, InvitedUserFactory())
    url = reverse("contacts:person_edit", args=[organization.pk, invited.pk])
    data = {
        "first_name": "Ivy",
        "last_name": "Vine",
        "credentials": "PhD",
        "job_title": "Planner",
        "phone": "916.555.0123",
        "email": invited.email,
    }
    response = client.post(url, data)
    assert response.url == reverse("contacts:profile", args=[organization.pk])
    invited.refresh_from_db()
    assert (invited.first_name, invited.credentials, invited.phone) == ("Ivy", "PhD", "(916) 555-0123")
    assert invited.history.latest().history_user == primary


def test_the_email_of_an_invited_contact_is_corrected_at_once(client, organization, primary):
    # Since issue 17: a mistyped address is corrected by the contact's organization (and the
    # invitation sent again to it, contacts/tests/test_email_change.py); it used to be fixed.
    invited = add(organization, Role.STAFF, InvitedUserFactory(email="wrong@example.org"))
    url = reverse("contacts:person_edit", args=[organization.pk, invited.pk])
    client.post(url, {"first_name": "A", "last_name": "B", "email": "right@example.org"})
    invited.refresh_from_db()
    assert invited.email == "right@example.org"


def test_a_contact_who_set_a_password_keeps_their_own_details(client, organization, primary):
    staff = add(organization, Role.STAFF)
    url = reverse("contacts:person_edit", args=[organization.pk, staff.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"first_name": "Changed"}).status_code == 404
    staff.refresh_from_db()
    assert staff.first_name != "Changed"


def test_an_invited_person_of_another_organization_is_404(client, organization, primary):
    elsewhere = OrganizationFactory()
    invited = add(elsewhere, Role.STAFF, InvitedUserFactory())
    assert client.get(reverse("contacts:person_edit", args=[organization.pk, invited.pk])).status_code == 404


# One question at a time: add a contact through check-your-answers; replace with one radio


def test_add_contact_asks_the_role_first_with_each_roles_purpose_and_no_default(
    client, organization, primary, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = client.get(reverse("contacts:contact_add", args=[organization.pk]))
    html = response.content.decode()
    assert html.index('name="role"') < html.index('name="email"')
    assert escape(ROLE_PURPOSES[Role.BILLING]) in html
    assert 'name="role" value="primary"' not in html
    assert " checked" not in html
    assert '<span class="optional">(optional)</span>' in html  # credentials, job title, phone
    assert "asteriskField" not in html


def test_check_page_says_who_will_be_invited_to_see_and_edit_the_organization(
    client, organization, primary, django_assert_max_num_queries
):
    url = reverse("contacts:contact_add", args=[organization.pk])
    with django_assert_max_num_queries(8):
        response = client.post(url, {**NEW_CONTACT, "first_name": "Ana", "last_name": "Ruiz"})
    html = response.content.decode()
    assert (
        f"We will email Ana Ruiz an invitation to set a password; they will be able to see and edit "
        f"{escape(organization.name)}." in html
    )
    assert 'type="hidden" name="email" value="New.Person@Example.org"' in html
    assert not User.objects.filter(email__iexact=NEW_CONTACT["email"]).exists()


def test_check_page_for_a_billing_contact_says_no_invitation_is_sent(client, organization, primary):
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {**NEW_CONTACT, "role": "billing"})
    assert "receives email but does not sign in, so we do not send an invitation" in response.content.decode()


def test_change_my_answers_shows_the_form_again_with_everything_typed(client, organization, primary):
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {**NEW_CONTACT, "change": "1"})
    html = response.content.decode()
    assert 'value="Coordinator"' in html
    assert re.search(r'name="role" id="id_role_\d" value="staff"[^>]* checked>', html)
    assert "checking" not in response.context or not response.context["checking"]
    assert not User.objects.filter(email__iexact=NEW_CONTACT["email"]).exists()


@pytest.mark.parametrize(
    ("tampered", "message"),
    [
        ({"role": "primary"}, CHOICE_INVALID),
        ({"email": "not-an-address"}, EMAIL_INVALID),
        ({"phone": "abc"}, PHONE_INVALID),
    ],
)
def test_a_tampered_confirmation_shows_the_form_again_and_saves_nothing(
    client, organization, primary, tampered, message
):
    data = {**NEW_CONTACT, **tampered, "confirm": "1"}
    response = client.post(reverse("contacts:contact_add", args=[organization.pk]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.content.decode().count("<title>Error: ") == 1
    assert not User.objects.filter(email__iexact=NEW_CONTACT["email"]).exists()
    assert run_email_worker() == []


def test_replace_page_states_the_roles_purpose_and_that_billing_contacts_are_not_invited(
    client, organization, primary, django_assert_max_num_queries
):
    add(organization, Role.STAFF)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("contacts:role_assign", args=[organization.pk, "billing"]))
    html = response.content.decode()
    assert escape(ROLE_PURPOSES[Role.BILLING]) in html
    assert "Billing Contact receives email but does not sign in: we do not send them an invitation" in html
    assert "Someone already listed" in html and "Someone new" in html
    technical = client.get(reverse("contacts:role_assign", args=[organization.pk, "technical"])).content.decode()
    assert "we email them an invitation to set a password" in technical


def test_replace_with_someone_listed_ignores_the_new_persons_fields(client, organization, primary):
    staff = add(organization, Role.STAFF)
    data = {"who": LISTED, "person": staff.pk, "email": "ignored@example.org", "first_name": "Ig"}
    client.post(reverse("contacts:role_assign", args=[organization.pk, "website"]), data)
    assert organization.holder(Role.WEBSITE) == staff
    assert not User.objects.filter(email="ignored@example.org").exists()


def test_replace_with_someone_new_needs_only_the_new_persons_fields(client, organization, primary):
    staff = add(organization, Role.STAFF)
    data = {"who": NEW, "person": staff.pk, "email": "web@example.org", "first_name": "Wes", "last_name": "Web"}
    client.post(reverse("contacts:role_assign", args=[organization.pk, "website"]), data)
    assert organization.holder(Role.WEBSITE).email == "web@example.org"


def test_with_nobody_else_listed_the_hand_over_asks_only_for_someone_new(client, organization, primary):
    response = client.get(reverse("contacts:primary_transfer", args=[organization.pk]))
    html = response.content.decode()
    assert 'type="hidden" name="who" value="new"' in html
    assert "Someone already listed" not in html


def test_an_invalid_form_has_an_error_summary_linking_to_each_field(
    client, organization, primary, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = client.post(reverse("contacts:contact_add", args=[organization.pk]), {"phone": "abc"})
    html = response.content.decode()
    assert html.count("<title>Error: Add a contact") == 1
    summary = html[html.index("data-error-summary") : html.index("</ul>", html.index("data-error-summary"))]
    assert f'<a href="#id_role_0">{escape(CHOOSE.format(what="the contact" + chr(39) + "s role"))}</a>' in summary
    assert f'<a href="#id_phone">{PHONE_INVALID}</a>' in summary
    assert '<a href="#id_first_name">' in summary and '<a href="#id_email">' in summary


def test_the_new_persons_email_and_name_are_not_marked_optional(client, organization, primary):
    html = client.get(reverse("contacts:role_assign", args=[organization.pk, "technical"])).content.decode()
    for label in ("Email address", "First name", "Last name"):
        assert f'{label} <span class="optional">' not in html
    assert 'Job title <span class="optional">(optional)</span>' in html
