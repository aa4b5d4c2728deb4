"""Demo data: a few California CME providers, their contacts, and CME staff to sign in as.

Every roster write goes through contacts.services and every sign-in setting through
accounts.services, like any other caller. It belongs to the project, not to either
app: contacts never imports accounts. Running it again changes nothing and prints
the sign-in details again.
"""

import textwrap
from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as accounts_services
from contacts import services
from contacts.models import ACCESS_ROLES, AccreditationStatus, ContactRole, Organization, Role

User = get_user_model()

DEMO_PASSWORD = "cme-demo-2026"
# The sign-in table fits an 80-column terminal.
WIDTH = 78
# Demo organizations were created at least this long ago (and before their last confirmation).
CREATED_AT_LEAST_DAYS_AGO = 365
NEEDS_DEBUG = "seed_demo creates accounts whose password it prints; it runs only with DJANGO_DEBUG=1."
REVIEWERS_GROUP = "CME reviewers"
EDITORS_GROUP = "CME editors"

# CME staff at the accreditor: (email, first, last, job title, group, superuser).
STAFF = [
    ("admin@cma.example.org", "Alex", "Admin", "PARS administrator", None, True),
    ("reviewer@cma.example.org", "Rachel", "Reyes", "CME accreditation reviewer", REVIEWERS_GROUP, False),
    ("editor@cma.example.org", "Eduardo", "Morales", "CME accreditation coordinator", EDITORS_GROUP, False),
]

# Contacts at the providers. password=False: they have not set one (invited, or billing/CEO only).
PEOPLE = {
    "maria": dict(email="maria.alvarez@svms.example.org", first_name="Maria", last_name="Alvarez", credentials="MPH",
                  job_title="Director of Education", phone="(916) 555-0142", password=True),
    "priya": dict(email="priya.raman@phu.example.edu", first_name="Priya", last_name="Raman", credentials="MD, FACP",
                  job_title="Associate Dean for CME", phone="(415) 555-0178", password=True),
    "david": dict(email="david.chen@svms.example.org", first_name="David", last_name="Chen", credentials="",
                  job_title="Web and Systems Manager", phone="(916) 555-0167", password=True),
    "kevin": dict(email="kevin.obrien@svms.example.org", first_name="Kevin", last_name="O'Brien", credentials="",
                  job_title="CME Coordinator", phone="(916) 555-0133", password=True),
    "james": dict(email="james.whitfield@cich.example.org", first_name="James", last_name="Whitfield",
                  credentials="RN, MSN", job_title="Manager, Medical Staff Education", phone="(805) 555-0121",
                  password=True),
    "helen": dict(email="helen.park@cich.example.org", first_name="Helen", last_name="Park", credentials="MD",
                  job_title="Chief Medical Officer", phone="(805) 555-0109", password=True),
    "sofia": dict(email="sofia.martinez@ivrmc.example.org", first_name="Sofía", last_name="Martínez",
                  credentials="MBA", job_title="CME Program Manager", phone="(951) 555-0184", password=True),
    "anika": dict(email="anika.patel@coastalcardio.example.org", first_name="Anika", last_name="Patel",
                  credentials="PharmD", job_title="Education Director", phone="(619) 555-0156", password=True),
    "ben": dict(email="ben.tran@cvfpa.example.org", first_name="Ben", last_name="Tran", credentials="DO",
                job_title="CME Committee Chair", phone="(559) 555-0117", password=True),
    "robert": dict(email="robert.kim@svms.example.org", first_name="Robert", last_name="Kim", credentials="CPA",
                   job_title="Controller", phone="(916) 555-0190", password=False),
    "linda": dict(email="linda.okafor@svms.example.org", first_name="Linda", last_name="Okafor", credentials="MD",
                  job_title="Chief Executive Officer", phone="(916) 555-0101", password=False),
    "tom": dict(email="tom.nguyen@svms.example.org", first_name="Tom", last_name="Nguyen", credentials="",
                job_title="Education Assistant", phone="(916) 555-0148", password=False),
    "omar": dict(email="omar.siddiqui@ivrmc.example.org", first_name="Omar", last_name="Siddiqui", credentials="",
                 job_title="Accounts Payable Lead", phone="(951) 555-0187", password=False),
    "nadia": dict(email="nadia.haddad@cvfpa.example.org", first_name="Nadia", last_name="Haddad", credentials="MD",
                  job_title="Medical Education Director", phone="(559) 555-0129", password=True),
    "grace": dict(email="grace.lee@cich.example.org", first_name="Grace", last_name="Lee", credentials="",
                  job_title="Medical Staff Coordinator", phone="(805) 555-0163", password=False),
}  # fmt: skip


def _years_ago(years: int) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


# Each provider: its details, its primary, the other roles (role, person) and when its
# contacts were last confirmed (days ago; None: never). Confirmations of the two reporting
# years before come from PAST_CONFIRMATIONS, so the Reporting-year charts have a shape.
ORGANIZATIONS = [
    {
        "fields": dict(
            provider_id="CA00101", name="Sacramento Valley Medical Society",
            accreditation_status=AccreditationStatus.COMMENDATION, street_address="1201 J Street, Suite 300",
            city="Sacramento", zip_code="95814", phone="(916) 555-0100", website="https://www.svms.example.org",
        ),
        "term_years": 6,
        "primary": "maria",
        "roles": [(Role.BILLING, "robert"), (Role.CEO, "linda"), (Role.WEBSITE, "david"), (Role.TECHNICAL, "david"),
                  (Role.MEDICAL_DIRECTOR, "priya"), (Role.STAFF, "kevin"), (Role.STAFF, "tom")],
        "confirmed_days_ago": 0,
        "confirmed_by": "maria",
    },
    {
        "fields": dict(
            provider_id="CA00214", name="Pacific Heights University School of Medicine, Office of CME",
            accreditation_status=AccreditationStatus.ACCREDITATION, street_address="500 Parnassus Avenue, Box 0742",
            city="San Francisco", zip_code="94143", phone="(415) 555-0170", website="https://cme.phu.example.edu",
        ),
        "term_years": 4,
        "primary": "priya",
        # No billing contact: invoices fall back to the primary.
        "roles": [(Role.WEBSITE, "anika"), (Role.TECHNICAL, "david"), (Role.STAFF, "maria")],
        "confirmed_days_ago": 400,
        "confirmed_by": "priya",
    },
    {
        "fields": dict(
            provider_id="CA00377", name="Channel Islands Community Hospital",
            accreditation_status=AccreditationStatus.ACCREDITATION, street_address="2400 Harbor Boulevard",
            city="Oxnard", zip_code="93035", phone="(805) 555-0120", website="https://www.cich.example.org",
        ),
        "term_years": 2,
        "primary": "james",
        # Neither billing nor website contact: both fall back to the primary.
        "roles": [(Role.MEDICAL_DIRECTOR, "helen"), (Role.STAFF, "grace")],
        "confirmed_days_ago": None,
        "confirmed_by": None,
    },
    {
        "fields": dict(
            provider_id="CA00452", name="Inland Valley Regional Medical Center",
            accreditation_status=AccreditationStatus.PROVISIONAL, street_address="36485 Inland Valley Drive",
            city="Wildomar", zip_code="92595", phone="(951) 555-0180", website="https://www.ivrmc.example.org",
        ),
        "term_years": 1,
        "primary": "sofia",
        "roles": [(Role.WEBSITE, "sofia"), (Role.BILLING, "omar"), (Role.STAFF, "james")],
        "confirmed_days_ago": 200,
        "confirmed_by": "sofia",
    },
    {
        "fields": dict(
            provider_id="CA00518", name="Central Valley Family Physicians Association",
            accreditation_status=AccreditationStatus.PROBATION, street_address="1680 W Shaw Avenue",
            city="Fresno", zip_code="93711", phone="(559) 555-0110", website="",
        ),
        "term_years": 3,
        "primary": "ben",
        "roles": [(Role.CEO, "linda"), (Role.STAFF, "maria"), (Role.TECHNICAL, "ben")],
        "confirmed_days_ago": 30,
        "confirmed_by": "ben",
        # Ben handed the primary role to Nadia: a new primary CME staff have not welcomed yet.
        "handover_to": "nadia",
    },
    {
        "fields": dict(
            provider_id="CA00603", name="Coastal Cardiology Education Foundation",
            accreditation_status=AccreditationStatus.NONACCREDITATION, street_address="3020 Children's Way",
            city="San Diego", zip_code="92123", phone="(619) 555-0150", website="https://www.coastalcardio.example.org",
            listed_in_directory=False,
        ),
        "term_years": None,
        "primary": "anika",
        "roles": [],
        "confirmed_days_ago": 90,
        "confirmed_by": "anika",
    },
]  # fmt: skip


# Days before the latest confirmation that each organization confirmed in earlier years (ignored when never).
PAST_CONFIRMATIONS = {
    "CA00101": [730, 370],
    "CA00214": [380],
    "CA00452": [720, 355],
    "CA00518": [700, 340],
    "CA00603": [365],
}
# The billing address that bounces (robert's), reported this many days ago.
BOUNCING = ("robert", 5)


def _user_create(email, password_hash, **fields):
    user = User(email=User.objects.normalize_email(email), password=password_hash, **fields)
    user.full_clean()
    user.save()
    return user


class Command(BaseCommand):
    help = "Load demo organizations, contacts and CME staff (idempotent), then print the sign-in details."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(NEEDS_DEBUG)
        created = Counter()
        # Invited demo contacts get real invitations, queued like any other: the worker
        # sends them through the configured backend (make run: files in db/emails/).
        with transaction.atomic():
            password_hash = make_password(DEMO_PASSWORD)  # hashed once: the hasher is slow on purpose
            staff = {email: self._staff_user(email, *rest, password_hash, created) for email, *rest in STAFF}
            editor = staff["editor@cma.example.org"]
            people = {key: self._person(details, password_hash, created) for key, details in PEOPLE.items()}
            for spec in ORGANIZATIONS:
                self._organization(spec, people, editor, created)
        if created:
            summary = ", ".join(f"{count} {what}" for what, count in created.items())
            self.stdout.write(self.style.SUCCESS(textwrap.fill(f"Demo data created: {summary}.", WIDTH)))
        else:
            self.stdout.write("Demo data already present: nothing changed.")
        self._print_sign_in_details()

    def _staff_user(self, email, first_name, last_name, job_title, group_name, superuser, password_hash, created):
        user = User.objects.filter(email=User.objects.normalize_email(email)).first()
        if user is None:
            user = _user_create(
                email, password_hash, first_name=first_name, last_name=last_name, job_title=job_title,
                is_staff=True, is_superuser=superuser,
            )  # fmt: skip
            created["CME staff accounts"] += 1
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            # Enrolled as a person would be, through the service, with a code an app showed. The
            # previous period's: a code once accepted is used up, and the person signing in right
            # after the demo starts needs the current one.
            key = accounts_services.two_factor_secret_new()
            code = f"{totp(bytes.fromhex(key), drift=-1):06d}"
            accounts_services.two_factor_enrol(person=user, key=key, code=code)
            created["CME staff two-factor enrolments"] += 1
        group = Group.objects.filter(name=group_name).first() if group_name else None
        if group and not user.groups.filter(pk=group.pk).exists():
            user.groups.add(group)
            created["CME staff group memberships"] += 1
        return user

    def _person(self, details, password_hash, created) -> User | None:
        """The person, if they exist or have a password; None for a contact the site will add by email."""
        details = dict(details)
        has_password = details.pop("password")
        person = User.objects.filter(email=User.objects.normalize_email(details["email"])).first()
        if person is None and has_password:
            # A password before any role: no invitation for people who can already sign in.
            person = _user_create(details.pop("email"), password_hash, **details)
            created["provider users with a password"] += 1
        return person

    def _organization(self, spec, people, editor, created):
        fields = spec["fields"]
        organization = Organization.objects.filter(provider_id=fields["provider_id"]).first()
        if organization is not None:
            for role, key in spec["roles"]:
                self._role(organization, role, people, key, editor)
            return
        term = {}
        if spec["term_years"]:
            start = _years_ago(1)
            term = {
                "accreditation_start": start,
                "accreditation_end": start.replace(year=start.year + spec["term_years"]),
            }
        seeding_started = timezone.now()
        organization = services.organization_create(
            primary=people[spec["primary"]], by=editor, **fields, **term
        ).organization
        created["organizations with their rosters"] += 1
        for role, key in spec["roles"]:
            self._role(organization, role, people, key, editor)
        days_ago = spec["confirmed_days_ago"]
        self._backdate_creation(
            organization,
            since=seeding_started,
            days_ago=max([days_ago or 0, *PAST_CONFIRMATIONS.get(fields["provider_id"], [])]) + (days_ago or 0),
        )
        if days_ago is not None:
            for earlier in PAST_CONFIRMATIONS.get(fields["provider_id"], []):
                self._confirm(organization, people[spec["confirmed_by"]], days_ago + earlier)
            self._confirm(organization, people[spec["confirmed_by"]], days_ago)
        if spec.get("handover_to"):
            services.primary_contact_transfer(
                organization=organization, to=people[spec["handover_to"]], keep_previous_as_staff=False, by=editor
            )
        key, bounced_days_ago = BOUNCING
        if key in {holder for _role, holder in spec["roles"]} and people[key] is not None:
            services.email_bounce_record(email=people[key].email, at=timezone.now() - timedelta(days=bounced_days_ago))

    @staticmethod
    def _backdate_creation(organization, *, since, days_ago):
        """Date the organization's creation and first roster before anything else that happens to it.

        The services record history as it happens, now; a demo organization whose
        contacts were confirmed 400 days ago must have been created before that, so
        its History reads as it could have happened: created, roster assigned, confirmed.
        """
        created_at = timezone.now() - timedelta(days=max(days_ago or 0, CREATED_AT_LEAST_DAYS_AGO) + 30)
        Organization.history.filter(id=organization.pk, history_date__gte=since).update(history_date=created_at)
        role_records = ContactRole.history.filter(organization_id=organization.pk, history_date__gte=since)
        for step, record in enumerate(role_records.order_by("history_date", "history_id"), start=1):
            moment = created_at + timedelta(minutes=step)
            ContactRole.history.filter(pk=record.pk).update(history_date=moment)
            ContactRole.objects.filter(pk=record.id, person_id=record.person_id).update(assigned_at=moment)

    def _role(self, organization, role, people, key, editor):
        person = people[key] or User.objects.filter(email=User.objects.normalize_email(PEOPLE[key]["email"])).first()
        if role != Role.STAFF and organization.roles.filter(role=role).exists():
            return  # filled, by this person on an earlier run or by someone a demo user put there
        if person is None:
            # Added by email as the site would: invited if the role grants access.
            details = {name: value for name, value in PEOPLE[key].items() if name != "password"}
            person = services.contact_add(organization=organization, role=role, by=editor, **details).person
        elif not organization.roles.filter(role=role, person=person).exists():
            services.role_assign(organization=organization, person=person, role=role, by=editor)
        people[key] = person

    def _confirm(self, organization, person, days_ago):
        moment = None if days_ago == 0 else timezone.now() - timedelta(days=days_ago)
        services.contacts_confirm(organization=organization, by=person, at=moment)

    def _print_sign_in_details(self):
        emails = [email for email, *_ in STAFF] + [p["email"] for p in PEOPLE.values()]
        users = {u.email.lower(): u for u in User.objects.filter(email__in=emails)}
        roles = {}
        for contact_role in ContactRole.objects.filter(person__in=users.values()).select_related("organization"):
            roles.setdefault(contact_role.person_id, []).append(contact_role)

        secrets = {
            device.user_id: accounts_services.two_factor_secret_text(device.key)
            for device in TOTPDevice.objects.filter(user__in=users.values(), confirmed=True)
        }
        rows, cannot = [], []
        for email in emails:
            user = users.get(email.lower())
            if user is None:
                continue
            if user.is_staff:
                rows.append((user.email, [self._staff_access(user), f"two-factor secret: {secrets[user.pk]}"]))
            elif not user.has_usable_password():
                cannot.append((user.email, self._why_not(user, roles.get(user.pk, []))))
            else:
                rows.append((user.email, self._organizations(roles.get(user.pk, []))))

        out = self.stdout.write
        out("")
        out(self.style.MIGRATE_HEADING(f"Demo sign-in details: every password is {DEMO_PASSWORD}"))
        out(f"  Provider users sign in at {settings.SITE_URL}{reverse('accounts:login')}")
        out(f"  CME staff sign in to the admin at {settings.SITE_URL}{reverse('admin:index')}")
        out(f"  The public directory is at {settings.SITE_URL}{reverse('contacts:directory')}")
        out("")
        for email, lines in rows:
            self._entry(email, lines)
        out("")
        out("CME staff then enter a 6-digit code: add their secret to any authenticator")
        out("app, or run: oathtool --totp -b SECRET (Debian package oathtool).")
        if cannot:
            out("")
            out("Contacts who cannot sign in:")
            for email, why in cannot:
                self._entry(email, [why])
        out("")
        for line in textwrap.wrap(self._where_emails_go(), WIDTH, subsequent_indent="  "):
            out(line)
        out("")

    def _entry(self, email, lines):
        self.stdout.write(f"  {email}")
        for line in lines:
            for wrapped in textwrap.wrap(line, WIDTH, initial_indent="      ", subsequent_indent="        "):
                self.stdout.write(wrapped)

    @staticmethod
    def _where_emails_go():
        log = f"{settings.SITE_URL}{reverse('admin:contacts_emaillog_changelist')}"
        backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
        where = {
            "filebased": f"into {settings.EMAIL_FILE_PATH}/, a file per email",
            "console": "to its console output",
            "smtp": f"to the mail server {settings.EMAIL_HOST}",
        }.get(backend, f"through {settings.EMAIL_BACKEND}")
        return (
            f"Emails: the worker sends every email (the invitations above too) {where}; "
            f"CME staff see each one in the admin's email log: {log}"
        )

    @staticmethod
    def _staff_access(user):
        if user.is_superuser:
            return "Admin: everything (superuser)"
        groups = set(user.groups.values_list("name", flat=True))
        if EDITORS_GROUP in groups:
            return f"Admin: views and changes organizations, rosters, people ({EDITORS_GROUP})"
        if REVIEWERS_GROUP in groups:
            return f"Admin: views everything, changes nothing ({REVIEWERS_GROUP})"
        return "Admin: nothing yet (not in a CME staff group)"

    @staticmethod
    def _organizations(contact_roles):
        by_organization = {}
        for contact_role in contact_roles:
            by_organization.setdefault(contact_role.organization, []).append(contact_role)
        lines = []
        for organization, held in sorted(by_organization.items(), key=lambda item: item[0].name):
            labels = ", ".join(r.get_role_display() for r in sorted(held, key=lambda r: list(Role).index(r.role)))
            access = "" if any(r.role in ACCESS_ROLES for r in held) else " (no access through these roles)"
            lines.append(f"{organization.name}: {labels}{access}")
        return lines or ["no organization"]

    @staticmethod
    def _why_not(user, contact_roles):
        labels = ", ".join(sorted({r.get_role_display() for r in contact_roles}))
        if contact_roles and not any(r.role in ACCESS_ROLES for r in contact_roles):
            return f"{labels} only: receives mail, never signs in"
        return f"invited ({labels}), has not set a password yet: see the invitation below"
