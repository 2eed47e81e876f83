"""Real DEX files from $DEX_SAMPLES_DIR (default: shared/dex-samples beside the checkout),
when that folder exists; skipped otherwise. The totals known per file are checked against
what the SQL derived - and against the files themselves, read independently here."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support.helpers import call_as, rid

SAMPLES = Path(os.environ.get("DEX_SAMPLES_DIR") or Path(__file__).resolve().parents[3] / "shared" / "dex-samples")
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no DEX samples at {SAMPLES}")


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("ascii")


@pytest.fixture(scope="module")
def company(migrated):
    cid = "smp-" + uuid.uuid4().hex[:8]
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        call_as(conn, "admin", "SELECT api.company_create(%s, %s, %s)", (cid, "Sample machines", rid()))
    return cid


def ingest_sample(db, company, name: str, raw: str | None = None) -> tuple[dict, int]:
    serial = "SMP-" + uuid.uuid4().hex[:12]
    model = name.removesuffix(".txt").replace("_", " ")
    call_as(db, "admin", "SELECT api.machine_register(%s, %s, NULL, %s, 'USD', 2, %s)", (serial, company, model, rid()))
    res = call_as(
        db,
        "admin",
        "SELECT api.dex_ingest(%s, %s, 'sample', %s)",
        (serial, raw if raw is not None else sample(name), rid()),
    )
    assert res["status"] == "accepted", res
    return res, res["reads"][0]["read_id"]


def totals(db, read_id):
    return {
        r: (v, c)
        for r, v, c in db.execute(
            "SELECT record, value_init, count_init FROM dex.read_totals WHERE read_id = %s", [read_id]
        )
    }


def pa2_sums(db, read_id):
    return db.execute(
        "SELECT sum(value_init), sum(vends_init) FROM dex.read_selections WHERE read_id = %s", [read_id]
    ).fetchone()


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.txt")) if SAMPLES.is_dir() else [])
def test_every_sample_is_accepted_with_a_verified_g85(db, company, name):
    res, read_id = ingest_sample(db, company, name)
    assert res["crc_status"] == "ok", res
    # EA3/EA7 are bookkeeping: they never become errors (every machine would be flagged).
    assert (
        db.execute(
            "SELECT count(*) FROM dex.machine_errors WHERE first_read_id = %s AND source NOT IN ('MA5', 'EA2')",
            [read_id],
        ).fetchone()[0]
        == 0
    )
    ea2_active = sum(
        1
        for line in sample(name).splitlines()
        if line.startswith("EA2*") and len(line.split("*")) > 5 and line.split("*")[5] == "1" and line.split("*")[1]
    )
    assert (
        db.execute(
            "SELECT count(*) FROM dex.machine_errors WHERE first_read_id = %s AND source = 'EA2'", [read_id]
        ).fetchone()[0]
        == ea2_active
    )


def test_ams_sensit_iii_known_totals(db, company):
    res, r = ingest_sample(db, company, "AMS_Sensit_III.txt")
    t = totals(db, r)
    assert t["VA1"] == (12272820, 53216)
    assert pa2_sums(db, r) == (12272820, 53216), "VA1 since init equals the sum of PA2"
    assert t["CA2"][0] + t["DA2"][0] == t["VA1"][0] and (t["CA2"][0], t["DA2"][0]) == (1378320, 10894500)
    tubes = dict(db.execute("SELECT coin_value, coins FROM dex.read_tubes WHERE read_id = %s", [r]).fetchall())
    assert tubes == {5: 73, 25: 98, 100: 46}
    assert (
        sum(v * n for v, n in tubes.items())
        == 7415
        == db.execute("SELECT tubes_value FROM dex.reads WHERE id = %s", [r]).fetchone()[0]
    )
    assert res["warnings"] == [], res
    # The stored file is LF-only; its G85 is the CRC of the CRLF form, and a CRLF copy agrees.
    assert "\r" not in sample("AMS_Sensit_III.txt")
    crlf, _ = ingest_sample(db, company, "AMS_Sensit_III.txt", sample("AMS_Sensit_III.txt").replace("\n", "\r\n"))
    assert crlf["crc_status"] == "ok"
    # AMS temperature layout (MA5*TEMP*41*5: °F then °C) decoded for this model.
    assert db.execute("SELECT celsius FROM dex.read_temperatures WHERE read_id = %s", [r]).fetchone()[0] == 5


def test_crane_national_187_known_totals(db, company):
    res, r = ingest_sample(db, company, "Crane_National_187.txt")
    assert pa2_sums(db, r)[0] == 6444100 == totals(db, r)["VA1"][0], "sum of PA2 values = VA101"
    g85 = next(line for line in sample("Crane_National_187.txt").splitlines() if line.startswith("G85*"))
    assert g85.split("*")[1] != g85.split("*")[1].upper(), "the file's G85 is lowercase hex"
    assert res["crc_status"] == "ok"
    assert res["se_status"] == "mismatch" and any("SE01 says 236" in w for w in res["warnings"]), res
