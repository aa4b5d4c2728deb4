"""The load test's write is a write: its roster-edit POST is a form the page accepts, as the site changes."""

import pytest

from bench.loadtest import pages
from contacts import services
from contacts.models import Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_the_roster_edit_the_load_test_posts_is_accepted_and_saved(client):
    organization = OrganizationFactory()
    billing = InvitedUserFactory(first_name="Bill", last_name="Edited")
    services.role_assign(organization=organization, person=billing, role=Role.BILLING, by=None)
    ids = {"three": organization.pk, "edits": organization.pk, "forty": organization.pk, "deep": organization.pk, "deep_oldest": "",
           "billing": billing.pk, "billing_email": billing.email, "provider": organization.pk}  # fmt: skip
    [edit] = [page for page in pages(ids, me="", admin="") if page.get("method") == "POST"]
    client.force_login(organization.primary_contact)
    response = client.post(
        edit["path"], data=edit["body"] + "007", content_type="application/x-www-form-urlencoded"
    )  # as wrk sends it: a counter after the phone
    assert response.status_code == edit["expect"] == 302
    billing.refresh_from_db()
    assert billing.phone == "(916) 555-1007" and billing.email == ids["billing_email"]
