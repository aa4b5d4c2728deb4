"""Checks the public directory's page and its open data (CSV and JSON) share, so that they hold to one rule.

What may be published: of a provider whose seven roles are all held, only the
Website Contact's name (with credentials), phone and email appear; nobody else's
name, email, phone or job title, and not the Website Contact's job title either.

Which searches are corrected: the page shows the message beside the field, the
downloads refuse the search (400) with the same message.
"""

from django.core.validators import ProhibitNullCharactersValidator

from contacts import services
from contacts.models import Role
from contacts.public_forms import QUERY_TOO_LONG, UNKNOWN_ACCREDITOR, UNKNOWN_STATUS
from contacts.tests.factories import OrganizationFactory, UserFactory


def full_roster_organization():
    """A provider whose every role is held, each by someone with recognisable details: (organization, people)."""
    people = {
        role: UserFactory(
            first_name=f"{label}first",
            last_name=f"{label}last",
            email=f"{label}@private.example",
            phone=f"(916) 555-{index:04d}",
            job_title=f"{label} job title",
            credentials="MD, MPH" if role == Role.WEBSITE else "RN",
        )
        for index, (role, label) in enumerate(
            [
                (Role.PRIMARY, "primary"),
                (Role.BILLING, "billing"),
                (Role.CEO, "ceo"),
                (Role.STAFF, "staff"),
                (Role.WEBSITE, "website"),
                (Role.TECHNICAL, "technical"),
                (Role.MEDICAL_DIRECTOR, "medicaldirector"),
            ],
            start=1,
        )
    }
    organization = OrganizationFactory(name="Full Roster Institute", primary=people[Role.PRIMARY])
    for role, holder in people.items():
        if role != Role.PRIMARY:
            services.role_assign(organization=organization, person=holder, role=role, by=None)
    return organization, people


def assert_publishes_only_website_contact(text: str, people) -> None:
    """The check: `text` (a page, a CSV or a JSON download) shows the Website Contact and nobody else."""
    website = people[Role.WEBSITE]
    assert "websitefirst websitelast, MD, MPH" in text
    assert website.phone in text
    assert website.email in text
    assert website.job_title not in text
    for role, holder in people.items():
        if role == Role.WEBSITE:
            continue
        for private in (holder.first_name, holder.last_name, holder.email, holder.phone, holder.job_title):
            assert private not in text, f"{role.label}'s {private!r} is published"


def counted_providers(count: int) -> None:
    """`count` listed providers named "Counted Provider NN" with three accreditors, every other one with a
    Website Contact, each with a Staff member (who must not be read): for pinning query counts."""
    for n in range(count):
        organization = OrganizationFactory(name=f"Counted Provider {n:02d}", accreditor=f"Board {n % 3}")
        if n % 2:
            services.role_assign(organization=organization, person=UserFactory(), role=Role.WEBSITE, by=None)
        services.role_assign(organization=organization, person=UserFactory(), role=Role.STAFF, by=None)


# (query parameters, the message the search form gives)
BAD_SEARCHES = [
    ({"status": "nonaccreditation"}, UNKNOWN_STATUS),
    ({"status": "bogus"}, UNKNOWN_STATUS),
    ({"accreditor": "Nobody"}, UNKNOWN_ACCREDITOR),
    ({"q": "x" * 101}, QUERY_TOO_LONG % {"limit_value": 100}),
    ({"q": "nul\x00byte"}, str(ProhibitNullCharactersValidator.message)),
]
