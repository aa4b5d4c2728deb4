"""On PostgreSQL, refuse any commit that leaves an organization without exactly one primary.

At most one primary is a UniqueConstraint on every database. At least one
cannot be a plain constraint; here a deferred constraint trigger checks each
organization touched by a transaction when it commits. SQLite has no deferred
triggers: there the services are the only way to change the roster.
"""

from django.db import migrations

from contacts.postgres import postgres_only_sql

CREATE = r"""
CREATE OR REPLACE FUNCTION contacts_check_exactly_one_primary() RETURNS trigger AS $$
DECLARE
    org_ids bigint[];
    org_id bigint;
    primaries integer;
BEGIN
    IF TG_TABLE_NAME = 'contacts_organization' THEN
        org_ids := ARRAY[NEW.id];
    ELSIF TG_OP = 'INSERT' THEN
        org_ids := ARRAY[NEW.organization_id];
    ELSIF TG_OP = 'DELETE' THEN
        org_ids := ARRAY[OLD.organization_id];
    ELSE
        org_ids := ARRAY[OLD.organization_id, NEW.organization_id];
    END IF;
    FOREACH org_id IN ARRAY org_ids LOOP
        -- A deleted organization takes its roles with it: nothing to check.
        IF EXISTS (SELECT 1 FROM contacts_organization WHERE id = org_id) THEN
            SELECT count(*) INTO primaries FROM contacts_contactrole
                WHERE organization_id = org_id AND role = 'primary';
            IF primaries <> 1 THEN
                RAISE EXCEPTION 'organization % must have exactly one primary contact, not %', org_id, primaries
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER contacts_contactrole_exactly_one_primary
    AFTER INSERT OR UPDATE OR DELETE ON contacts_contactrole
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION contacts_check_exactly_one_primary();

CREATE CONSTRAINT TRIGGER contacts_organization_exactly_one_primary
    AFTER INSERT ON contacts_organization
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION contacts_check_exactly_one_primary();
"""

DROP = r"""
DROP TRIGGER IF EXISTS contacts_organization_exactly_one_primary ON contacts_organization;
DROP TRIGGER IF EXISTS contacts_contactrole_exactly_one_primary ON contacts_contactrole;
DROP FUNCTION IF EXISTS contacts_check_exactly_one_primary();
"""


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [postgres_only_sql(CREATE, DROP)]
