"""Indexes for the History tab's lookups (contacts/history.py), as plain SQL valid on SQLite and PostgreSQL.

The historical models' fields come from the tracked models, and simple-history
builds their Meta itself, so these are not in any model's Meta and change no
model state.
- Each stream of an organization newest first: its records by (moment, record).
- A roster record's previous holder: the role row's record just before it.
"""

from django.db import migrations

INDEXES = {
    "contacts_historicalorganization_moment": ("contacts_historicalorganization", "id, history_date, history_id"),
    "contacts_historicalcontactrole_org_moment": (
        "contacts_historicalcontactrole",
        "organization_id, history_date, history_id",
    ),
    "contacts_historicalcontactrole_row_moment": ("contacts_historicalcontactrole", "id, history_date, history_id"),
}


class Migration(migrations.Migration):
    dependencies = [("contacts", "0013_roster_imports")]

    operations = [
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})',
            f'DROP INDEX IF EXISTS "{name}"',
        )
        for name, (table, columns) in INDEXES.items()
    ]
