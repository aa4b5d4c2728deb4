"""The two groups of CME staff, with their permissions.

CME reviewers see everything in the admin and change nothing. CME editors
also change organizations, their rosters and people, send a failed email
again, and add organizations and people (a new contact must exist before the roster inline can name them);
neither group may touch groups or permissions. The permissions are created
here first: on a fresh database they would otherwise appear only after
every migration has run.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWERS = "CME reviewers"
EDITORS = "CME editors"

STAFF_APPS = ["accounts", "contacts"]
# (app label, model) -> the actions editors may take, besides viewing everything reviewers see.
EDITOR_ACTIONS = {
    ("contacts", "organization"): ["add", "change"],
    ("contacts", "contactrole"): ["add", "change", "delete"],
    ("accounts", "user"): ["add", "change"],
    # Not editing a log row: queueing a failed email again (contacts.admin, added with migration 0008).
    ("contacts", "emaillog"): ["change"],
}


def groups_create(apps, schema_editor=None):
    """Create (or bring up to date) both groups; safe to run again."""
    using = schema_editor.connection.alias if schema_editor else "default"
    for label in STAFF_APPS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps, using=using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff_permissions = Permission.objects.filter(content_type__app_label__in=STAFF_APPS)
    viewing = list(staff_permissions.filter(codename__startswith="view_"))
    editing = [
        permission
        for permission in staff_permissions.select_related("content_type")
        if any(
            permission.codename == f"{action}_{model}"
            for (app_label, model), actions in EDITOR_ACTIONS.items()
            for action in actions
            if permission.content_type.app_label == app_label
        )
    ]
    reviewers, _ = Group.objects.get_or_create(name=REVIEWERS)
    reviewers.permissions.set(viewing)
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.set(viewing + editing)


def groups_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[REVIEWERS, EDITORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_exactly_one_primary_trigger"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(groups_create, groups_delete)]
