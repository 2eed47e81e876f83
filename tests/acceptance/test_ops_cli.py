"""The `kioskledger` command's pass-through to psql: its arguments are psql's own."""

from __future__ import annotations

import os
import subprocess
import sys


def test_psql_takes_its_own_options(migrated):
    env = dict(os.environ, DATABASE_URL=migrated.url)
    out = subprocess.run(
        [sys.executable, "-m", "kioskledger", "psql", "-X", "-A", "-t", "-c", "SELECT 40 + 2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"
