"""A host job's command that runs too long, or when the scheduler stops, is stopped with
everything it started (its process group) and reported as a failure, not waited for."""

from __future__ import annotations

import os
import sys
import threading
import time

from kioskledger.ops import host_jobs
from tests.support.waiting import wait_for


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _slow_interpreter(tmp_path, monkeypatch):
    """Stands in for `python -m kioskledger backup`: starts a child that would run a
    minute (as pgbackrest would), writes its pid, waits."""
    script = tmp_path / "slow"
    script.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {tmp_path / 'child.pid'}\nwait\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(script))
    return tmp_path / "child.pid"


def test_a_command_past_its_timeout_is_stopped_with_its_children(tmp_path, monkeypatch):
    pidfile = _slow_interpreter(tmp_path, monkeypatch)
    began = time.monotonic()
    outcome = host_jobs.run_command("backup --type full", 1, threading.Event())
    assert time.monotonic() - began < 10
    assert outcome.exit_code is None and "timed out after 1 s" in outcome.error
    wait_for(lambda: _gone(int(pidfile.read_text())), timeout=5, message="the command's child stopped")


def test_a_stopping_scheduler_stops_the_command(tmp_path, monkeypatch):
    pidfile = _slow_interpreter(tmp_path, monkeypatch)
    stopping = threading.Event()
    threading.Timer(1.0, stopping.set).start()
    outcome = host_jobs.run_command("restore-drill", 3600, stopping)
    assert outcome.exit_code is None and "the scheduler stopped" in outcome.error
    wait_for(lambda: _gone(int(pidfile.read_text())), timeout=5, message="the command's child stopped")
