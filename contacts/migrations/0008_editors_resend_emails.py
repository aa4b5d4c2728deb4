"""CME editors may send a failed email again from the email log (change_emaillog); reviewers still only view it."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "CME editors"


def editors_resend(apps, schema_editor):
    create_permissions(global_apps.get_app_config("contacts"), verbosity=0, apps=apps, using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="contacts", codename="change_emaillog")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(permission)


def editors_no_resend(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for editors in Group.objects.filter(name=EDITORS):
        editors.permissions.remove(*editors.permissions.filter(codename="change_emaillog"))


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_email_queue")]

    operations = [migrations.RunPython(editors_resend, editors_no_resend)]
