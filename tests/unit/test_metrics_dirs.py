"""A multi-worker RPC server's metrics directory outlives a server killed outright; the
next server removes it, and only directories whose server is gone."""

from __future__ import annotations

import os
import subprocess
import sys

from rpc.server import remove_orphaned_metrics_dirs


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_the_directories_of_gone_servers_are_removed(tmp_path):
    orphan = tmp_path / f"kioskledger-rpc-metrics-{_dead_pid()}-abc123"
    running = tmp_path / f"kioskledger-rpc-metrics-{os.getpid()}-def456"
    unrelated = tmp_path / "kioskledger-rpc-metrics-notapid-x"
    for d in (orphan, running, unrelated):
        d.mkdir()
        (d / "counter_1.db").write_bytes(b"\0" * 16)

    assert remove_orphaned_metrics_dirs(tmp_path) == [orphan]
    assert not orphan.exists()
    assert running.exists() and (running / "counter_1.db").exists()
    assert unrelated.exists()
