"""On PostgreSQL, indexes that serve the public directory at 100,000 organizations.

- A trigram GIN index on search_text, so `search_text LIKE '%word%'` (the
  directory's search, one condition per word) does not scan the table. pg_trgm
  is a trusted extension (PostgreSQL 13+): the database owner may create it
  without being a superuser.
- Partial btree indexes over the providers the directory lists: on (name, id),
  so a page is read in order from the index; on accreditor, so the accreditor
  filter's choices take one index probe per accreditor (see
  contacts.public_views.directory_accreditors) and the unfiltered count is an
  index-only scan of small entries.

SQLite gets nothing: its directory is small. Neither index is in the models'
Meta, so the migration state does not change. Going back drops the indexes and
leaves the extension, which other objects may use.
"""

from django.db import migrations

from contacts.postgres import postgres_only_sql

# The same condition as Organization.objects.in_directory(), so the planner can use the index.
CREATE = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS contacts_org_search_trgm
    ON contacts_organization USING gin (search_text gin_trgm_ops);
CREATE INDEX IF NOT EXISTS contacts_org_directory_name
    ON contacts_organization (name, id)
    WHERE listed_in_directory
      AND accreditation_status IN ('provisional', 'accreditation', 'commendation', 'probation');
CREATE INDEX IF NOT EXISTS contacts_org_directory_accreditor
    ON contacts_organization (accreditor)
    WHERE listed_in_directory
      AND accreditation_status IN ('provisional', 'accreditation', 'commendation', 'probation');
"""

DROP = r"""
DROP INDEX IF EXISTS contacts_org_directory_accreditor;
DROP INDEX IF EXISTS contacts_org_directory_name;
DROP INDEX IF EXISTS contacts_org_search_trgm;
"""


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_cme_staff_groups")]

    operations = [postgres_only_sql(CREATE, DROP)]
