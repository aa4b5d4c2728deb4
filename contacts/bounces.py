"""Bounce reports from the mail provider (Postmark's tracking webhook, through django-anymail).

anymail checks the webhook's basic authentication (ANYMAIL["WEBHOOK_SECRET"]) and
normalizes the payload; this receiver marks a hard-bounced address. A soft bounce
or a transient failure marks nothing: the worker's retries deal with those.
"""

import logging

from anymail.signals import EventType, tracking
from django.dispatch import receiver
from django.utils import timezone

from contacts.services import email_bounce_record

logger = logging.getLogger(__name__)

# Postmark's bounce types that mean the address itself does not work.
HARD_BOUNCES = {"HardBounce", "BadEmailAddress"}


@receiver(tracking, dispatch_uid="contacts.bounces.tracking_received")
def tracking_received(sender, event, esp_name, **kwargs):
    raw_type = (event.esp_event or {}).get("Type") if isinstance(event.esp_event, dict) else None
    if event.event_type == EventType.COMPLAINED:
        logger.info("Complaint about email to %s reported by %s", event.recipient, esp_name)
        return
    if event.event_type not in (EventType.BOUNCED, EventType.REJECTED) or raw_type not in HARD_BOUNCES:
        return
    marked = email_bounce_record(email=event.recipient or "", at=event.timestamp or timezone.now())
    logger.info("Hard bounce of %s reported by %s: %s person marked", event.recipient, esp_name, marked)
