"""Static checks over the Python: ruff (lint and format) and the import-linter layer
contracts in pyproject.toml (the three programs never import each other; none imports the
operator's tools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    out = run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_applied():
    out = run(str(BIN / "ruff"), "format", "--no-cache", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr + "\nrun: .venv/bin/ruff format ."


def test_import_layers_hold():
    out = run(str(BIN / "lint-imports"), "--no-cache")
    assert out.returncode == 0 and "0 broken" in out.stdout, out.stdout + out.stderr
