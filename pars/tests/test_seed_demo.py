"""manage.py seed_demo: realistic demo data through the services, idempotent, with the sign-in details printed."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.history import history_page
from contacts.models import ContactRole, EmailLog, Organization, Role
from pars.management.commands.seed_demo import DEMO_PASSWORD, NEEDS_DEBUG, PAST_CONFIRMATIONS, PEOPLE
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

CREATED = "created the organization"

User = get_user_model()


@pytest.fixture
def seed(settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True

    def run():
        out = StringIO()
        # The command's transaction commits, and its invitations go out.
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", stdout=out)
        return out.getvalue()

    return run


def row_counts():
    return {model._meta.label: model._default_manager.count() for model in apps.get_models(include_auto_created=True)}


def test_first_run_sends_and_logs_the_invitations_of_invited_contacts(seed, mailoutbox):
    from contacts.models import EmailLog

    seed()
    invited = EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION).values_list("to_email", flat=True)
    logged = sorted(EmailLog.objects.values_list("to_email", flat=True))  # invitations and role notices
    assert invited and sorted(message.to[0] for message in run_email_worker()) == logged


def test_second_run_changes_nothing_and_sends_nothing(seed, mailoutbox):
    seed()
    run_email_worker().clear()
    before = row_counts()
    output = seed()
    assert row_counts() == before
    assert run_email_worker() == []
    assert "nothing changed" in output


def test_first_run_creates_rows_in_every_table_it_owns(seed):
    seed()
    counts = row_counts()
    assert counts["contacts.Organization"] == 6
    assert counts["contacts.ContactRole"] > 6
    assert counts["contacts.HistoricalContactRole"] >= counts["contacts.ContactRole"]


def test_both_runs_print_the_sign_in_details(seed):
    for output in (seed(), seed()):
        assert "Demo sign-in details" in output
        assert "/accounts/sign-in/" in output
        assert "admin@cma.example.org" in output
        assert f"Demo sign-in details: every password is {DEMO_PASSWORD}" in output
        assert (
            "  maria.alvarez@svms.example.org\n"
            "      Central Valley Family Physicians Association: Staff\n"
            "      Pacific Heights University School of Medicine, Office of CME: Staff\n"
            "      Sacramento Valley Medical Society: Primary Contact\n"
        ) in output
        assert "tom.nguyen@svms.example.org" in output and "has not set a password" in output


def test_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match=NEEDS_DEBUG):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def signs_in(client, email):
    """Whether the sign-in page lets this email in with the demo password."""
    client.logout()
    response = client.post(reverse("accounts:login"), {"username": email, "password": DEMO_PASSWORD})
    return response.status_code == 302


def test_demo_provider_users_sign_in_with_the_printed_password_and_see_their_organizations(seed, client):
    seed()
    maria = User.objects.get(email=PEOPLE["maria"]["email"])
    assert sorted(Organization.objects.for_user(maria).values_list("name", flat=True)) == [
        "Central Valley Family Physicians Association",
        "Pacific Heights University School of Medicine, Office of CME",
        "Sacramento Valley Medical Society",
    ]
    for details in PEOPLE.values():
        if details["password"]:
            assert signs_in(client, details["email"]), details["email"]


def test_demo_cme_staff_sign_in_to_the_admin(seed, client):
    seed()
    for email in ("admin@cma.example.org", "reviewer@cma.example.org", "editor@cma.example.org"):
        client.logout()
        response = client.post(reverse("admin:login"), {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email


def test_billing_ceo_and_invited_contacts_cannot_sign_in(seed, client):
    seed()
    for key in ("robert", "linda", "tom", "grace"):
        person = User.objects.get(email=PEOPLE[key]["email"])
        assert not person.has_usable_password()
        assert not signs_in(client, person.email)


def test_only_the_invited_contacts_get_an_invitation(seed):
    seed()
    invited = EmailLog.objects.filter(kind=EmailLog.Kind.INVITATION).values_list("to_email", flat=True)
    assert sorted(invited) == [PEOPLE["grace"]["email"], PEOPLE["tom"]["email"]]


def test_every_demo_organization_has_exactly_one_primary(seed):
    seed()
    for organization in Organization.objects.all():
        assert organization.roles.filter(role=Role.PRIMARY).count() == 1, organization


def test_rosters_show_both_fallbacks_and_a_full_roster(seed):
    seed()
    organizations = list(Organization.objects.with_roster())
    invoice_fallbacks = {o.provider_id for o in organizations if o.invoice_recipient()[1]}
    published_fallbacks = {o.provider_id for o in organizations if o.published_contact()[1]}
    full = {o.provider_id for o in organizations if not o.unfilled_roles()}
    assert invoice_fallbacks and published_fallbacks
    assert invoice_fallbacks != {o.provider_id for o in organizations}
    assert published_fallbacks != {o.provider_id for o in organizations}
    assert full == {"CA00101"}


def test_confirmations_are_recent_stale_and_never(seed):
    seed()
    organizations = {o.provider_id: o for o in Organization.objects.all()}
    assert organizations["CA00101"].contacts_confirmed_at is not None
    assert not organizations["CA00101"].contacts_are_stale
    assert organizations["CA00214"].contacts_are_stale
    assert organizations["CA00214"].contacts_confirmed_at is not None
    assert organizations["CA00377"].contacts_confirmed_at is None
    assert Organization.objects.stale().count() == 2


def test_people_hold_several_roles_and_roles_at_several_organizations(seed):
    seed()
    david = User.objects.get(email=PEOPLE["david"]["email"])
    at_one = ContactRole.objects.filter(person=david, organization__provider_id="CA00101")
    assert set(at_one.values_list("role", flat=True)) == {Role.WEBSITE, Role.TECHNICAL}
    assert ContactRole.objects.filter(person=david).values("organization").distinct().count() == 2


def test_cme_staff_are_in_their_groups(seed):
    for name in ("CME reviewers", "CME editors"):
        Group.objects.get_or_create(name=name)
    seed()
    reviewer = User.objects.get(email="reviewer@cma.example.org")
    editor = User.objects.get(email="editor@cma.example.org")
    assert reviewer.is_staff and editor.is_staff and not reviewer.is_superuser and not editor.is_superuser
    assert list(reviewer.groups.values_list("name", flat=True)) == ["CME reviewers"]
    assert list(editor.groups.values_list("name", flat=True)) == ["CME editors"]
    assert User.objects.get(email="admin@cma.example.org").is_superuser


def test_seed_still_runs_without_the_staff_groups(seed):
    Group.objects.filter(name__in=["CME reviewers", "CME editors"]).delete()
    seed()
    assert not User.objects.get(email="reviewer@cma.example.org").groups.exists()


def test_roster_changes_are_recorded_as_made_by_the_cme_editor(seed):
    seed()
    editor = User.objects.get(email="editor@cma.example.org")
    assert set(ContactRole.history.values_list("history_user", flat=True)) == {editor.pk}


def test_rerun_keeps_a_role_holder_a_demo_user_replaced(seed):
    seed()
    organization = Organization.objects.get(provider_id="CA00101")
    kevin = User.objects.get(email=PEOPLE["kevin"]["email"])
    services.role_replace(organization=organization, role=Role.BILLING, to=kevin, by=kevin)
    seed()
    assert organization.roles.get(role=Role.BILLING).person == kevin


def test_the_sign_in_table_fits_an_80_column_terminal_and_says_where_the_emails_go(seed, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = "db/emails"
    output = seed()
    assert max(len(line) for line in output.splitlines()) <= 80
    ending = " ".join(output.split("Contacts who cannot sign in:")[1].split())
    assert ending.endswith(
        "Emails: the worker sends every email (the invitations above too) into db/emails/, a file per email; "
        f"CME staff see each one in the admin's email log: {settings.SITE_URL}/admin/contacts/emaillog/"
    )


def test_demo_cme_staff_reach_the_admin_with_the_printed_two_factor_secret(seed, client):
    import re

    from django_otp.oath import totp

    from accounts.services import two_factor_key_from_text

    output = seed()
    assert "oathtool --totp -b SECRET" in output
    assert all(len(line) <= 80 for line in output.splitlines() if "secret" in line or "oathtool" in line)
    secrets = re.findall(r"^ +two-factor secret: ([A-Z2-7]{32})$", output, flags=re.MULTILINE)
    assert len(secrets) == 3
    assert re.findall(r"two-factor secret: (\w+)", seed()) == secrets  # a second run keeps them

    client.post(reverse("admin:login"), {"username": "admin@cma.example.org", "password": DEMO_PASSWORD})
    assert client.get(reverse("admin:index")).url.startswith(reverse("accounts:two_factor_verify"))
    code = f"{totp(bytes.fromhex(two_factor_key_from_text(secrets[0]))):06d}"
    client.post(reverse("accounts:two_factor_verify"), {"code": code})
    assert client.get(reverse("admin:index")).status_code == 200


def full_history(organization) -> list[dict]:
    """Every entry of the organization's History tab, newest first, across its pages."""
    entries, page = [], 1
    while True:
        shown, has_next = history_page(organization, page=page, per_page=25)
        entries += shown
        if not has_next:
            return entries
        page += 1


def test_each_organization_history_begins_with_its_one_creation(seed):
    seed()
    for organization in Organization.objects.all():
        entries = full_history(organization)
        creations = [entry for entry in entries if entry["action"] == CREATED]
        assert len(creations) == 1, f"{organization}: {len(creations)} creation entries"
        assert entries[-1]["action"] == CREATED, f"{organization}: the oldest entry is {entries[-1]['action']!r}"
        assert all(entry["when"] > creations[0]["when"] for entry in entries[:-1]), organization


def test_a_backdated_confirmation_comes_after_the_creation_in_history(seed):
    seed()
    pacific_heights = Organization.objects.get(provider_id="CA00214")
    entries = full_history(pacific_heights)
    confirmed = [entry for entry in entries if entry["action"] == "confirmed the contacts are current"]
    assert len(confirmed) == 1 + len(PAST_CONFIRMATIONS["CA00214"])  # this year's and the earlier years'
    assert confirmed[0]["when"] == pacific_heights.contacts_confirmed_at
    assert entries[-1]["action"] == CREATED and entries[-1]["when"] < confirmed[-1]["when"]


def test_demo_shows_a_new_primary_a_bouncing_billing_address_a_missing_required_role_and_three_years(seed):
    from contacts.models import Confirmation
    from contacts.reporting import report

    seed()
    not_welcomed = Organization.objects.primary_not_welcomed()
    assert [organization.provider_id for organization in not_welcomed] == ["CA00518"]
    assert Organization.objects.get(provider_id="CA00518").primary_contact.email == PEOPLE["nadia"]["email"]
    svms = Organization.objects.with_roster().get(provider_id="CA00101")
    assert svms.holder(Role.BILLING).email_bouncing_since is not None
    assert svms.invoice_recipient().reason == "Billing Contact's email bounces"
    assert "CA00214" in {organization.provider_id for organization in Organization.objects.missing_required()}
    this_year = report(timezone.localdate().year)
    years = {confirmation.confirmed_at.year for confirmation in Confirmation.objects.all()}
    assert len(years) >= 3
    assert all(share.total == 6 for share in this_year.shares)
    assert any(share.complete for share in this_year.shares)


def test_second_run_adds_no_confirmation_and_no_second_hand_over(seed):
    from contacts.models import Confirmation

    seed()
    counts = (Confirmation.objects.count(), EmailLog.objects.count())
    seed()
    assert (Confirmation.objects.count(), EmailLog.objects.count()) == counts
