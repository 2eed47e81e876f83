"""Run the RPC app under uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from . import logs
from .limits import HeaderLimitProtocol

_OWNED_PREFIX = "kioskledger-rpc-metrics-"  # + the server's pid + a random part


def _metrics_dir(workers: int) -> tuple[str | None, bool]:
    """The directory the workers share their metrics through (rpc/metrics.py), empty at
    start: counts left by an earlier server would be added to this one's. Ours unless the
    operator named one; ours is removed at exit. None for a single worker, which keeps its
    counters in memory: a file-backed value costs a pid check and a write into the mapped
    file per value, three per request (5 % of the server's profile samples per call)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return given, False
    if workers == 1:
        return None, False
    remove_orphaned_metrics_dirs(Path(tempfile.gettempdir()))
    return tempfile.mkdtemp(prefix=f"{_OWNED_PREFIX}{os.getpid()}-"), True


def remove_orphaned_metrics_dirs(parent: Path) -> list[Path]:
    """Remove the metrics directories of servers that are gone: a server killed outright
    (SIGKILL, the OOM killer) never reaches its clean-up. Each directory's name carries its
    server's pid; one whose process no longer exists is an orphan."""
    removed = []
    for path in parent.glob(_OWNED_PREFIX + "*-*"):
        pid = path.name[len(_OWNED_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    # Set before uvicorn imports the app (and with it prometheus_client) in any worker.
    metrics_dir, owned = _metrics_dir(workers)
    if metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "rpc.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,  # rpc.observe writes the access log, as JSON
            log_config=logs.CONFIG,
            log_level="info",
            loop="uvloop",
            http=HeaderLimitProtocol,  # httptools, with a limit on the request head
        )
    finally:
        if owned and metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
