"""The JavaScript side of the tests: tests/clients/js (its packages pinned by
package-lock.json, installed by `make test` with npm ci)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "clients" / "js"


def require_node(*packages: str) -> str:
    """The node executable, failing the test (never skipping it) when node or one of the
    packages is not installed."""
    node = shutil.which("node")
    if node is None or not all((JS / "node_modules" / p).is_dir() for p in packages):
        pytest.fail("the JS clients are not installed: run `make test` (npm ci --prefix tests/clients/js)")
    return node
