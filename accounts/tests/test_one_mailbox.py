"""One mailbox is one person: every spelling of an address means the same account, everywhere.

Regression tests for issue 12, case 4: "s\\u0131ssi" (a dotless i) signed in while
"sissi" was paused; "fuzz2@exam\\u00adple.org" (a soft hyphen) became a second person;
on SQLite "dav\\u0131d.chen@" became a second David Chen.
"""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from accounts.forms import NO_ACCESS
from accounts.tests.factories import PASSWORD, UserFactory
from contacts import services
from contacts.models import EmailLog, Role
from contacts.tests.factories import OrganizationFactory
from contacts.tests.test_admin_groups import EDITORS, cme_staff
from pars.addresses import EMAIL_INVISIBLE_CHARACTER
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db
User = get_user_model()
LOGIN = reverse("accounts:login")


def canonicalize_migration():
    from importlib import import_module

    return import_module("accounts.migrations.0004_canonical_emails")


def sign_in(client, email, password=PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password})


@pytest.fixture
def sissi():
    person = UserFactory(email="sissi@example.org")
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person


def test_a_paused_address_stays_paused_when_typed_with_a_dotless_i(client, sissi):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "sissi@example.org", "guess")
    response = sign_in(client, "s\u0131ssi@example.org")
    assert response.status_code == 429
    assert client.session.get("_auth_user_id") is None


def test_the_dotless_i_spelling_signs_in_to_the_one_account_it_means(client, sissi):
    assert sign_in(client, "S\u0131ssi@Example.org").status_code == 302
    assert client.session["_auth_user_id"] == str(sissi.pk)


@pytest.fixture
def primary(client):
    organization = OrganizationFactory()
    client.force_login(organization.primary_contact)
    return organization


def add_contact(client, organization, email):
    data = {"email": email, "first_name": "David", "last_name": "Chen", "role": "staff", "confirm": "1"}
    return client.post(reverse("contacts:contact_add", args=[organization.pk]), data)


def test_a_soft_hyphen_in_the_domain_is_refused_with_a_clear_message_and_the_input_kept(client, primary):
    typed = "fuzz2@exam\u00adple.org"
    people, emails = User.objects.count(), EmailLog.objects.count()
    response = add_contact(client, primary, typed)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(EMAIL_INVISIBLE_CHARACTER.format(name="soft hyphen")) in html
    assert f'value="{typed}"' in html
    assert User.objects.count() == people
    assert EmailLog.objects.count() == emails


def test_a_dotless_i_spelling_of_a_known_email_adds_the_role_to_the_known_person(client, primary):
    david = UserFactory(email="david.chen@example.org", first_name="David", last_name="Chen")
    response = add_contact(client, primary, "dav\u0131d.chen@example.org")
    assert response.status_code == 302
    assert User.objects.filter(first_name="David", last_name="Chen").count() == 1
    assert primary.holders(Role.STAFF) == [david]


def test_password_reset_in_another_spelling_reaches_the_one_person(client, sissi, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": "S\u0131SSI@EXAMPLE.ORG"})
    assert [message.to for message in run_email_worker()] == [["sissi@example.org"]]


def test_admin_person_search_finds_the_canonical_address_from_any_spelling(client, sissi):
    client.force_login(cme_staff(EDITORS))
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": "S\u0131ssi@Example.ORG"})
    assert list(response.context["cl"].result_list) == [sissi]


def test_migration_canonicalizes_addresses_and_reports_collisions_keeping_both(capsys):
    kept = UserFactory(email="sissi@example.org")
    colliding = UserFactory(email="other@example.org")
    fixed = UserFactory(email="placeholder@example.org")
    # Rows as an older version stored them, written past save()'s canonicalization.
    User.objects.filter(pk=colliding.pk).update(email="s\u0131ssi@example.org")
    User.objects.filter(pk=fixed.pk).update(email="Fixed.Me@EXAMPLE.org")
    invisible = UserFactory(email="x@example.org")
    User.objects.filter(pk=invisible.pk).update(email="fuzz2@exam\u00adple.org")

    canonicalize_migration().canonicalize(apps, None)

    emails = dict(User.objects.values_list("pk", "email"))
    assert emails[fixed.pk] == "fixed.me@example.org"
    assert emails[kept.pk] == "sissi@example.org"
    assert emails[colliding.pk] == "s\u0131ssi@example.org"
    assert emails[invisible.pk] == "fuzz2@exam\u00adple.org"
    out = capsys.readouterr().out
    assert f"people {kept.pk} <'sissi@example.org'>, {colliding.pk} <'s\u0131ssi@example.org'>" in out
    assert f"person {invisible.pk} <'fuzz2@exam\\xadple.org'> kept as it was" in out


def test_admin_organization_search_finds_a_contacts_address_from_any_spelling(client, sissi):
    organization = sissi.contact_roles.get().organization
    client.force_login(cme_staff(EDITORS))
    response = client.get(reverse("admin:contacts_organization_changelist"), {"q": "S\u0131SSI@example.org"})
    assert list(response.context["cl"].result_list) == [organization]


def test_the_check_step_recognises_a_dotless_i_spelling_of_a_known_email(client, primary):
    UserFactory(email="david.chen@example.org", first_name="David", last_name="Chen")
    preview = services.contact_add_preview(organization=primary, email="dav\u0131d.chen@example.org", role=Role.STAFF)
    assert preview.person is not None and preview.person.email == "david.chen@example.org"


def test_a_former_contact_is_told_they_have_no_access_in_any_spelling_of_their_address(client):
    former = UserFactory(email="sissi@example.org")
    role = services.role_assign(organization=OrganizationFactory(), person=former, role=Role.STAFF, by=None)
    services.role_remove(contact_role=role.contact_role, by=None)
    response = sign_in(client, "S\u0131ssi@Example.org")
    assert escape(NO_ACCESS.format(support=settings.SUPPORT_EMAIL)) in response.content.decode()
