"""Where the peers we measure against live, and their versions as printed next to each ratio."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pgledger_dir() -> Path:
    """pgledger's SQL (MIT, with its licence) is kept beside the repository, in shared/peers,
    not copied into it. KL_PGLEDGER_DIR points elsewhere."""
    path = Path(os.environ.get("KL_PGLEDGER_DIR") or REPO.parent / "shared" / "peers" / "pgledger")
    if not (path / "pgledger.sql").is_file():
        raise SystemExit(
            f"the pgledger peer is missing: no {path}/pgledger.sql. Put pgledger's SQL (ulid-uuid-to-ulid.sql, "
            "ulid-ulid-to-uuid.sql, pgledger.sql) there, or set KL_PGLEDGER_DIR to its folder."
        )
    return path


def pgledger_version() -> str:
    """pgledger has no release numbers: the upstream commit its README names."""
    readme = pgledger_dir() / "README.md"
    m = re.search(r"commit\s+([0-9a-f]{7,40})", readme.read_text()) if readme.is_file() else None
    return f"pgledger@{m.group(1)[:7]}" if m else "pgledger (unknown commit)"


def pgledger_sql() -> list[str]:
    """Its files in the load order its README gives."""
    d = pgledger_dir()
    return [(d / name).read_text() for name in ("ulid-uuid-to-ulid.sql", "ulid-ulid-to-uuid.sql", "pgledger.sql")]


def package_version(name: str) -> str:
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        raise SystemExit(f"the queue peer `{name}` is not installed: .venv/bin/pip install -e '.[bench]'") from None
