"""Indexes for the History tab's lookups of one person's records (contacts/history.py).

The historical model's fields come from the User model, so these indexes are not
in any model's Meta (simple-history builds the historical Meta itself); they are
plain SQL, valid on SQLite and PostgreSQL, and change no model state.
- (id, history_date, history_id): a person's last record at a moment, and their earliest.
- (id, history_id): the record just before a change, by the order records were written.
"""

from django.db import migrations

INDEXES = {
    "accounts_historicaluser_person_moment": "id, history_date, history_id",
    "accounts_historicaluser_person_record": "id, history_id",
}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_person_merged_into")]

    operations = [
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "accounts_historicaluser" ({columns})',
            f'DROP INDEX IF EXISTS "{name}"',
        )
        for name, columns in INDEXES.items()
    ]
