"""The commands of the high-availability formation on this machine (`.pgdata-ha/`).

    kioskledger run-ha             formation up (or started again), migrate, serve the RPC on it
    kioskledger ha status          the nodes' states and the multi-host URI
    kioskledger ha uri             the owner's multi-host URI, for DATABASE_URL=$(...) kioskledger psql|migrate
    kioskledger ha switchover      planned: the standby becomes the primary
    kioskledger ha kill NODE       crash a node (SIGKILL keeper, postmaster, backends)
    kioskledger ha rejoin NODE     start a killed node again: it rejoins as the standby
    kioskledger ha stop            stop the formation
    kioskledger backup [--type full|diff|incr]   a pgBackRest backup of the formation
    kioskledger restore-drill [--target TIME]    restore to TIME in a scratch cluster and check it

Registered in kioskledger/ops/cli.py. With no formation here, they say to run `make run-ha`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import env
from .formation import Formation, load_formation, new_formation

HA_DIRNAME = ".pgdata-ha"


def ha_home():
    return env.home() / HA_DIRNAME


def _formation() -> Formation:
    formation = load_formation(ha_home())
    if formation is None:
        raise SystemExit(f"no formation in {ha_home()}: run `make run-ha` (or `kioskledger run-ha`) first")
    return formation


def _status(formation: Formation) -> str:
    lines = [f"  {name:8} {reported:14} (goal {goal})" for name, (reported, goal) in sorted(formation.states().items())]
    return "\n".join(
        [
            "formation (pg_auto_failover):",
            *lines,
            f"  pg_autoctl show uri: {formation.shown_uri()}",
            f"  owner URI:           {formation.uri()}",
            f"  RPC pool URI:        {formation.rpc_uri()}",
        ]
    )


def _every(interval) -> str:
    """A job's interval (a timedelta) as a person says it: 7 days, 1 hour, 30 min."""
    seconds = int(interval.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("min", 60)):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 and unit != 'min' else ''}"
    return f"{seconds} s"


def _start_scheduler(url: str) -> subprocess.Popen:
    """The upkeep scheduler with host jobs: this formation has a pgBackRest stanza, so its
    backups and restore drill are enabled here (they are off elsewhere). No pg_cron runs on
    the formation's nodes, so the same process runs the SQL jobs too."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT upkeep.set_host_jobs(true)")
        jobs = conn.execute("SELECT name, every FROM upkeep.jobs WHERE kind = 'host' ORDER BY position, name")
        schedule = ", ".join(f"{name} every {_every(every)}" for name, every in jobs.fetchall())
    print(
        "upkeep: starting `kioskledger scheduler --host-jobs`: the maintenance jobs and the host jobs\n"
        f"  {schedule}\n  (one never run, or overdue, runs at once; SELECT * FROM upkeep.job_status)",
        flush=True,
    )
    return subprocess.Popen([sys.executable, "-m", "kioskledger", "scheduler", "--host-jobs"])


def cmd_run_ha(args) -> int:
    from .cli import cmd_serve
    from .local_cluster import HA_EXTENSIONS, HA_PROGRAMS, ensure_extension_packages, ensure_test_programs
    from .migrate import migrate
    from .tokens import make_token

    ensure_extension_packages(extensions=HA_EXTENSIONS)
    ensure_test_programs(HA_PROGRAMS)
    env.ensure_env_file()
    formation = load_formation(ha_home())
    if formation is None:
        print(f"creating a formation in {ha_home()}: a monitor, a primary and a synchronous standby", flush=True)
        formation = new_formation(ha_home())
        formation.up()
    else:
        print(f"starting the formation in {ha_home()}", flush=True)
        formation.start()
    scheduler = None
    try:
        print(migrate(formation.uri()), flush=True)
        formation.set_authenticator_password()
        # The server and every tool it starts follow the primary through these.
        os.environ["DATABASE_URL"] = formation.uri()
        os.environ["RPC_DATABASE_URL"] = formation.rpc_uri()
        os.environ.setdefault("RPC_READ_DATABASE_URL", formation.read_uri())
        scheduler = _start_scheduler(formation.uri())
        token = make_token(os.environ["JWT_SECRET"], "admin", {"sub": "dev-admin"}, ttl=7 * 24 * 3600)
        url = f"http://{args.host}:{args.port}"
        print(
            f"""
{_status(formation)}

kioskledger (high availability) is starting on {url}
  OpenAPI:  {url}/openapi.json      health: {url}/health
  admin dev token (7 days):
    export TOKEN={token}
  try a failover (in another shell):
    .venv/bin/kioskledger ha status
    .venv/bin/kioskledger ha kill <primary node>     # writes resume within seconds
    .venv/bin/kioskledger ha rejoin <that node>      # back as the standby
    .venv/bin/kioskledger ha switchover
  backups: scheduled (upkeep host jobs, above); by hand: .venv/bin/kioskledger backup --type incr;
    .venv/bin/kioskledger restore-drill
  the schedule's runs: DATABASE_URL=$(.venv/bin/kioskledger ha uri) .venv/bin/kioskledger psql \\
    -c 'SELECT name, every, last_ok, last_error, next_due_at FROM upkeep.job_status'
""",
            flush=True,
        )
        return cmd_serve(args)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=60)
        print("stopping the formation", flush=True)
        formation.stop()


def cmd_ha(args) -> int:
    formation = _formation()
    if args.action == "status":
        print(_status(formation))
    elif args.action == "uri":
        print(formation.uri())
    elif args.action == "switchover":
        formation.switchover()
        formation.wait_healthy(60)
        print(_status(formation))
    elif args.action in ("kill", "rejoin"):
        if args.node not in [n.name for n in formation.nodes]:
            print(f"no data node {args.node!r}: {', '.join(n.name for n in formation.nodes)}", file=sys.stderr)
            return 2
        node = formation.node(args.node)
        formation.kill(node) if args.action == "kill" else formation.rejoin(node)
        print(f"{args.node}: {args.action} done")
    elif args.action == "stop":
        formation.stop()
        print("formation stopped")
    return 0


def cmd_backup(args) -> int:
    from .pitr import backup

    print(backup(_formation(), args.type))
    return 0


def cmd_restore_drill(args) -> int:
    import psycopg

    from .pitr import archive_now, restore_drill

    formation = _formation()
    target = args.target
    if target is None:
        with psycopg.connect(formation.uri(), autocommit=True) as conn:
            target = conn.execute("SELECT now()::text").fetchone()[0]
    archive_now(formation)  # the WAL up to the target is in the repository
    result = restore_drill(formation, target)
    print(result)
    return 0 if result.ok else 1


def configure(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run-ha", help="the HA formation on this machine, migrated and served (make run-ha)")
    p.add_argument("--host", default=os.environ.get("RPC_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RPC_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("RPC_WORKERS", "1")))
    p.set_defaults(func=cmd_run_ha)

    p = sub.add_parser("ha", help="status, uri, switchover, kill/rejoin a node, stop: the formation of run-ha")
    p.add_argument("action", choices=["status", "uri", "switchover", "kill", "rejoin", "stop"])
    p.add_argument("node", nargs="?", help="node1 or node2 (kill, rejoin)")
    p.set_defaults(func=cmd_ha)

    p = sub.add_parser("backup", help="a pgBackRest backup of the run-ha formation")
    p.add_argument("--type", choices=["full", "diff", "incr"], default="incr")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore-drill", help="restore the run-ha formation's backups to a time in a scratch cluster and check it"
    )
    p.add_argument("--target", help="a timestamp with time zone (default: now)")
    p.set_defaults(func=cmd_restore_drill)
