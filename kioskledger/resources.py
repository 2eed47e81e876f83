"""Where the SQL lives: inside the installed package (a wheel ships sql/ and migrations/
as kioskledger/sql and kioskledger/migrations), or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


SQL_DIR = _resource_dir("sql")
MIGRATIONS_DIR = _resource_dir("migrations")
# The expected schema (kioskledger/ops/schema.py) sits beside the migrations, but is none.
SCHEMA_SNAPSHOT = MIGRATIONS_DIR / "schema.sql"
