from django.db import migrations


def postgres_only_sql(forwards_sql: str, backwards_sql: str) -> migrations.RunPython:
    """A migration operation that runs raw SQL on PostgreSQL and nothing elsewhere (SQLite).

    The SQL is sent without parameters, so PL/pgSQL's % placeholders pass through.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forwards_sql, params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(backwards_sql, params=None)

    return migrations.RunPython(forwards, backwards)
