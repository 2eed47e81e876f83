"""WORLD_ID_MODE=dev skips verification only when set, and says so loudly at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from rpc.localdb import free_port
from tests.conftest import JWT_SECRET
from tests.helpers import call_as, rid


def start(migrated, **env_extra):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORLD_")}
    env.update(DATABASE_URL=migrated.url, RPC_DATABASE_URL=migrated.rpc_url, JWT_SECRET=JWT_SECRET, **env_extra)
    proc = subprocess.Popen([sys.executable, "-m", "rpc", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out


def new_transaction(db) -> tuple[str, dict]:
    kiosk_id = "dev" + rid()[-8:]
    call_as(db, "admin", "SELECT api.kiosk_register(%s, 'Dev', NULL, NULL, 1000, %s)", (kiosk_id, rid()))
    tx = call_as(db, "kiosk", "SELECT api.atm_transaction_create(100, %s)", (rid(),), {"kiosk_id": kiosk_id})
    return kiosk_id, tx


def pay_body(tx):
    return {"transaction_id": tx["id"], "request_id": rid(), "payment": {"transaction_id": "wp_dev_" + rid()[-8:]},
            "world_id": {"proof": "0x0", "merkle_root": "0x0", "nullifier_hash": "0xdef", "verification_level": "orb"}}


def test_without_world_config_pay_is_503(migrated, db):
    proc, base = start(migrated)
    try:
        _, tx = new_transaction(db)
        resp = httpx.post(base + "/atm/pay", json=pay_body(tx))
        assert resp.status_code == 503 and "WORLD_ID_APP_ID" in resp.json()["message"]
    finally:
        out = stop(proc)
    assert "WORLD_ID_MODE=dev" not in out, "no dev mode unless asked for"


def test_dev_mode_is_explicit_and_loud(migrated, db):
    proc, base = start(migrated, WORLD_ID_MODE="dev")
    try:
        _, tx = new_transaction(db)
        resp = httpx.post(base + "/atm/pay", json=pay_body(tx))
        assert resp.status_code == 200 and resp.json()["status"] == "paid"
    finally:
        out = stop(proc)
    assert out.count("WORLD_ID_MODE=dev: World ID proofs and World App payments are NOT verified") >= 3
