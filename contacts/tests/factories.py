import factory

from accounts.tests.factories import UserFactory
from contacts import services
from contacts.models import AccreditationStatus, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization, always with its Primary Contact (pass primary=... to choose)."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Sacramento Medical Education Institute {n}")
    provider_id = factory.Sequence(lambda n: f"CA{n:05d}")
    accreditor = "CMA"
    accreditation_status = AccreditationStatus.ACCREDITATION
    street_address = "1201 K Street"
    city = "Sacramento"
    state = "CA"
    zip_code = "95814"
    phone = "(916) 555-0100"
    website = "https://example.org"
    primary = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, primary, **kwargs):
        return services.organization_create(primary=primary, by=None, **kwargs)


def provider_user(**fields):
    """A person who may sign in to the site: Staff at a new organization, with factories.PASSWORD."""
    from accounts.tests.factories import UserFactory
    from contacts import services
    from contacts.models import Role

    person = UserFactory(**fields)
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person
