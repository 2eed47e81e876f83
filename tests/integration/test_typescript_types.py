"""TypeScript clients typed from /openapi.json: openapi-typescript (pinned in
tests/clients/js) generates the types from the running server's document, and
tests/clients/js/typed/usage.ts, a small program reading results of card_issue, bar_order,
card_balance, machine_sales, pick_list and refund_export, type-checks with `tsc --noEmit
--strict`; it also states that no callable function's result is `unknown`. The same
program with a wrong type, or against a document with one result left undeclared, fails."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.js_clients import JS, require_node

pytestmark = pytest.mark.slow  # two type generations and two compilations: ~10 s

TSC = ["--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler"]


def generate(node: str, document: dict, where) -> None:
    where.mkdir()
    (where / "openapi.json").write_text(json.dumps(document))
    shutil.copy(JS / "typed" / "usage.ts", where / "usage.ts")
    done = subprocess.run(
        [node, str(JS / "node_modules" / "openapi-typescript" / "bin" / "cli.js"), str(where / "openapi.json"),
         "-o", str(where / "kioskledger.ts")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def tsc(node: str, where) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node, str(JS / "node_modules" / "typescript" / "bin" / "tsc"), *TSC, str(where / "usage.ts")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_typescript_program_type_checks_against_the_generated_types(client, tmp_path):
    node = require_node("openapi-typescript", "typescript")
    document = client.get("/openapi.json").json()
    generate(node, document, tmp_path / "ok")
    types = (tmp_path / "ok" / "kioskledger.ts").read_text()
    assert '"/rpc/machine_sales": {' in types and "post_card_issue: {" in types
    done = tsc(node, tmp_path / "ok")
    assert done.returncode == 0, done.stdout + done.stderr

    # The check has teeth: a result read as the wrong type, and a result left `unknown`.
    broken = json.loads(json.dumps(document))
    ok = broken["paths"]["/rpc/card_issue"]["post"]["responses"]["200"]
    ok["content"]["application/json"]["schema"] = {}
    generate(node, broken, tmp_path / "broken")
    usage = tmp_path / "broken" / "usage.ts"
    wrong = usage.read_text().replace(
        "const left: number = paid.new_balance;", "const left: string = paid.new_balance;"
    )
    assert wrong != usage.read_text()
    usage.write_text(wrong)
    done = tsc(node, tmp_path / "broken")
    assert done.returncode != 0
    assert "Type 'number' is not assignable to type 'string'" in done.stdout, done.stdout
    assert '"/rpc/card_issue"' in done.stdout and "has an unknown result type" in done.stdout, done.stdout
