"""What the site caches, and the one place that says when a cached page is stale.

Two things are cached (Django's cache framework: local memory by default, the
shared cache of CACHE_URL in production, so every web process sees one cache):

- the public directory as an anonymous visitor sees it, per query string, for
  DIRECTORY_CACHE_SECONDS, under a directory version;
- each organization's roster as drawn on its Profile tab, under that
  organization's roster version.

A change makes these stale, so every change bumps the versions through
roster_changed(organization) (the organization's roster and details as the
directory shows them) or person_changed(person) (a person's details, shown on
every roster they are on, and in the directory when published). Nothing keys
on time alone: a stale page after a change would be a defect.

The receivers below call them for every save and delete of an organization,
a role or a person, whoever makes it (the services, the admin's forms, the
account pages, a password set from an invitation), so a new service is covered
without remembering to. A bulk write that sends no signals (QuerySet.update,
bulk_create) calls roster_changed itself.

A version is bumped twice: at once, so the request that made the change reads
it back fresh, and again when the transaction commits, so a page drawn from the
old rows by a concurrent request in between is never served under the new version.
"""

import hashlib
import uuid

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contacts.models import ContactRole, Organization

DIRECTORY_VERSION_KEY = "directory:version"


def _roster_version_key(organization_pk: int) -> str:
    return f"roster:{organization_pk}:version"


def _bump(*keys: str) -> None:
    def bump():
        cache.set_many(dict.fromkeys(keys, uuid.uuid4().hex), timeout=None)

    bump()
    transaction.on_commit(bump)


def _version(key: str) -> str:
    version = cache.get(key)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(key, version, timeout=None)
        version = cache.get(key, version)
    return version


def roster_changed(organization: Organization) -> None:
    """The organization, its roster or its people changed: its Profile roster and the directory are stale."""
    _bump(_roster_version_key(organization.pk), DIRECTORY_VERSION_KEY)


def person_changed(person) -> None:
    """A person's details changed: every roster they are on, and the directory, are stale."""
    organizations = ContactRole.objects.filter(person=person).values_list("organization", flat=True).distinct()
    _bump(DIRECTORY_VERSION_KEY, *(_roster_version_key(pk) for pk in organizations))


def roster_fragment_key(organization: Organization, viewer) -> str:
    """The Profile tab's roster of this organization as `viewer` sees it ("You" marks them)."""
    return f"roster:{organization.pk}:{_version(_roster_version_key(organization.pk))}:{viewer.pk}"


def directory_page_key(request) -> str | None:
    """The cache key of the directory page for this request, or None when it must be drawn afresh.

    Only an anonymous visitor's page is shared (a signed-in person's layout names
    them), and not while a message waits to be shown on it.
    """
    if settings.DIRECTORY_CACHE_SECONDS <= 0 or request.user.is_authenticated:
        return None
    if len(get_messages(request)):
        return None
    query = hashlib.sha256(request.META.get("QUERY_STRING", "").encode()).hexdigest()
    return f"directory:{_version(DIRECTORY_VERSION_KEY)}:{query}"


@receiver(post_save, sender=Organization)
@receiver(post_delete, sender=Organization)
def _organization_saved(sender, instance, **kwargs):
    roster_changed(instance)


@receiver(post_save, sender=ContactRole)
@receiver(post_delete, sender=ContactRole)
def _role_saved(sender, instance, **kwargs):
    roster_changed(Organization(pk=instance.organization_id))


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _person_saved(sender, instance, update_fields=None, **kwargs):
    # Signing in stores last_login, which no page shows.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    person_changed(instance)
