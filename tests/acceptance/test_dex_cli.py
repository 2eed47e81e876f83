"""python -m rpc dex-import end to end: a subprocess against the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.helpers import call_as, rid

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dex"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(db):
    cid = "cli-" + uuid.uuid4().hex[:8]
    call_as(db, "admin", "SELECT api.company_create(%s, %s, %s)", (cid, "CLI tests", rid()))
    serials = []
    for _ in range(2):
        serial = "CLI-" + uuid.uuid4().hex[:10]
        call_as(
            db,
            "admin",
            "SELECT api.machine_register(%s, %s, NULL, 'Fixture Snack 1000', 'EUR', 2, %s)",
            (serial, cid, rid()),
        )
        serials.append(serial)
    return cid, serials


def run(migrated, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=migrated.url)
    return subprocess.run(
        [sys.executable, "-m", "kioskledger", "dex-import", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(stdout: str) -> dict[str, int]:
    table = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            table[parts[0]] = int(parts[1])
    return table


def captures(db, serial) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT c.status, c.source FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id "
        "WHERE m.case_serial = %s ORDER BY c.id",
        [serial],
    ).fetchall()


def test_machine_and_files_one_bad_file_does_not_stop_the_rest(migrated, db, setup, tmp_path):
    _, (serial, _) = setup
    bad = tmp_path / "nul.dex"
    bad.write_bytes(b"DXS*\x00binary")
    files = [
        FIXTURES / "snack_read1.dex",
        bad,
        FIXTURES / "not_dex.txt",
        tmp_path / "missing.dex",
        FIXTURES / "g85_missing.dex",
        FIXTURES / "snack_read1.dex",
    ]
    out = run(migrated, "--machine", serial, *files)
    assert out.returncode == 1, out.stdout + out.stderr
    assert counts(out.stdout) == {"ok": 1, "warnings": 1, "duplicate": 1, "rejected": 1, "error": 2, "total": 6}, (
        out.stdout
    )
    assert "NUL bytes" in out.stdout and "No such file" in out.stdout and "no DXS header" in out.stdout
    assert captures(db, serial) == [("accepted", "dex-import"), ("rejected", "dex-import"), ("accepted", "dex-import")]
    # Running it again replays every stored answer: nothing is ingested twice.
    again = run(migrated, "--machine", serial, FIXTURES / "snack_read1.dex", FIXTURES / "g85_missing.dex")
    assert again.returncode == 0 and counts(again.stdout)["duplicate"] == 2, again.stdout
    assert len(captures(db, serial)) == 3


def test_map_file_and_directory(migrated, db, setup, tmp_path):
    _, (first, second) = setup
    for name in ("snack_read1.dex", "snack_read2.dex"):
        shutil.copy(FIXTURES / name, tmp_path / f"a_{name}")
    shutil.copy(FIXTURES / "wrap_read1.dex", tmp_path / "b_wrap.dex")
    (tmp_path / "stray.txt").write_text("not mapped")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(f"file,case_serial\na_*.dex,{first}\nb_wrap.dex,{second}\nnone_*.dex,{second}\n")
    out = run(migrated, "--map", mapping, tmp_path)
    assert counts(out.stdout) == {"ok": 3, "warnings": 0, "duplicate": 0, "rejected": 0, "error": 2, "total": 5}, (
        out.stdout
    )
    assert "stray.txt" in out.stdout and "no file matches" in out.stdout
    assert out.returncode == 1
    # Files of one machine went in name order: read 2 is a delta against read 1.
    assert db.execute(
        "SELECT array_agg(r.delta_kind ORDER BY r.id) FROM dex.reads r JOIN dex.machines m "
        "ON m.id = r.machine_id WHERE m.case_serial = %s",
        [first],
    ).fetchone()[0] == ["baseline", "normal"]
    assert len(captures(db, second)) == 1


def test_jobs_ingest_on_several_connections_each_machines_files_in_order(migrated, db, setup, tmp_path):
    _, (first, second) = setup
    for name in ("snack_read1.dex", "snack_read2.dex"):
        shutil.copy(FIXTURES / name, tmp_path / f"a_{name}")
    shutil.copy(FIXTURES / "wrap_read1.dex", tmp_path / "b_wrap.dex")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(f"file,case_serial\na_*.dex,{first}\nb_wrap.dex,{second}\n")
    out = run(migrated, "--jobs", "2", "--map", mapping, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert counts(out.stdout) == {"ok": 3, "warnings": 0, "duplicate": 0, "rejected": 0, "error": 0, "total": 3}, (
        out.stdout
    )
    # Both of the first machine's files went on one connection, in name order.
    assert db.execute(
        "SELECT array_agg(r.delta_kind ORDER BY r.id) FROM dex.reads r JOIN dex.machines m "
        "ON m.id = r.machine_id WHERE m.case_serial = %s",
        [first],
    ).fetchone()[0] == ["baseline", "normal"]
    assert len(captures(db, second)) == 1
    refused = run(migrated, "--jobs", "0", "--machine", first, FIXTURES / "snack_read1.dex")
    assert refused.returncode != 0 and "--jobs must be at least 1" in refused.stderr


def test_operator_of_another_company_ingests_nothing(migrated, db, setup):
    _, (serial, _) = setup
    out = run(
        migrated, "--role", "operator", "--company", "someone-else", "--machine", serial, FIXTURES / "snack_read1.dex"
    )
    assert out.returncode == 1 and "MACHINE_NOT_FOUND" in out.stdout, out.stdout
    assert captures(db, serial) == []


def test_operator_of_the_machines_company(migrated, db, setup):
    cid, (serial, _) = setup
    out = run(migrated, "--role", "operator", "--company", cid, "--machine", serial, FIXTURES / "snack_read1.dex")
    assert out.returncode == 0 and counts(out.stdout)["ok"] == 1, out.stdout + out.stderr


def test_files_given_with_machine_go_in_the_order_given(migrated, db, setup, tmp_path):
    # Sales are deltas between reads: the operator's order is the reads' order (a shell glob
    # gives name order); the tool never reorders an explicit list.
    _, (serial, _) = setup
    older, newer = tmp_path / "b-older.dex", tmp_path / "a-newer.dex"
    older.write_bytes((FIXTURES / "snack_read1.dex").read_bytes())
    newer.write_bytes((FIXTURES / "snack_read2.dex").read_bytes())
    out = run(migrated, "--machine", serial, older, newer)
    assert out.returncode == 0, out.stdout + out.stderr
    raws = db.execute(
        "SELECT c.raw FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id "
        "WHERE m.case_serial = %s ORDER BY c.id",
        [serial],
    ).fetchall()
    assert [r[0] for r in raws] == [older.read_bytes().decode(), newer.read_bytes().decode()]
