"""CME editors may send a failed email again from the email log (change_emaillog); reviewers still only view it.

Brings both groups up to date with 0003's list, which now names it.
"""

import importlib

from django.db import migrations

groups_migration = importlib.import_module("contacts.migrations.0003_cme_staff_groups")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_email_queue")]

    operations = [migrations.RunPython(groups_migration.groups_create, migrations.RunPython.noop)]
