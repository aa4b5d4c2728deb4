from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from contacts.models import ACCESS_ROLES, ContactRole
from pars.addresses import email_lookup_key


def _holds_an_access_role() -> RawSQL:
    """EXISTS (a role that grants access) for the person of the outer query.

    Written out, not as Exists(): this runs on every signed-in request, and
    building and compiling the ORM's subquery added about 0.5 ms of CPU to each
    (measured: 1.1-1.5 ms per lookup with Exists, 0.8-1.0 ms with this, 0.65 ms
    for the person alone).
    """
    roles = ContactRole._meta.db_table
    people = get_user_model()._meta.db_table
    placeholders = ", ".join(["%s"] * len(ACCESS_ROLES))
    return RawSQL(
        f'EXISTS (SELECT 1 FROM "{roles}" WHERE "{roles}"."person_id" = "{people}"."id"'
        f' AND "{roles}"."role" IN ({placeholders}))',
        [str(role) for role in ACCESS_ROLES],
        output_field=BooleanField(),
    )


class EmailBackend(ModelBackend):
    """Sign-in by email address, whatever its case, for people who may sign in.

    The person is found through get_by_natural_key, which matches the email's
    canonical form (pars.addresses); an unusable password never matches, so invited contacts
    who have not set a password cannot sign in. Beyond an active account, a
    person needs a role that grants access somewhere (every role but Billing
    and CEO), or to be CME staff: a former contact cannot sign in at all.

    The same rule holds on every later request, so a person removed from their
    last such role is signed out at once: get_user loads the signed-in person
    and answers the role question in one query, not two.
    """

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        if user.is_staff:
            return True
        may_sign_in = getattr(user, "may_sign_in", None)
        if may_sign_in is not None:
            return may_sign_in
        return user.contact_roles.filter(role__in=ACCESS_ROLES).exists()

    def get_user(self, user_id):
        people = get_user_model()._default_manager.annotate(may_sign_in=_holds_an_access_role())
        user = people.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


# django-axes stores the address in a column of 255 characters; PostgreSQL refuses a longer one.
THROTTLE_USERNAME_MAX_LENGTH = 255


def throttle_username(request, credentials=None) -> str:
    """The address django-axes counts failed sign-ins against: the one sign-in looks the account up by
    (its canonical form, so every spelling of one mailbox shares one allowance), at most 255 characters."""
    source = credentials or getattr(request, "POST", {})
    username = source.get("username")
    return email_lookup_key(username or "")[:THROTTLE_USERNAME_MAX_LENGTH]
