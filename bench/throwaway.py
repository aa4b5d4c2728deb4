"""A throwaway database for a benchmark: a temporary SQLite file, or a bench_* database on PostgreSQL."""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.db import connection


@contextmanager
def throwaway_database():
    """Made with Django's test database utilities, so the development database is never touched."""
    with tempfile.TemporaryDirectory() as workdir:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(workdir) / "bench.sqlite3")
        else:
            connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}_{os.getpid()}"
        original_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
