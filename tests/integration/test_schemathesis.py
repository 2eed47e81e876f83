"""Schemathesis (from the test extras) fuzzes the read functions a till may call, as staff,
against /openapi.json: requests the document calls valid are accepted, none answers 5xx, and
every answer (status, headers, body) is one the document describes. Bounded: a few GET
operations, a few cases each, a fixed seed; a failure prints schemathesis' report, each case
with a curl line to reproduce it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# STABLE functions staff may call over GET (x-roles in /openapi.json).
STAFF_READS = ["card_balance", "card_history", "catalog", "products", "whoami"]


def test_staff_reads_match_the_document(server, token, client, tmp_path):
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    assert exe, "schemathesis is not installed: it is in the test extras (pip install -e '.[test]')"
    document = client.get("/openapi.json").json()
    for name in STAFF_READS:
        assert "staff" in document["paths"][f"/rpc/{name}"]["get"]["x-roles"], name
    done = subprocess.run(
        [
            exe,
            "run",
            f"{server}/openapi.json",
            "--url",
            server,
            "-H",
            "Authorization: Bearer " + token("staff", sub="schemathesis-till", pos="bar-st"),
            "--include-name-regex",
            "^GET /rpc/({})$".format("|".join(STAFF_READS)),
            "--phases",
            "coverage,fuzzing",
            "--checks",
            "all",
            "--max-examples",
            "5",
            "--seed",
            "20261202",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--warnings",
            "off",
        ],
        cwd=tmp_path,  # its cache (.schemathesis/) stays out of the checkout
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = done.stdout + done.stderr
    assert re.search(r"Operations:\s+5 selected", report), report
    assert done.returncode == 0, report
