"""Benchmark: the Pi dispenser agent at rest. The agent (`python -m dispenser run`, the
production defaults: fallback claim every 5-10 s, keepalive, lease expiry, heartbeat) runs
on a provisioned kiosk login against the bench cluster, talking ccTalk over a pty to the
simulated hopper (dispenser.simulator, in this process so its CPU is not counted). After
a warm-up, its CPU (utime + stime of its process) and RSS are read over --seconds.
Targets: <= 0.5 % of one core, <= 50 MB RSS.

    python -m bench.agent_idle [--seconds 60] [--warmup 10]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench.common import bench_database, process_cpu_seconds, record
from dispenser.simulator import HopperSimulator
from kioskledger.ops.provision import provision_kiosk
from tests.support.agent_config import write_toml

CPU_TARGET_PCT = 0.5
RSS_TARGET_MB = 50


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    with bench_database() as (url, _rpc_url, _cluster), tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        raw = tomllib.loads(
            provision_kiosk(url, secrets.token_urlsafe(32), "Bench idle", workdir, max_amount=100_000).read_text()
        )
        config = write_toml(
            workdir / "agent.toml",
            {"kiosk_id": raw["kiosk_id"], "dsn": raw["dsn"], "agent": {"journal": str(workdir / "journal.sqlite3")}},
        )
        with HopperSimulator() as sim, open(workdir / "agent.log", "w") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "dispenser", "run", "--config", str(config), "--hopper", sim.path],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
            try:
                time.sleep(args.warmup)
                if agent.poll() is not None:
                    raise SystemExit("the agent exited:\n" + (workdir / "agent.log").read_text()[-3000:])
                cpu0, t0 = sum(process_cpu_seconds(agent.pid)), time.monotonic()
                peak = 0.0
                while time.monotonic() - t0 < args.seconds:
                    time.sleep(1)
                    peak = max(peak, rss_mb(agent.pid))
                cpu1, t1 = sum(process_cpu_seconds(agent.pid)), time.monotonic()
                alive = agent.poll() is None
            finally:
                agent.terminate()
                agent.wait(20)
        log_text = (workdir / "agent.log").read_text()

    cpu_pct = (cpu1 - cpu0) / (t1 - t0) * 100
    print(
        f"\ndispenser agent idle over {t1 - t0:.0f} s (after {args.warmup} s warm-up), simulated hopper on a pty, "
        "production timer defaults"
    )
    print(
        f"CPU {cpu_pct:.2f} % of one core (target <= {CPU_TARGET_PCT} %), peak RSS {peak:.1f} MB (target <= {RSS_TARGET_MB} MB)"
    )
    print(f"agent still running at the end: {alive}; log lines: {len(log_text.splitlines())}")
    record(
        "agent idle CPU",
        cpu_pct,
        "% core",
        "budget",
        None,
        f"<= {CPU_TARGET_PCT} %",
        alive and cpu_pct <= CPU_TARGET_PCT,
    )
    record("agent idle RSS", peak, "MB", "budget", None, f"<= {RSS_TARGET_MB} MB", alive and peak <= RSS_TARGET_MB)


if __name__ == "__main__":
    main()
