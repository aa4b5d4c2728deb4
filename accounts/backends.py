from django.contrib.auth.backends import ModelBackend

from contacts.models import ACCESS_ROLES
from pars.addresses import email_lookup_key


class EmailBackend(ModelBackend):
    """Sign-in by email address, whatever its case, for people who may sign in.

    The person is found through get_by_natural_key, which matches the email's
    canonical form (pars.addresses); an unusable password never matches, so invited contacts
    who have not set a password cannot sign in. Beyond an active account, a
    person needs a role that grants access somewhere (every role but Billing
    and CEO), or to be CME staff: a former contact cannot sign in at all.
    """

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        if user.is_staff:
            return True
        return user.contact_roles.filter(role__in=ACCESS_ROLES).exists()


# django-axes stores the address in a column of 255 characters; PostgreSQL refuses a longer one.
THROTTLE_USERNAME_MAX_LENGTH = 255


def throttle_username(request, credentials=None) -> str:
    """The address django-axes counts failed sign-ins against: the one sign-in looks the account up by
    (its canonical form, so every spelling of one mailbox shares one allowance), at most 255 characters."""
    source = credentials or getattr(request, "POST", {})
    username = source.get("username")
    return email_lookup_key(username or "")[:THROTTLE_USERNAME_MAX_LENGTH]
