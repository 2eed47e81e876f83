"""Shared benchmark plumbing: a throwaway migrated cluster, the RPC server, tools."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from kioskledger.ops.local_cluster import find_bindir
from tests.support.database import migrated_cluster
from tests.support.rpc_process import rpc_server as serving

BENCH_DIR = Path(__file__).parent


@contextmanager
def bench_database():
    """Yields (owner_url, authenticator_url, cluster) on a fresh migrated cluster."""
    with migrated_cluster("kioskledger-bench-", "bench") as db:
        yield db.url, db.rpc_url, db.cluster


@contextmanager
def rpc_server(
    owner_url: str, rpc_url: str, jwt_secret: str, pool_max: int, workers: int = 1, prefix: tuple[str, ...] = ()
):
    env = dict(
        os.environ,
        KL_NO_DOTENV="1",
        DATABASE_URL=owner_url,
        RPC_DATABASE_URL=rpc_url,
        JWT_SECRET=jwt_secret,
        RPC_POOL_MIN=str(min(16, pool_max)),
        RPC_POOL_MAX=str(pool_max),
        RPC_WORKERS=str(workers),
    )
    with serving(env, prefix=prefix, timeout=120 if prefix else 30) as running:
        yield running.base, running.proc.pid


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process and its live descendants (the server's
    workers, when it runs several)."""
    user, system = process_cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            u, s = tree_cpu_seconds(int(child))
        except OSError:  # it ended meanwhile
            continue
        user, system = user + u, system + s
    return user, system


def require_tool(name: str, debian_package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", debian_package],
            check=True,
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        if path := shutil.which(name):
            return path
    raise SystemExit(f"benchmark needs `{name}`: apt-get install -y {debian_package}")


def pgbench_path() -> str:
    return str(find_bindir() / "pgbench")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_pgbench(url: str, script: str, clients: int, seconds: int, defines: dict) -> dict:
    """pgbench -M prepared with a script from bench/; requests/s, p50/p99 from its per-transaction log."""
    with tempfile.TemporaryDirectory() as logdir:
        os.chmod(logdir, 0o777)
        cmd = [
            pgbench_path(),
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            str(BENCH_DIR / script),
            "-l",
            "--log-prefix",
            f"{logdir}/tx",
        ]
        for k, v in defines.items():
            cmd += ["-D", f"{k}={v}"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
        tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        latencies = []
        for path in glob.glob(f"{logdir}/tx*"):
            with open(path) as f:
                latencies += [int(line.split()[2]) for line in f]
    latencies.sort()
    return {
        "rps": tps,
        "p50_ms": percentile(latencies, 50) / 1000,
        "p99_ms": percentile(latencies, 99) / 1000,
        "errors": int(failed.group(1)) if failed else 0,
    }


# -- the summary `make bench` prints at the end --------------------------------------------
# Each bench appends its headline figures here (one JSON object per line) when
# KL_BENCH_RESULTS names a file; bench.summary prints them as one table.


def record(figure: str, value: float, unit: str, against: str, ratio: float | None, target: str, passed: bool | None):
    """One row of the summary: `ratio` is value over the peer or baseline named in `against`
    (None for an absolute budget); `passed` None when there is no target."""
    path = os.environ.get("KL_BENCH_RESULTS")
    if not path:
        return
    row = {
        "figure": figure,
        "value": value,
        "unit": unit,
        "against": against,
        "ratio": ratio,
        "target": target,
        "passed": passed,
    }
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
