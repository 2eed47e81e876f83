"""The wheel ships its SQL: build it, install it into a directory of its own, and migrate an
empty database with `python -m kioskledger migrate` from there, the checkout out of reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from kioskledger.ops.migrate import versioned_migrations
from tests.support.helpers import assert_schema_is_snapshot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Not part of the wheel, or not ours to copy (setuptools' build/ would leak stale files in).
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".pgdata",
    ".env",
    "build",
    "*.egg-info",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
    "tests",
    "bench",
    "node_modules",
)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout, installed into a target directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(src),
        ]
    )
    [wheel] = (tmp / "dist").glob("kioskledger-*.whl")
    target = tmp / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)])
    return target


def test_the_wheel_ships_the_customer_page(installed):
    page = installed / "rpc" / "static" / "miniapp"
    for name in (
        "index.html",
        "assets/app.js",
        "assets/app.css",
        "assets/vendor/minikit.js",
        "assets/vendor/LICENSES.txt",
    ):
        assert (page / name).is_file(), name


def test_the_installed_wheel_migrates_an_empty_database(installed, empty_db, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(installed), DATABASE_URL=empty_db, KL_NO_DOTENV="1")
    # From outside the checkout, the package and its SQL come from the installed wheel.
    where = run(
        [sys.executable, "-c", "import kioskledger.resources as r; print(r.__file__, r.SQL_DIR, r.MIGRATIONS_DIR)"],
        cwd=tmp_path,
        env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed) for p in where), where

    out = run([sys.executable, "-m", "kioskledger", "migrate"], cwd=tmp_path, env=env).stdout
    assert "sql/ re-applied" in out, out
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regprocedure('api.whoami()') IS NOT NULL").fetchone()[0]
        applied = [m for (m,) in conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1").fetchall()]
    assert applied == sorted(m.id for m in versioned_migrations())
    assert_schema_is_snapshot(empty_db, "migrated from the installed wheel")


def test_the_installed_wheel_serves_the_console(installed):
    """The console's pages and the vendored chart library, with its licence, are in the wheel."""
    console = installed / "rpc" / "static" / "console"
    for name in (
        "index.html",
        "login.html",
        "js/pages/atm.js",
        "css/console.css",
        "vendor/uplot/uPlot.esm.js",
        "vendor/uplot/LICENSE",
    ):
        assert (console / name).is_file(), name
