"""Queue "It's time to update your contact information" to organizations whose contacts are stale.

Run it from cron as often as you like: an organization gets no second reminder
within CONTACTS_REMINDER_INTERVAL_DAYS, and one whose reminder failed for good
is queued again by the next run. The workers send what it queues; it never
talks to the mail server, so a mail server that is down does not stop it.
"""

from django.core.management.base import BaseCommand, CommandError

from contacts.models import Organization
from contacts.reminders import reminders_send

UNKNOWN_PROVIDER_IDS = "No organization has the provider ID {ids}."


class Command(BaseCommand):
    help = "Queue the update reminder to the Primary Contact of every organization whose contacts are stale."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List who would be emailed; send nothing and log nothing."
        )
        parser.add_argument(
            "--organization",
            action="append",
            metavar="PROVIDER_ID",
            dest="provider_ids",
            help="Only this organization (repeat for several).",
        )

    def handle(self, *args, dry_run, provider_ids, **options):
        organizations = None
        if provider_ids:
            organizations = Organization.objects.filter(provider_id__in=provider_ids)
            unknown = sorted(set(provider_ids) - set(organizations.values_list("provider_id", flat=True)))
            if unknown:
                raise CommandError(UNKNOWN_PROVIDER_IDS.format(ids=", ".join(unknown)))
        result = reminders_send(organizations=organizations, dry_run=dry_run)

        for reminder in result.due:
            self.stdout.write(f"Would email {reminder}")
        if options["verbosity"] > 1:
            for reminder in result.queued:
                self.stdout.write(f"Queued {reminder}")
            for skip in result.skipped:
                self.stdout.write(f"Skipped {skip}")
        self.stdout.write(result.summary())
