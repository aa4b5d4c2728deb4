"""People and organizations for tests; an organization always comes with its Primary Contact."""

import factory
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from contacts import services
from contacts.models import AccreditationStatus, Organization, Role

PASSWORD = "correct-horse-battery-staple"


def totp_code(person, *, offset_steps: int = 0) -> str:
    """The code the person's authenticator app shows now (or offset_steps periods of 30 s later)."""
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    return f"{totp(device.bin_key, drift=offset_steps):06d}"


class UserFactory(factory.django.DjangoModelFactory):
    """A person who has set a password (PASSWORD)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    # Fixed, not Faker's: a random "Jane" or "Doe" would match the searches tests make.
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = factory.Sequence(lambda n: f"Quill{n}")
    credentials = "MD"
    job_title = "CME Coordinator"
    phone = factory.Sequence(lambda n: f"(916) 555-{n % 10000:04d}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def two_factor(obj, create, extracted, **kwargs):
        """CME staff come enrolled in two-factor sign-in, as they must be; two_factor=False: not yet.

        two_factor=True enrols a provider user too.
        """
        enrolled = obj.is_staff if extracted is None else extracted
        if create and enrolled:
            TOTPDevice.objects.create(user=obj, name="Authenticator app", confirmed=True)


class InvitedUserFactory(UserFactory):
    """A contact who has not set a password yet."""

    password = factory.LazyFunction(lambda: "!unusable")


class StaffUserFactory(UserFactory):
    """CME staff, enrolled in two-factor sign-in (see totp_code)."""

    is_staff = True


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
        return services.organization_create(primary=primary, by=None, **kwargs).organization


def provider_user(**fields):
    """A person who may sign in to the site: Staff at a new organization, with PASSWORD."""
    person = UserFactory(**fields)
    services.role_assign(organization=OrganizationFactory(), person=person, role=Role.STAFF, by=None)
    return person
