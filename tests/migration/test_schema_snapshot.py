"""The schema snapshot: migrating an empty database produces exactly migrations/schema.sql
(`make schema` rewrites it). With the upgrade test (test_upgrade.py) it holds the
migrations and sql/ to one schema, whichever way a database got there."""

from __future__ import annotations

from kioskledger.ops import schema
from kioskledger.ops.migrate import migrate
from tests.support.helpers import assert_schema_is_snapshot


def test_migrating_an_empty_database_gives_the_snapshot(empty_db):
    migrate(empty_db)
    assert_schema_is_snapshot(empty_db, "an empty database, migrated")


def test_the_snapshot_is_not_a_migration():
    from kioskledger.ops.migrate import versioned_migrations

    ids = [m.id for m in versioned_migrations()]
    assert ids and "schema" not in ids


DUMP = """--
-- PostgreSQL database dump
--

\\restrict aBc123

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;

--
-- Name: api; Type: SCHEMA; Schema: -; Owner: {owner}
--

CREATE SCHEMA api;


ALTER SCHEMA api OWNER TO {owner};

CREATE FUNCTION api.f() RETURNS text LANGUAGE sql AS $$ SELECT 'OWNER TO {owner};' $$;
GRANT ALL ON TABLE core.t TO {owner};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE ALL ON FUNCTIONS  FROM PUBLIC;

--
-- PostgreSQL database dump complete
--

\\unrestrict aBc123

"""

OLDER_DUMP = """--
-- PostgreSQL database dump
--

-- Dumped from database version 15.3
-- Dumped by pg_dump version 15.3

SET statement_timeout = 0;
"""


def test_normalize_drops_what_changes_between_runs_and_servers():
    canonical = schema.normalize(DUMP.format(owner="postgres"))
    assert "restrict" not in canonical and "Dumped" not in canonical
    assert canonical.startswith("--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n")
    assert canonical.endswith("-- PostgreSQL database dump complete\n--\n\n")
    # pg_dump before 15.14 prints no \restrict lines: the same text.
    assert canonical.startswith(schema.normalize(OLDER_DUMP))
    # Migrated by another role on another server: spelled as our clusters' superuser,
    # except inside a function body.
    other = schema.normalize(DUMP.format(owner="neondb_owner"), owner="neondb_owner")
    assert other == canonical.replace("'OWNER TO postgres;'", "'OWNER TO neondb_owner;'")
    quoted = schema.normalize(DUMP.format(owner='"Deploy"'), owner="Deploy")
    assert quoted == canonical.replace("'OWNER TO postgres;'", "'OWNER TO \"Deploy\";'")


def test_normalize_orders_consecutive_grants():
    # An upgraded database granted schema usage in another order than a fresh one.
    fresh = "GRANT USAGE ON SCHEMA core TO authenticator;\nGRANT USAGE ON SCHEMA core TO dex_service;\n\n--\n"
    upgraded = "GRANT USAGE ON SCHEMA core TO dex_service;\nGRANT USAGE ON SCHEMA core TO authenticator;\n\n--\n"
    assert schema.normalize(upgraded) == schema.normalize(fresh) == fresh
    # Only runs of GRANTs move: a REVOKE keeps its place before them.
    revoke = "REVOKE ALL ON SCHEMA core FROM PUBLIC;\n" + upgraded
    assert schema.normalize(revoke) == "REVOKE ALL ON SCHEMA core FROM PUBLIC;\n" + fresh
