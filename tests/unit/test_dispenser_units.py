"""Small pieces of the dispenser without a database: config, backoff, the fallback timer,
the SQL it may send, the CLI's inspection commands."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest

from dispenser import config
from dispenser.connection import Backoff
from dispenser.listener import FallbackTimer
from dispenser.queue import queries
from tests.support.dispenser_rig import ROOT, write_toml

PROVISIONED = """# written by kiosk-provision
kiosk_id = "lobby_1"
dsn = "postgresql://kiosk_lobby_1:secret@127.0.0.1:5432/kioskledger"
api_url = "http://127.0.0.1:8000"
token = "eyJ..."

[hopper]
device = "sim"   # or /dev/ttyUSB0 for a ccTalk hopper
address = 3
"""


def test_the_provisioned_file_is_a_valid_config_and_flags_override_it(tmp_path):
    path = tmp_path / "dispenser.toml"
    path.write_text(PROVISIONED)
    cfg = config.load(path)
    assert (cfg.kiosk_id, cfg.hopper.device, cfg.hopper.address, cfg.agent.fallback_claim_min) == (
        "lobby_1",
        "sim",
        3,
        5.0,
    )
    cfg = config.load(path, dsn="postgresql://other", hopper_device="/dev/ttyUSB0", journal="/tmp/j.sqlite3")
    assert (cfg.dsn, cfg.hopper.device, str(cfg.journal_path())) == (
        "postgresql://other",
        "/dev/ttyUSB0",
        "/tmp/j.sqlite3",
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        ("[agent]\nheartbeat_secs = 5\n", "unknown key"),
        ("[hopper]\nretries = 'three'\n", "unexpected value"),
        ("[agent]\nfallback_claim_min = 20.0\nfallback_claim_max = 10.0\n", "fallback_claim_min"),
        ("pin = 1234\n", "unknown key"),
    ],
)
def test_config_mistakes_are_errors(tmp_path, extra, message):
    path = tmp_path / "dispenser.toml"
    text = PROVISIONED
    if extra.startswith("[hopper]"):
        text = text.replace("address = 3\n", "address = 3\n" + extra.split("\n", 1)[1])
    elif extra.startswith("["):
        text += "\n" + extra
    else:
        text = extra + text
    path.write_text(text)
    with pytest.raises(config.ConfigError, match=message):
        config.load(path)


def test_backoff_doubles_from_one_to_thirty_seconds_with_jitter():
    b = Backoff(1.0, 30.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(8)]
    for delay, base in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30], strict=True):
        assert 0.75 * base <= delay <= min(30.0, 1.25 * base)
    assert len({round(d, 6) for d in delays}) == len(delays), "jittered"
    b.reset()
    assert b.next_delay() <= 1.25


def test_the_fallback_claim_is_due_at_start_then_every_five_to_ten_seconds():
    t = FallbackTimer(5.0, 10.0, rng=random.Random(1))
    assert t.expired()
    waits = []
    for _ in range(50):
        t.rearm()
        waits.append(t.remaining())
    assert min(waits) > 4.9 and max(waits) <= 10.0 and max(waits) - min(waits) > 2


def test_the_agent_sends_only_api_calls():
    q = queries()
    assert {"claim", "begin", "progress", "report", "unknown", "expire_leases", "whoami"} <= set(q)
    for name, text in q.items():
        called = re.findall(r"\b([a-z_]+)\.([a-z_]+)\(", text)
        assert all(schema == "api" for schema, _ in called), (name, text)
        assert called, name


def test_hopper_status_and_journal_commands(tmp_path):
    cfg = write_toml(
        tmp_path / "d.toml",
        {
            "kiosk_id": "cli_test",
            "dsn": "postgresql://unused",
            "hopper": {"device": "sim", "sim_state_file": str(tmp_path / "sim.json")},
            "agent": {"journal": str(tmp_path / "journal.sqlite3")},
        },
    )
    out = subprocess.run(
        [sys.executable, "-m", "dispenser", "hopper-status", "--config", str(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["identity"]["category"] == "Payout" and status["status"]["event_counter"] == 0
    out = subprocess.run(
        [sys.executable, "-m", "dispenser", "journal", "--config", str(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout == "", out.stderr
