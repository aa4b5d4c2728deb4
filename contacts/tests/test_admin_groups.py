"""The CME staff groups the data migration creates, and a helper the admin tests share."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from contacts.tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

groups_migration = importlib.import_module("contacts.migrations.0003_cme_staff_groups")
REVIEWERS, EDITORS = groups_migration.REVIEWERS, groups_migration.EDITORS
SUPERUSER = "superuser"


def cme_staff(kind: str):
    """A CME staff member of the group named kind, or a superuser; password factories.PASSWORD.

    The groups are (re)created first: a transactional test flushes what the migration made.
    """
    if kind == SUPERUSER:
        return UserFactory(is_staff=True, is_superuser=True)
    groups_migration.groups_create(apps)
    person = StaffUserFactory()
    person.groups.add(Group.objects.get(name=kind))
    return person


def codenames(group_name):
    return set(
        Group.objects.get(name=group_name).permissions.values_list("content_type__app_label", "codename").distinct()
    )


STAFF_MODELS = [
    ("accounts", "user"),
    ("accounts", "historicaluser"),
    ("contacts", "organization"),
    ("contacts", "historicalorganization"),
    ("contacts", "contactrole"),
    ("contacts", "historicalcontactrole"),
    ("contacts", "emaillog"),
]


def test_migration_gives_reviewers_view_permission_on_every_model_and_nothing_else():
    assert codenames(REVIEWERS) == {(app, f"view_{model}") for app, model in STAFF_MODELS}


def test_migration_gives_editors_view_everything_and_change_organizations_roles_and_people():
    changes = {
        ("contacts", "add_organization"),
        ("contacts", "change_organization"),
        ("contacts", "add_contactrole"),
        ("contacts", "change_contactrole"),
        ("contacts", "delete_contactrole"),
        ("accounts", "add_user"),
        ("accounts", "change_user"),
        ("contacts", "change_emaillog"),  # queue a failed email again; the log's rows stay read-only
    }
    assert codenames(EDITORS) == {(app, f"view_{model}") for app, model in STAFF_MODELS} | changes


@pytest.mark.parametrize("group_name", [REVIEWERS, EDITORS])
def test_neither_group_may_administer_groups_or_permissions(group_name):
    granted = Group.objects.get(name=group_name).permissions
    assert not granted.filter(content_type__app_label="auth").exists()
    assert not granted.filter(codename__startswith="delete_", content_type__model="user").exists()
    assert not granted.filter(codename__startswith="delete_", content_type__model="organization").exists()


def test_groups_migration_runs_again_without_duplicating_anything():
    before = {name: codenames(name) for name in (REVIEWERS, EDITORS)}
    groups_migration.groups_create(apps)
    assert Group.objects.filter(name__in=[REVIEWERS, EDITORS]).count() == 2
    assert {name: codenames(name) for name in (REVIEWERS, EDITORS)} == before


def test_groups_migration_creates_the_permissions_it_grants_when_none_exist_yet():
    # On a fresh database the migration runs before post_migrate has created any permission.
    Permission.objects.filter(content_type__app_label__in=["accounts", "contacts"]).delete()
    groups_migration.groups_create(apps)
    assert codenames(REVIEWERS) == {(app, f"view_{model}") for app, model in STAFF_MODELS}
