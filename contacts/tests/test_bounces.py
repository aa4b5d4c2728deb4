"""Bounces end to end: Postmark's tracking webhook (through django-anymail) marks the address, the pages say so,
reminders and notices skip it, invoices move on, and correcting the address clears it."""

import base64
import json

import pytest
from django.conf import settings
from django.urls import reverse

from contacts import exports, services
from contacts.emails import BOUNCING
from contacts.models import EmailLog, Organization, Role
from contacts.reminders import SkipReason, reminders_send
from contacts.tests.factories import OrganizationFactory, UserFactory
from contacts.tests.test_admin_groups import EDITORS, REVIEWERS, cme_staff
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

WEBHOOK = "/anymail/postmark/tracking/"


def postmark_bounce(email, bounce_type="HardBounce"):
    """Postmark's documented bounce webhook payload (postmarkapp.com/developer/webhooks/bounce-webhook)."""
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": 1 if bounce_type == "HardBounce" else 4096,
        "Name": "Hard bounce",
        "Tag": "Test",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"a_key": "a_value"},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "Test bounce details",
        "Email": email,
        "From": "no-reply@cmadocs.org",
        "BouncedAt": "2026-11-20T13:34:12Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Test subject",
        "Content": "<Full dump of bounce>",
    }


def post(client, payload, secret=None):
    secret = settings.ANYMAIL["WEBHOOK_SECRET"] if secret is None else secret
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()} if secret else {}
    return client.post(WEBHOOK, json.dumps(payload), content_type="application/json", **headers)


@pytest.fixture
def robert():
    return UserFactory(first_name="Robert", last_name="Kim", email="robert.kim@example.org")


@pytest.fixture
def organization(robert):
    organization = OrganizationFactory(name="Kern Medical Education")
    services.role_assign(organization=organization, person=robert, role=Role.BILLING, by=None)
    return organization


def test_an_authenticated_hard_bounce_marks_the_person(client, robert):
    response = post(client, postmark_bounce("Robert.Kim@Example.org"))
    assert response.status_code == 200
    robert.refresh_from_db()
    assert robert.email_bouncing_since.isoformat() == "2026-11-20T13:34:12+00:00"


def test_an_unauthenticated_or_wrongly_authenticated_report_is_refused_and_marks_nobody(client, robert):
    assert post(client, postmark_bounce(robert.email), secret="").status_code == 400
    assert post(client, postmark_bounce(robert.email), secret="bounce-user:wrong").status_code == 400
    robert.refresh_from_db()
    assert robert.email_bouncing_since is None


def test_a_soft_bounce_marks_nobody(client, robert):
    assert post(client, postmark_bounce(robert.email, "SoftBounce")).status_code == 200
    robert.refresh_from_db()
    assert robert.email_bouncing_since is None


def test_profile_tab_warns_that_email_to_the_person_bounces(client, organization, robert):
    post(client, postmark_bounce(robert.email))
    client.force_login(organization.primary_contact)
    html = client.get(organization.get_absolute_url()).content.decode()
    assert "Email to Robert Kim bounces (since November 20, 2026): correct the address." in html


def test_admin_lists_and_filters_bouncing_addresses(client, organization, robert):
    post(client, postmark_bounce(robert.email))
    client.force_login(cme_staff(REVIEWERS))
    url = reverse("admin:accounts_user_changelist")
    assert "Bouncing since Nov 20, 2026" in client.get(url).content.decode()
    listed = client.get(url, {"bouncing": "yes"}).context["cl"].result_list
    assert [person.email for person in listed] == [robert.email]


def test_invoice_recipient_falls_back_past_bouncing_addresses_and_the_export_says_which(client, organization, robert):
    ceo = UserFactory(first_name="Carla", last_name="Exec")
    services.role_assign(organization=organization, person=ceo, role=Role.CEO, by=None)
    assert organization.invoice_recipient() == (robert, False)
    post(client, postmark_bounce(robert.email))
    organization = Organization.objects.with_roster().get(pk=organization.pk)
    assert organization.invoice_recipient() == (organization.primary_contact, True)
    [row] = exports.invoice_rows(Organization.objects.filter(pk=organization.pk))
    assert row[3] == "Primary Contact (Billing Contact's email bounces)"
    post(client, postmark_bounce(organization.primary_contact.email))
    organization = Organization.objects.with_roster().get(pk=organization.pk)
    [row] = exports.invoice_rows(Organization.objects.filter(pk=organization.pk))
    assert row[3] == "CEO Contact (Billing Contact's email bounces; Primary Contact's email bounces)"
    assert row[8] == ceo.email


def test_reminder_and_notices_skip_a_bouncing_address_and_log_why(client, organization, robert):
    primary = organization.primary_contact
    post(client, postmark_bounce(primary.email))
    post(client, postmark_bounce(robert.email))
    result = reminders_send()
    assert result.skipped_by_reason() == {SkipReason.BOUNCING: 1}
    robert.refresh_from_db()
    services.person_update(person=robert, by=cme_staff(EDITORS), job_title="Controller")
    assert run_email_worker() == []
    logs = EmailLog.objects.filter(status=EmailLog.Status.SUPPRESSED).order_by("pk")
    assert [(log.kind, log.to_email) for log in logs] == [
        (EmailLog.Kind.REMINDER, primary.email),
        (EmailLog.Kind.DETAILS_CHANGED, robert.email),
    ]
    assert all(log.error == BOUNCING.format(since="2026-11-20") for log in logs)


def test_correcting_the_address_clears_the_flag(client, organization, robert):
    post(client, postmark_bounce(robert.email))
    robert.refresh_from_db()
    robert.email = "robert.kim@new.example.org"
    robert.save()
    robert.refresh_from_db()
    assert robert.email_bouncing_since is None
    organization = Organization.objects.with_roster().get(pk=organization.pk)
    assert organization.invoice_recipient() == (robert, False)


def test_correcting_the_address_in_the_admin_clears_the_flag(client, robert):
    post(client, postmark_bounce(robert.email))
    client.force_login(cme_staff(EDITORS))
    url = reverse("admin:accounts_user_change", args=[robert.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(email="robert.kim@new.example.org", roles_held="")
    data = {k: v for k, v in data.items() if not isinstance(v, list | tuple)}
    client.post(url, data)
    robert.refresh_from_db()
    assert robert.email == "robert.kim@new.example.org"
    assert robert.email_bouncing_since is None
