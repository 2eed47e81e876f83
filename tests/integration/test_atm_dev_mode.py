"""WORLD_ID_MODE=dev skips verification only when set, and says so loudly at start-up."""

from __future__ import annotations

import os
import subprocess

import httpx

from tests.conftest import JWT_SECRET
from tests.support.helpers import call_as, rid
from tests.support.rpc_process import rpc_server


def server_env(migrated, **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORLD_")}
    env.update(DATABASE_URL=migrated.url, RPC_DATABASE_URL=migrated.rpc_url, JWT_SECRET=JWT_SECRET, **env_extra)
    return env


def new_transaction(db) -> tuple[str, dict]:
    kiosk_id = "dev" + rid()[-8:]
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'Dev', NULL, NULL, 1000, %s)", (kiosk_id, rid()))
    tx = call_as(db, "kiosk", "SELECT api.atm_transaction_create(100, %s)", (rid(),), {"kiosk_id": kiosk_id})
    return kiosk_id, tx


def pay_body(tx):
    return {
        "transaction_id": tx["id"],
        "request_id": rid(),
        "payment": {"transaction_id": "wp_dev_" + rid()[-8:]},
        "world_id": {"proof": "0x0", "merkle_root": "0x0", "nullifier_hash": "0xdef", "verification_level": "orb"},
    }


def test_without_world_config_pay_is_503(migrated, db):
    with rpc_server(server_env(migrated), output=subprocess.PIPE) as running:
        _, tx = new_transaction(db)
        resp = httpx.post(running.base + "/atm/pay", json=pay_body(tx))
        assert resp.status_code == 503 and "WORLD_ID_APP_ID" in resp.json()["message"]
    assert "WORLD_ID_MODE=dev" not in running.output, "no dev mode unless asked for"


def test_dev_mode_is_explicit_and_loud(migrated, db):
    with rpc_server(server_env(migrated, WORLD_ID_MODE="dev"), output=subprocess.PIPE) as running:
        _, tx = new_transaction(db)
        resp = httpx.post(running.base + "/atm/pay", json=pay_body(tx))
        assert resp.status_code == 200 and resp.json()["status"] == "paid"
    assert running.output.count("WORLD_ID_MODE=dev: World ID proofs and World App payments are NOT verified") >= 3
