"""DEX traffic: an operator's telemetry registers fresh machines (new case serials) and
ingests the fixture audits for them (tests/fixtures/dex, as file content), some resent."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import psycopg

from bench.soak.effects import Api, EffectLog
from bench.soak.traffic import Generator, request_id, send, send_like_a_client
from kioskledger.protocol import call

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "dex"
COMPANY = "soakco"
# A machine's life in reads, then a few odd files now and then.
SEQUENCE = ("snack_read1.dex", "snack_read2.dex", "snack_read2_rereport.dex", "snack_read3.dex")
ODD = ("g85_swapped.dex", "se_wrong.dex", "aborted_only.dex", "not_dex.txt", "multi_block_aborted.dex")


def setup(owner_url: str) -> None:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        call(conn, "admin", "SELECT api.company_create(%s, 'Soak vending', %s)", [COMPANY, "soak-company"])


class DexTraffic(Generator):
    name_prefix = "dex"

    def __init__(self, api: Api, log: EffectLog, stop, seed: int, pause: float = 0.5):
        super().__init__(stop, seed, pause)
        self.api, self.log = api, log
        self.files = {name: (FIXTURES / name).read_text() for name in SEQUENCE + ODD}

    def register(self) -> str | None:
        serial, rid = "SOAK" + secrets.token_hex(5).upper(), request_id("machine")
        self.log.intend("machine_register", rid, case_serial=serial)
        body = {
            "case_serial": serial,
            "company_id": COMPANY,
            "location": None,
            "model": "Fixture Snack 1000",
            "currency": "EUR",
            "decimals": 2,
            "request_id": rid,
        }
        status, _ = send(self.api, "/rpc/machine_register", body, "machine_register", rid)
        return serial if status == 200 else None

    def ingest(self, serial: str, name: str) -> None:
        raw, rid = self.files[name], request_id("dex")
        sha = hashlib.sha256(raw.encode()).hexdigest()
        self.log.intend("dex_ingest", rid, case_serial=serial, sha256=sha)
        body = {"case_serial": serial, "raw": raw, "source": "telemetry", "request_id": rid}
        send_like_a_client(self.api, self.rng, "/rpc/dex_ingest", body, "dex_ingest", rid)

    def step(self) -> None:
        serial = self.register()
        if serial is None:
            return
        for name in SEQUENCE[: self.rng.randint(1, len(SEQUENCE))]:
            self.ingest(serial, name)
        if self.rng.random() < 0.3:
            self.ingest(serial, self.rng.choice(ODD))
