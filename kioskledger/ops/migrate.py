"""Migrate a database: yoyo for versioned DDL (migrations/), then the repeatable
definitions in sql/ (functions, views, grants, comments) in file order.

The sql/ step runs only when the files changed since the last apply (their sha256 is
kept in core.repeatable_sql), so migrating twice in a row is a no-op. When it runs, it
drops our functions and views first, so a changed signature or view column needs no
hand-written DROP; migrations must therefore never depend on a sql/ object. It ends
with NOTIFY kioskledger_reload so running RPC servers reload their catalogue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations

from kioskledger.protocol import RELOAD_CHANNEL
from kioskledger.resources import MIGRATIONS_DIR, SCHEMA_SNAPSHOT, SQL_DIR

DROP_REPEATABLE_OBJECTS = (Path(__file__).parent / "drop_repeatable.sql").read_text()


@dataclass
class MigrateResult:
    migrations_applied: list[str]
    sql_applied: bool

    def __str__(self) -> str:
        mig = ", ".join(self.migrations_applied) or "none"
        return f"migrations applied: {mig}; sql/ {'re-applied' if self.sql_applied else 'unchanged'}"


def _yoyo_url(url: str) -> str:
    url = primary_url(url)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def primary_url(url: str) -> str:
    """A multi-host URL (`host1:p1,host2:p2`, as `pg_autoctl show uri` prints) narrowed to
    the host libpq picks for it now (with target_session_attrs=read-write: the primary).
    yoyo parses the URL itself and takes one host only; psycopg takes the URL as it is."""
    parts = urlsplit(url)
    if "," not in parts.netloc:
        return url
    with psycopg.connect(url) as conn:
        host, port = conn.info.host, conn.info.port
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def sql_files() -> list[Path]:
    """sql/<domain>/*.sql (and any top-level file) in path order."""
    return sorted(SQL_DIR.rglob("*.sql"), key=lambda f: f.relative_to(SQL_DIR).parts)


def sql_digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(SQL_DIR).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def drop_repeatable(url: str) -> None:
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute(DROP_REPEATABLE_OBJECTS)
        conn.execute("DELETE FROM core.repeatable_sql")
        conn.commit()


def versioned_migrations():
    """migrations/NNNN.name.sql. yoyo would take every .sql file there for a migration,
    the schema snapshot (migrations/schema.sql) too."""
    return read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: Path(m.path).name != SCHEMA_SNAPSHOT.name)


def apply_migrations(url: str) -> list[str]:
    backend = get_backend(_yoyo_url(url))
    migrations = versioned_migrations()
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            if pending and _has_core_schema(url):
                # A migration may alter a table that a view or function depends on.
                drop_repeatable(url)
            backend.apply_migrations(pending)
    finally:
        # Leave no session behind: a migrated database may be used as a template next.
        backend.connection.close()
    return [m.id for m in pending]


def _has_core_schema(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass('core.repeatable_sql') IS NOT NULL").fetchone()[0]


def apply_sql(url: str, force: bool = False) -> bool:
    files = sql_files()
    if not files:
        # Applying nothing would drop every function and view and call it done.
        raise RuntimeError(f"no SQL files under {SQL_DIR} (a package built without its sql/?)")
    digest = sql_digest(files)
    with psycopg.connect(url, autocommit=False) as conn:
        # One migrator at a time; the digest check and the apply are one transaction.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('kioskledger.apply_sql'))")
        current = conn.execute("SELECT sha256 FROM core.repeatable_sql").fetchone()
        if current and current[0] == digest and not force:
            conn.rollback()
            return False
        conn.execute(DROP_REPEATABLE_OBJECTS)
        for f in files:
            try:
                conn.execute(f.read_text())
            except psycopg.Error as err:
                raise RuntimeError(f"sql/{f.relative_to(SQL_DIR).as_posix()}: {err}") from err
        conn.execute(
            "INSERT INTO core.repeatable_sql (sha256) VALUES (%s) "
            "ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, applied_at = now()",
            [digest],
        )
        conn.execute(f"NOTIFY {RELOAD_CHANNEL}")
        conn.commit()
    return True


def migrate(url: str, force_sql: bool = False) -> MigrateResult:
    applied = apply_migrations(url)
    # New migrations may have replaced tables the sql/ objects depend on: re-apply then.
    return MigrateResult(applied, apply_sql(url, force=force_sql or bool(applied)))
