"""Schemathesis (from the test extras) fuzzes the whole API against /openapi.json with a
token of every request role (anon, kiosk, staff, operator, admin), each operation as the
least privileged role that may call it (x-roles; the routes outside /rpc as anon): GET
reads and POST calls, valid and invalid data, every check (tests/support/schemathesis.toml: the few narrow exceptions and why).
Requests the document calls valid are accepted or declined as declared, invalid ones are
refused, none answers 5xx, and every answer (status, headers, body) is one the document
describes. Bounded: a few cases per operation, a fixed seed, the roles side by side; a
failure prints schemathesis' report, each case with a curl line to reproduce it."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).parents[1] / "support" / "schemathesis.toml"
ROLES = ("anon", "kiosk", "staff", "operator", "admin")
CLAIMS = {
    "anon": {"sub": "schemathesis-anon"},
    "kiosk": {"sub": "kiosk:st-kiosk", "kiosk_id": "st-kiosk"},
    "staff": {"sub": "schemathesis-till", "pos": "bar-st"},
    "operator": {"sub": "schemathesis-ops", "company_id": "st-company"},
    "admin": {"sub": "schemathesis-admin"},
}


def operations(document: dict, role: str) -> list[str]:
    """'METHOD /path' of the operations fuzzed as `role`: each operation once, as the least
    privileged role that may call it (x-roles; the routes outside /rpc as anon). A second
    role would repeat the same argument checks and double the time; what each role may
    call at all is tests/integration/test_api_sweep.py's."""
    names = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            callers = [r for r in ROLES if r in op.get("x-roles", ("anon",))]
            if callers and callers[0] == role:
                names.append(f"{method.upper()} {path}")
    return names


def test_every_role_gets_what_the_document_says(server, token, client, db, tmp_path):
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    assert exe, "schemathesis is not installed: it is in the test extras (pip install -e '.[test]')"
    # refund_export needs the debtor account it pays refunds from.
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    document = client.get("/openapi.json").json()
    every = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    assert set().union(*(operations(document, role) for role in ROLES)) == every
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = {}
    for role in ROLES:
        names = operations(document, role)
        assert names, role
        headers = [] if role == "anon" else ["-H", "Authorization: Bearer " + token(role, **CLAIMS[role])]
        workdir = tmp_path / role  # its cache (.schemathesis/) stays out of the checkout
        workdir.mkdir()
        runs[role] = (
            len(names),
            subprocess.Popen(
                [
                    exe,
                    "--config-file",
                    str(CONFIG),
                    "run",
                    f"{server}/openapi.json",
                    "--url",
                    server,
                    *headers,
                    "--include-name-regex",
                    "^({})$".format("|".join(re.escape(n) for n in names)),
                    "--phases",
                    "examples,fuzzing",
                    "--mode",
                    "all",
                    "--max-examples",
                    "3",
                    "--seed",
                    "20261202",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "10",
                    "--warnings",
                    "off",
                    "--no-color",
                ],
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
    generated, figures = 0, []
    for role, (count, proc) in runs.items():
        out, _ = proc.communicate(timeout=120)
        assert re.search(rf"Selected:\s+{count}/", out), out
        assert proc.returncode == 0, f"--- {role} ---\n{out}"
        cases = int(re.search(r"(\d+) generated", out).group(1))
        generated += cases
        figures.append(f"{role} {count} operations {cases} cases {re.search(r' in ([0-9.]+s) =', out).group(1)}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(
        f"schemathesis: {generated} cases, 0 failures, {time.monotonic() - started:.1f} s "
        f"({cpu_s:.1f} s CPU; {'; '.join(figures)})"
    )
    assert generated > 200
