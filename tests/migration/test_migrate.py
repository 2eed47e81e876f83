"""Migrations: a fresh database migrates; migrating again is a no-op; an edited sql/
file is re-applied (and a running server is told to reload)."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from kioskledger.ops import migrate as migrate_mod
from kioskledger.protocol import RELOAD_CHANNEL

CATALOG_SNAPSHOT = """
SELECT p.oid, p.oid::regprocedure::text, md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('api', 'core', 'ledger') ORDER BY 2
"""


def snapshot(url):
    with psycopg.connect(url) as conn:
        return conn.execute(CATALOG_SNAPSHOT).fetchall()


def test_migrate_twice_is_a_no_op(empty_db):
    first = migrate_mod.migrate(empty_db)
    assert first.migrations_applied and first.sql_applied
    before = snapshot(empty_db)
    second = migrate_mod.migrate(empty_db)
    assert second.migrations_applied == [] and second.sql_applied is False
    assert snapshot(empty_db) == before, "a second migrate must not recreate anything"


def test_edited_sql_file_is_reapplied_and_notified(empty_db, tmp_path, monkeypatch):
    migrate_mod.migrate(empty_db)
    sql_dir = tmp_path / "sql"
    shutil.copytree(migrate_mod.SQL_DIR, sql_dir)
    system_api = sql_dir / "00_core" / "90_api.sql"
    system_api.write_text(system_api.read_text().replace("The caller as", "Edited: the caller as"))
    monkeypatch.setattr(migrate_mod, "SQL_DIR", sql_dir)

    with psycopg.connect(empty_db, autocommit=True) as listener:
        listener.execute(f"LISTEN {RELOAD_CHANNEL}")
        result = migrate_mod.migrate(empty_db)
        assert result.sql_applied and result.migrations_applied == []
        notices = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in notices] == [RELOAD_CHANNEL]
    with psycopg.connect(empty_db) as conn:
        comment = conn.execute("SELECT obj_description('api.whoami()'::regprocedure, 'pg_proc')").fetchone()[0]
    assert comment.startswith("Edited: the caller as")


def test_broken_sql_file_changes_nothing(empty_db, tmp_path, monkeypatch):
    migrate_mod.migrate(empty_db)
    before = snapshot(empty_db)
    sql_dir = tmp_path / "sql"
    shutil.copytree(migrate_mod.SQL_DIR, sql_dir)
    (sql_dir / "40_atm" / "50_broken.sql").write_text("CREATE FUNCTION api.broken( RETURNS nonsense;")
    monkeypatch.setattr(migrate_mod, "SQL_DIR", sql_dir)
    with pytest.raises(RuntimeError, match=r"40_atm/50_broken\.sql"):
        migrate_mod.migrate(empty_db)
    assert snapshot(empty_db) == before, "a failed apply rolls back whole"
