from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from simple_history.models import HistoricalRecords

from pars.addresses import email_canonical, email_lookup_key
from pars.validators import refuse_control_characters

EMAIL_TAKEN = "A person with this email address already exists."


class UserManager(BaseUserManager):
    """People by their canonical email address (pars.addresses), compared with plain equality."""

    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        return email_lookup_key(email or "")

    def get_by_natural_key(self, email):
        return self.get(email=email_lookup_key(email or ""))

    def for_address(self, address: str):
        """The person an address means, or None: a merged duplicate's address (an alias) means the kept person."""
        person = self.filter(email=email_lookup_key(address or "")).select_related("merged_into").first()
        return person.merged_into if person is not None and person.merged_into_id else person

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("A person needs an email address.")
        user = self.model(email=self.normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: a contact at one or more organizations, or CME staff.

    Identified by email, stored in its canonical form (pars.addresses), so unique
    whatever its case or spelling. A contact who has not set a password (an
    unusable one) cannot sign in yet.
    """

    email = models.EmailField("email address", max_length=254, unique=True, error_messages={"unique": EMAIL_TAKEN})
    first_name = models.CharField(max_length=150, blank=True, validators=[refuse_control_characters])
    last_name = models.CharField(max_length=150, blank=True, validators=[refuse_control_characters])
    credentials = models.CharField(
        max_length=100, blank=True, help_text='For example "MD, MPH".', validators=[refuse_control_characters]
    )
    job_title = models.CharField(max_length=150, blank=True, validators=[refuse_control_characters])
    phone = models.CharField(max_length=40, blank=True, validators=[refuse_control_characters])
    is_staff = models.BooleanField("CME staff", default=False, help_text="May sign in to the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_bouncing_since = models.DateTimeField(
        "email bouncing since",
        null=True,
        blank=True,
        editable=False,
        help_text="The mail provider reported a hard bounce; cleared when the address is corrected.",
    )
    session_version = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised to sign the person out of every session they have."
    )
    # A duplicate merged into another person (accounts.merging): the row stays, so history naming it
    # stays readable, its address stays theirs (an alias of the kept person), and it never signs in.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_people",
        editable=False,
        verbose_name="merged into",
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login", "session_version", "email_bouncing_since"])

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=EMAIL_TAKEN,
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | (Q(is_active=False) & ~Q(merged_into=F("pk"))),
                name="accounts_user_merged_is_inactive",
                violation_error_message="A person merged into another cannot be active, nor merged into themselves.",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        try:
            self.email = email_canonical(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None

    def save(self, *args, **kwargs):
        # Whoever writes the address (a form, a factory, a command) writes its canonical form.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "email" in update_fields:
            self.email = email_lookup_key(self.email)
        # A corrected address is no longer the one that bounced (one query, only while flagged).
        corrected = (
            self.email_bouncing_since
            and self.pk
            and type(self).objects.filter(pk=self.pk).exclude(email=self.email).exists()
        )
        if corrected:
            self.email_bouncing_since = None
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "email_bouncing_since"}
        super().save(*args, **kwargs)

    def get_session_auth_hash(self):
        """Django's check that a session still belongs to this person, also broken by a new session_version.

        The password is part of it as in Django's own, so changing the password ends every
        other session too (the view that changes it keeps the current one).
        """
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_version}",
            algorithm="sha256",
        ).hexdigest()

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.email

    @property
    def display_name(self):
        """Name with credentials, as a directory prints it: "Jane Doe, MD"."""
        name = self.get_full_name() or self.email
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def has_set_password(self):
        return self.has_usable_password()


class Session(AbstractBaseSession):
    """A browser's session (accounts.sessions), with the person signed in on it, if any.

    The column lets a signed-in request load its session and its person in one
    query instead of two. It is written from the session's own data each time the
    session is saved; a session whose column disagrees with its data (one saved
    before the column existed) is read the slow way, never trusted. Deleting a
    person deletes their sessions.
    """

    person = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"
        default_permissions = ()  # nobody manages sessions in the admin, so no group may be given them

    def __str__(self):
        # Never the key: whoever holds it is signed in (the admin lists these when a person is deleted).
        return f"a session of {self.person}" if self.person_id else "a session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore
