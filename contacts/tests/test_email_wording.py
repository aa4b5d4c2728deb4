"""What each email says, written for its reader: one greeting and sign-off, the role named, the hand-over told twice."""

import pytest
from django.conf import settings

from contacts import services
from contacts.models import ROLE_PURPOSES, Role
from contacts.tests.factories import InvitedUserFactory, OrganizationFactory, UserFactory
from pars.testing import run_email_worker

pytestmark = pytest.mark.django_db

SIGN_OFF = f"CME staff\n{settings.ACCREDITOR_NAME} ({settings.ACCREDITOR_SHORT_NAME})"


@pytest.fixture
def organization():
    return OrganizationFactory(
        name="Sacramento Valley Medical Society", primary=UserFactory(first_name="Jane", last_name="Doe")
    )


def test_invitation_names_the_role_and_what_it_asks(organization, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_add(
            organization=organization,
            email="ana@example.org",
            role=Role.TECHNICAL,
            by=organization.primary_contact,
            first_name="Ana",
            last_name="Ruiz",
        )
    [message] = run_email_worker()
    assert message.body.startswith("Hello Ana,\n")
    assert "Jane Doe added you as Technical Contact of Sacramento Valley Medical Society" in message.body
    assert f"What the role asks of you: {ROLE_PURPOSES[Role.TECHNICAL]}" in message.body
    assert SIGN_OFF in message.body
    html = message.alternatives[0][0]
    assert "Technical Contact" in html and settings.ACCREDITOR_NAME in html


def test_hand_over_tells_the_new_primary_the_role_and_the_previous_one_how_to_object(
    organization, mailoutbox, django_capture_on_commit_callbacks
):
    john = InvitedUserFactory(email="john@example.org", first_name="John", last_name="Roe")
    services.role_assign(organization=organization, person=john, role=Role.STAFF, by=None)
    jane = organization.primary_contact
    run_email_worker().clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.primary_contact_transfer(organization=organization, to=john, by=jane)

    to_john = next(m for m in run_email_worker() if m.to == [john.email] and m.subject.startswith("Primary Contact"))
    to_jane = next(m for m in run_email_worker() if m.to == [jane.email])
    assert to_john.body.startswith("Hello John,\n")
    assert "You are now the Primary Contact of Sacramento Valley Medical Society" in to_john.body
    assert "What the role asks of you" in to_john.body
    assert "Jane Doe made the change" in to_john.body
    assert to_jane.body.startswith("Hello Jane,\n")
    assert "John Roe (john@example.org) is now the Primary Contact" in to_jane.body
    assert "You made the change yourself" in to_jane.body
    assert f"If you did not expect this change, or it is a mistake, tell CME staff at {settings.SUPPORT_EMAIL}" in (
        to_jane.body
    )
    assert "What the role asks of you" not in to_jane.body
    assert SIGN_OFF in to_john.body and SIGN_OFF in to_jane.body
