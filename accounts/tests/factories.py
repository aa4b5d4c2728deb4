import factory
from django.contrib.auth import get_user_model

PASSWORD = "correct-horse-battery-staple"


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


class InvitedUserFactory(UserFactory):
    """A contact who has not set a password yet."""

    password = factory.LazyFunction(lambda: "!unusable")


class StaffUserFactory(UserFactory):
    is_staff = True
