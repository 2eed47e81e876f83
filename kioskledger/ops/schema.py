"""The schema snapshot: migrations/schema.sql is what `pg_dump --schema-only` prints for an
empty database after `migrate` (migrations/ then sql/). It is committed, so a review shows
what a change does to the schema, and the tests hold it: migrating an empty database, or
upgrading the previous release's data, must produce exactly this file.

`kioskledger schema-dump` (`make schema`) regenerates it in a throwaway cluster, or in a
throwaway database on DATABASE_URL's server; `--check` only compares.

Normalized so it is the same on every run and machine with PostgreSQL 15:
- pg_dump's version lines (`-- Dumped from/by ...`) and its per-run `\\restrict KEY`
  lines (15.14+) go;
- the role that ran the migrations (it owns everything but the dex_service functions)
  is written `postgres`, the superuser of our throwaway clusters, whatever it is called
  on the server the snapshot was taken on;
- yoyo's bookkeeping tables (public._yoyo_*, public.yoyo_lock) are left out: they are
  yoyo's, not ours, their shape follows the installed yoyo version (yoyo upgrades them
  itself), and a yoyo upgrade must not make the snapshot stale.
Everything else is kept as pg_dump prints it.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from kioskledger.resources import SCHEMA_SNAPSHOT as SNAPSHOT

HINT = "the schema differs from migrations/schema.sql: if the change is intended, run `make schema` and commit it"

# The role name the snapshot spells the migrating role with.
SNAPSHOT_OWNER = "postgres"
YOYO_TABLES = ("public._yoyo_*", "public.yoyo_lock")

_DUMP_ARGS = ["--schema-only", *(f"--exclude-table={t}" for t in YOYO_TABLES)]
_VERSION_LINES = re.compile(r"^-- Dumped from database version .*\n-- Dumped by pg_dump version .*\n\n", re.MULTILINE)
# A random key per run; older 15.x minor releases print no such lines at all.
_RESTRICT_LINES = re.compile(r"^\\(un)?restrict \S+\n\n", re.MULTILINE)


def pg_tool(tool: str, url: str, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run a PostgreSQL client program (pg_dump, psql ...) of our PostgreSQL 15 against `url`;
    the password goes in the environment, not on the command line."""
    from .local_cluster import find_bindir

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ, **({"PGPASSWORD": password} if password else {}))
    return subprocess.run(
        [str(find_bindir() / tool), f"--dbname={make_conninfo(**params)}", *args], check=check, env=env, **kw
    )


def _ident_pattern(role: str) -> str:
    """The role as pg_dump writes it: bare, or double-quoted when it needs quoting."""
    quoted = '"' + role.replace('"', '""') + '"'
    return f"(?:{re.escape(quoted)}|{re.escape(role)})"


def _rename_role(text: str, role: str) -> str:
    """Write `role` as SNAPSHOT_OWNER where pg_dump names a role (never inside a function body)."""
    r = _ident_pattern(role)
    for pattern in (
        rf"(; Owner: ){r}()$",
        rf"( OWNER TO ){r}(;)$",
        rf"( FOR ROLE ){r}( )",
        rf"^(GRANT .* TO ){r}(;)$",
        rf"^(REVOKE .* FROM ){r}(;)$",
    ):
        text = re.sub(pattern, lambda m: m.group(1) + SNAPSHOT_OWNER + m.group(2), text, flags=re.MULTILINE)
    return text


def normalize(dump: str, owner: str = SNAPSHOT_OWNER) -> str:
    """pg_dump's output without what changes from run to run or server to server; `owner` is
    the role that ran the migrations."""
    text = _RESTRICT_LINES.sub("", _VERSION_LINES.sub("", dump))
    text = _sort_grant_runs(text)
    return text if owner == SNAPSHOT_OWNER else _rename_role(text, owner)


def _sort_grant_runs(text: str) -> str:
    """Consecutive GRANTs in name order: pg_dump prints them in the order the privileges were
    granted (an upgraded database granted them in another order than a fresh one), and
    grants commute."""
    out, run = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("GRANT "):
            run.append(line)
            continue
        out += sorted(run)
        run = []
        out.append(line)
    return "".join(out + sorted(run))


def dump_schema(url: str) -> str:
    """The normalized schema of the database at `url` (yoyo's tables left out)."""
    with psycopg.connect(url) as conn:
        # Whoever ran the migrations owns our schemas.
        owner = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'core'").fetchone()
    out = pg_tool("pg_dump", url, *_DUMP_ARGS, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"pg_dump failed:\n{out.stderr}")
    return normalize(out.stdout, owner[0] if owner else SNAPSHOT_OWNER)


def schema_diff(
    expected: str, actual: str, expected_name: str = "migrations/schema.sql", actual_name: str = "migrated database"
) -> str:
    """A unified diff, empty when the two are the same."""
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), expected_name, actual_name, n=3
        )
    )


def _with_db(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


@contextmanager
def throwaway_database(server_url: str | None = None) -> Iterator[str]:
    """An empty database, dropped afterwards: on `server_url`'s server, else in a throwaway cluster."""
    from .local_cluster import remove_cluster, throwaway_cluster

    if server_url is None:
        cluster = throwaway_cluster("kioskledger-schema-")
        try:
            cluster.create_database("kl_schema")
            yield cluster.url("kl_schema")
        finally:
            remove_cluster(cluster)
        return
    name = "kl_schema_" + secrets.token_hex(4)
    admin = _with_db(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_schema(server_url: str | None = None) -> str:
    """Migrate an empty database and return its normalized schema."""
    from .migrate import migrate

    with throwaway_database(server_url) as url:
        migrate(url)
        return dump_schema(url)


def schema_dump(server_url: str | None = None, check: bool = False, snapshot: Path = SNAPSHOT) -> int:
    """Write the snapshot (0), or with `check` compare it: 0 when equal, 1 with a diff."""
    actual = migrated_schema(server_url)
    expected = snapshot.read_text() if snapshot.exists() else ""
    if check:
        diff = schema_diff(expected, actual)
        if diff:
            print(diff, end="")
            print(HINT)
            return 1
        print(f"{snapshot.name} is up to date")
        return 0
    if actual != expected:
        snapshot.write_text(actual)
        print(f"wrote {snapshot}")
    else:
        print(f"{snapshot} unchanged")
    return 0
