import unicodedata
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from pars.validators import refuse_control_characters


class Role(models.TextChoices):
    PRIMARY = "primary", "Primary Contact"
    BILLING = "billing", "Billing Contact"
    CEO = "ceo", "CEO Contact"
    STAFF = "staff", "Staff"
    WEBSITE = "website", "Website Contact"
    TECHNICAL = "technical", "Technical Contact"
    MEDICAL_DIRECTOR = "medical_director", "Medical Director"


# Every role but Staff has at most one holder per organization.
SINGULAR_ROLES = [role for role in Role if role != Role.STAFF]
# Billing and CEO contacts receive mail but never sign in through these roles.
NO_ACCESS_ROLES = [Role.BILLING, Role.CEO]
ACCESS_ROLES = [role for role in Role if role not in NO_ACCESS_ROLES]

ROLE_PURPOSES = {
    Role.PRIMARY: "Receives official communications and newsletters; first point of contact for accreditation questions.",
    Role.BILLING: "Receives invoices. When unset, invoices go to the Primary Contact.",
    Role.CEO: "The executive ultimately responsible for the accredited CME program.",
    Role.STAFF: "Anyone the organization wants to have access to its records.",
    Role.WEBSITE: "Published in the public directory. When unset, the Primary Contact is published.",
    Role.TECHNICAL: "Responsible for the information systems and technical updates.",
    Role.MEDICAL_DIRECTOR: "Medical leadership; oversees strategic operations.",
}


class AccreditationStatus(models.TextChoices):
    PROVISIONAL = "provisional", "Provisional Accreditation"
    ACCREDITATION = "accreditation", "Accreditation"
    COMMENDATION = "commendation", "Accreditation with Commendation"
    PROBATION = "probation", "Probation"
    NONACCREDITATION = "nonaccreditation", "Nonaccreditation"


# Statuses under which a provider is accredited and may appear in the directory.
ACCREDITED_STATUSES = [
    AccreditationStatus.PROVISIONAL,
    AccreditationStatus.ACCREDITATION,
    AccreditationStatus.COMMENDATION,
    AccreditationStatus.PROBATION,
]


def search_normalize(text: str) -> str:
    """Lower case without accents: "Café  Médical" -> "cafe medical"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def stale_before():
    """Confirmations older than this are stale."""
    return timezone.now() - timedelta(days=settings.CONTACTS_CONFIRM_PERIOD_DAYS)


# A Primary Contact is "new" (in CME staff's welcome queue) for this many days after taking the role.
NEW_PRIMARY_DAYS = 90


class _Recipient(NamedTuple):
    person: object
    is_fallback: bool


class InvoiceRecipient(_Recipient):
    """(person, is_fallback), the fallback's reason in words ("" for the Billing Contact) and the role used."""

    def __new__(cls, person, reason: str = "", role=None):
        recipient = super().__new__(cls, person, bool(reason))
        recipient.reason, recipient.role = reason, role
        return recipient


def required_roles() -> list[Role]:
    """The roles each organization must fill besides the Primary Contact (CONTACTS_REQUIRED_ROLES)."""
    return [Role(role) for role in settings.CONTACTS_REQUIRED_ROLES if role != Role.PRIMARY]


def _lacks(role) -> Q:
    return ~Q(pk__in=ContactRole.objects.filter(role=role).values("organization"))


def roster_prefetch() -> models.Prefetch:
    """An organization's roles and their holders, by the holder's name, in one query."""
    return models.Prefetch(
        "roles",
        queryset=ContactRole.objects.select_related("person").order_by("person__last_name", "person__first_name", "pk"),
    )


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user):
        """The organizations this person may see on the site.

        CME staff are not scoped here: they review organizations in the admin.
        A person is affiliated with an organization while they hold a role
        there that grants access (every role but Billing and CEO).
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(pk__in=ContactRole.objects.filter(person=user, role__in=ACCESS_ROLES).values("organization"))

    def with_roster(self):
        """Prefetch each organization's roles and their holders in one query."""
        return self.prefetch_related(roster_prefetch())

    def stale(self):
        return self.filter(Q(contacts_confirmed_at__isnull=True) | Q(contacts_confirmed_at__lt=stale_before()))

    def missing_required(self):
        """Organizations with at least one required role unfilled."""
        conditions = [_lacks(role) for role in required_roles()]
        if not conditions:
            return self.none()
        condition = conditions[0]
        for other in conditions[1:]:
            condition |= other
        return self.filter(condition)

    def complete(self):
        """Every required role filled and the contacts confirmed within the period."""
        return self.exclude(pk__in=self.missing_required().values("pk")).exclude(pk__in=self.stale().values("pk"))

    def incomplete(self):
        return self.exclude(pk__in=self.complete().values("pk"))

    def primary_changed_since(self, moment):
        """Organizations whose Primary Contact took the role at or after `moment` (or was created then)."""
        return self.filter(
            pk__in=ContactRole.objects.filter(role=Role.PRIMARY, assigned_at__gte=moment).values("organization")
        )

    def primary_not_welcomed(self):
        """Organizations whose Primary Contact took the role in the last NEW_PRIMARY_DAYS and CME staff have
        not welcomed since."""
        recent = timezone.now() - timedelta(days=NEW_PRIMARY_DAYS)
        later = ContactRole.objects.filter(
            organization=OuterRef("pk"), role=Role.PRIMARY, assigned_at__gte=recent
        ).filter(Q(assigned_at__gt=OuterRef("primary_welcomed_at")) | Q(organization__primary_welcomed_at__isnull=True))
        return self.filter(Exists(later))

    def in_directory(self):
        return self.filter(listed_in_directory=True, accreditation_status__in=ACCREDITED_STATUSES)


def details_shared_elsewhere(*, person, editor) -> bool:
    """True when `person` holds a role at an organization `editor` is not affiliated with.

    A provider keeps the details of their own contacts who have not set a password;
    a person who is also another organization's contact is that organization's too,
    and only CME staff change their details.
    """
    mine = Organization.objects.for_user(editor).values("pk")
    return ContactRole.objects.filter(person=person).exclude(organization__in=mine).exists()


class Organization(models.Model):
    """An accredited (or applying) CME provider.

    Created only together with its primary contact: see
    contacts.services.organization_create.
    """

    name = models.CharField(max_length=200, validators=[refuse_control_characters])
    provider_id = models.CharField("provider ID", max_length=20, unique=True, validators=[refuse_control_characters])
    accreditor = models.CharField(max_length=100, default="CMA", validators=[refuse_control_characters])
    accreditation_status = models.CharField(
        max_length=20, choices=AccreditationStatus.choices, default=AccreditationStatus.PROVISIONAL
    )
    accreditation_start = models.DateField("term start", null=True, blank=True)
    accreditation_end = models.DateField("term end", null=True, blank=True)
    street_address = models.CharField(max_length=200, blank=True, validators=[refuse_control_characters])
    city = models.CharField(max_length=100, blank=True, validators=[refuse_control_characters])
    state = models.CharField(max_length=2, default="CA", blank=True)
    zip_code = models.CharField("ZIP", max_length=10, blank=True, validators=[refuse_control_characters])
    phone = models.CharField(max_length=40, blank=True, validators=[refuse_control_characters])
    website = models.URLField(blank=True)
    listed_in_directory = models.BooleanField("listed in the public directory", default=True)
    contacts_confirmed_at = models.DateTimeField("contacts last confirmed", null=True, blank=True)
    contacts_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # CME staff contact every newly designated Primary Contact: who did, and when (History shows it).
    primary_welcomed_at = models.DateTimeField("new primary contact welcomed", null=True, blank=True, editable=False)
    primary_welcomed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Lower-case, accent-free "name city", kept by save(); the directory searches it.
    search_text = models.CharField(max_length=310, editable=False, default="")

    history = HistoricalRecords(excluded_fields=["search_text"])

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(accreditation_status__in=AccreditationStatus.values),
                name="contacts_organization_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(accreditation_start__isnull=True)
                | Q(accreditation_end__isnull=True)
                | Q(accreditation_end__gte=models.F("accreditation_start")),
                name="contacts_organization_term_ordered",
                violation_error_message="The term cannot end before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["accreditation_status", "name"])]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.search_text = search_normalize(f"{self.name} {self.city}")
        if kwargs.get("update_fields") is not None and {"name", "city"} & set(kwargs["update_fields"]):
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("contacts:profile", args=[self.pk])

    # The roster. Each reads self.roles.all(), so a prefetch (with_roster) serves them all.

    def holders(self, role):
        return [r.person for r in self.roles.all() if r.role == role]

    def holder(self, role):
        people = self.holders(role)
        return people[0] if people else None

    @property
    def primary_contact(self):
        """Official communications and newsletters go to the Primary Contact."""
        return self.holder(Role.PRIMARY)

    def invoice_recipient(self) -> InvoiceRecipient:
        """(person, is_fallback): the Billing Contact, else the Primary Contact, else the CEO Contact,
        passing over an address that bounces; .reason says why in words ("no billing contact",
        "Billing Contact's email bounces", ...). When every address bounces, the first one held."""
        reasons, held = [], []
        for role in (Role.BILLING, Role.PRIMARY, Role.CEO):
            person = self.holder(role)
            if person is None:
                reasons.append(f"no {role.label.lower()}")
            elif person.email_bouncing_since:
                reasons.append(f"{role.label}'s email bounces")
                held.append((person, role))
            else:
                return InvoiceRecipient(person, "; ".join(reasons), role)
        person, role = held[0] if held else (None, None)
        return InvoiceRecipient(person, "; ".join([*reasons, "every address bounces"]), role)

    def published_contact(self):
        """(person, is_fallback): the Website Contact, else the Primary Contact."""
        website = self.holder(Role.WEBSITE)
        return (website, False) if website else (self.primary_contact, True)

    def unfilled_roles(self):
        held = {r.role for r in self.roles.all()}
        return [role for role in Role if role not in held and role != Role.PRIMARY]

    def missing_required_roles(self) -> list[Role]:
        """The required roles nobody holds (reads the roster, so with_roster serves it)."""
        held = {r.role for r in self.roles.all()}
        return [role for role in required_roles() if role not in held]

    @property
    def is_complete(self) -> bool:
        """Every required role filled and the contacts confirmed within the period."""
        return not self.missing_required_roles() and not self.contacts_are_stale

    @property
    def contacts_are_stale(self):
        return self.contacts_confirmed_at is None or self.contacts_confirmed_at < stale_before()


class ContactRole(models.Model):
    """One person holding one role at one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_roles")
    role = models.CharField(max_length=20, choices=Role.choices)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "role", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="contacts_contactrole_role_valid"),
            models.UniqueConstraint(
                fields=["organization", "role"],
                condition=~Q(role=Role.STAFF),
                name="contacts_contactrole_one_holder_per_singular_role",
                violation_error_message="This organization already has someone in that role.",
            ),
            models.UniqueConstraint(
                fields=["organization", "person", "role"],
                name="contacts_contactrole_person_role_once",
                violation_error_message="This person already holds that role at this organization.",
            ),
        ]
        indexes = [models.Index(fields=["person", "role"])]

    def __str__(self):
        return f"{self.person} — {self.get_role_display()} at {self.organization}"


class Confirmation(models.Model):
    """One confirmation that an organization's contacts are current: kept every year, not only the latest.

    contacts_confirm writes it with the organization's contacts_confirmed_at; the
    Reporting-year page counts them per year and per week.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="confirmations")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-confirmed_at", "-pk"]
        indexes = [models.Index(fields=["confirmed_at", "organization"])]
        # Not in the admin: the Reporting-year page reads it under the organizations' view permission.
        default_permissions = ()

    def __str__(self):
        return f"{self.organization} confirmed on {self.confirmed_at:%Y-%m-%d}"


class EmailKind(models.TextChoices):
    INVITATION = "invitation", "System access granted"
    PRIMARY_HANDOVER = "primary_handover", "Primary contact hand-over"
    REMINDER = "reminder", "Update reminder"
    PASSWORD_RESET = "password_reset", "Password reset"
    ROLE_ADDED = "role_added", "Role given"
    ROLE_REMOVED = "role_removed", "Role removed"
    DETAILS_CHANGED = "details_changed", "Details changed"
    EMAIL_CONFIRM = "email_confirm", "New email address to confirm"
    EMAIL_CHANGED = "email_changed", "Email address changed"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"


class EmailLog(models.Model):
    """Every email the system sent or tried to send: a transactional outbox.

    The row is written queued, with the message and its delivery task, in the
    transaction of the change it describes (contacts.emails). A worker claims it
    (sending, until claimed_until), hands it to the mail server and marks it
    sent, queued again for a later attempt after a transient failure, or failed.
    An email over the limit for its kind and address is suppressed, never sent.
    """

    Kind = EmailKind
    Status = EmailStatus

    kind = models.CharField(max_length=30, choices=Kind.choices)
    to_email = models.EmailField("recipient")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    subject = models.CharField(max_length=255)
    body_text = models.TextField("text", blank=True)
    body_html = models.TextField("HTML", blank=True)
    # A row that nobody updated after writing it must not claim the email went out.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(
        "last error or reason", blank=True, help_text="Why the last attempt failed, or why it was suppressed."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker handed it to the mail server.")
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField("next attempt", null=True, blank=True, default=timezone.now)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="While sending: when another worker may take it over (the lease)."
    )
    sent_at = models.DateTimeField(
        default=timezone.now,
        db_index=True,
        help_text="When it was handed to the mail server (sent or failed); while queued, when it was queued.",
    )

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "kind", "status", "sent_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["to_email", "kind", "queued_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EmailKind.values), name="contacts_emaillog_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=EmailStatus.values), name="contacts_emaillog_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=EmailStatus.SENDING) | Q(claimed_until__isnull=False),
                name="contacts_emaillog_sending_has_lease",
                violation_error_message="An email being sent needs the time its lease ends.",
            ),
            models.CheckConstraint(
                condition=~Q(status=EmailStatus.QUEUED) | Q(next_attempt_at__isnull=False),
                name="contacts_emaillog_queued_has_next_attempt",
                violation_error_message="A queued email needs the time of its next attempt.",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_email}"


class EmailChange(models.Model):
    """A person's new sign-in address, waiting for the link emailed to it to be opened (contacts.services).

    At most one per person (a new request replaces it, and its link stops working).
    Only a digest of the link's token is stored, so reading this table gives no
    working link. The row is deleted when the link is used (single use), when the
    address is changed another way, or replaced; a link older than
    EMAIL_CHANGE_LINK_HOURS is refused.
    """

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_change")
    new_email = models.EmailField("new email address", max_length=254)
    token_digest = models.CharField(max_length=64, unique=True)
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Not in the admin: CME editors change an address at once, in the person's page.
        default_permissions = ()

    def __str__(self):
        return f"{self.person} to {self.new_email}"

    @property
    def expires_at(self):
        return self.requested_at + timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS)

    def has_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class RosterImport(models.Model):
    """One bulk import of organizations and their rosters, from its preview to its undo.

    previewed -> queued (confirmed; the worker imports it) -> applied -> undone; a
    refusal while importing puts it back to previewed, with the reason in `error`. The rows are kept as read from the file when it is uploaded (previewed), so the
    preview and the confirmation read the same rows without a second upload. Once
    applied, `changes` records what the import did, which is what its undo reverts:
    {"organizations_created": [id], "people_created": [id], "roles_created": [id],
    "organizations_updated": {id: {field: old value}}, "people_updated": {id: {field: old value}}}.
    """

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed, not imported"
        QUEUED = "queued", "Being imported"
        APPLIED = "applied", "Imported"
        UNDONE = "undone", "Undone"

    filename = models.CharField(max_length=255)
    rows = models.JSONField(default=list, help_text="[[row number, {column: value}], ...] as read from the file.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=dict, blank=True)
    # Why the worker imported nothing (a row refused at the last moment); the import is previewed again.
    error = models.TextField(blank=True)
    # The organizations it created or changed: their History pages name the import.
    organizations = models.ManyToManyField(Organization, blank=True, related_name="imports")

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        # Reached through the organizations' admin, under its permissions: no permissions of its own.
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["previewed", "queued", "applied", "undone"]),
                name="contacts_rosterimport_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display().lower()})"

    @property
    def summary(self) -> str:
        """What an applied import did, in numbers."""
        changes = self.changes or {}
        return (
            f"{len(changes.get('organizations_created', []))} new organization(s), "
            f"{len(changes.get('roles_created', []))} more role(s), {len(changes.get('people_created', []))} new people"
        )

    @property
    def event(self) -> str:
        """The import as History names it: "imported by Eduardo Morales from providers-2026.xlsx"."""
        return f"imported by {self.applied_by or self.uploaded_by} from {self.filename}"
