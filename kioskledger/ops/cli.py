"""kioskledger COMMAND — the operator's entry point (`python -m kioskledger` too).

run                   setup, print a dev token and a curl example, serve on :8000
setup                 local set-up: .env, the .pgdata cluster (unless DATABASE_URL), migrate
migrate [--force-sql] apply migrations/ and re-apply sql/ when it changed
schema-dump [--check] migrate a throwaway database and write (or compare) migrations/schema.sql
serve [--host --port] run the HTTP RPC server (uvicorn)
token ROLE [--claim k=v ...] [--ttl SECONDS]   print a signed JWT
stripe-event TYPE --intent ID   send a signed Stripe test event to the local server
kiosk-provision NAME  register an ATM kiosk, its agent's Postgres login and token; write its config
account-create EMAIL --role ROLE   a login account (staff, operator, admin); prints a generated password once
account-password EMAIL             set a new password for a login account; prints a generated one once
psql                  open psql on the project database
stop                  stop the local cluster
dsn                   print the owner connection URL
dex-import            bulk-import DEX audit files through api.dex_ingest
demo [--force]        fill the (local) database with demo data in all four businesses, once
ensure-extensions     install pgTAP, plpgsql_check, pg_cron, pgbouncer, Chromium, pg_auto_failover and
                      pgBackRest (root on Debian) or name the packages
run-ha                the high-availability formation on this machine (monitor, primary, synchronous
                      standby), migrated and served; `ha status|switchover|kill|rejoin|stop` drive it
backup, restore-drill pgBackRest backup of that formation; restore to a time in a scratch cluster and check it
scheduler [--tick S] [--once] [--host-jobs]   run the upkeep schedule (upkeep.jobs) where pg_cron does
                      not; --host-jobs: also its host jobs (backups, the restore drill)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import env


def _local_cluster():
    from .local_cluster import Cluster

    return Cluster(
        datadir=env.local_datadir(),
        port=env.local_port(),
        password=os.environ.get("KL_PG_PASSWORD", ""),
        cron_database=env.LOCAL_DBNAME,
    )


def _database_url() -> str:
    env.apply_local_defaults()
    return os.environ["DATABASE_URL"]


def _jwt_secret() -> str | None:
    env.load_env()
    secret = os.environ.get("JWT_SECRET")
    if not secret:
        print("JWT_SECRET is not set (make run writes one into .env)", file=sys.stderr)
    return secret or None


def _install_pg_cron() -> None:
    """pg_cron runs the upkeep schedule inside the local cluster; without it (not root,
    no apt) the scheduler process does, so a failure here is only a note."""
    from .local_cluster import RUN_EXTENSIONS, LocalDbError, ensure_extension_packages

    try:
        ensure_extension_packages(extensions=RUN_EXTENSIONS)
    except (LocalDbError, OSError, subprocess.CalledProcessError) as err:
        print(f"note: {err} (the upkeep scheduler process is used instead)", file=sys.stderr)


def cmd_setup(args) -> int:
    from .migrate import migrate
    from .provision import set_authenticator_password

    env.ensure_env_file()
    local = env.apply_local_defaults()
    if local:
        _install_pg_cron()
        cluster = _local_cluster()
        if not cluster.initialised():
            print(f"creating a local PostgreSQL cluster in {cluster.datadir}")
            cluster.init()
        cluster.start()
        cluster.wait_ready()
        cluster.enable_pg_cron()
        cluster.create_database(env.LOCAL_DBNAME)
    url = os.environ["DATABASE_URL"]
    print(migrate(url))
    if local:
        set_authenticator_password(url, os.environ["KL_AUTHENTICATOR_PASSWORD"])
        if _upkeep_runner(url) != "pg_cron" and cluster.enable_pg_cron():
            # pg_cron arrived after sql/ was last applied: apply it again to schedule upkeep.
            migrate(url, force_sql=True)
    return 0


def _first_admin_lines() -> str:
    from .accounts import first_admin

    # Printed once, stored nowhere (the database keeps a bcrypt hash): lost, it is reset
    # with `kioskledger account-password`.
    email, password = first_admin(os.environ["DATABASE_URL"])
    if password:
        return f"  first admin login (shown this once; keep it):\n    email {email}   password {password}"
    return f"  admin login: {email} (password shown when it was made; new one: kioskledger account-password {email})"


def _empty_hint(url: str) -> str | None:
    """The line pointing a newcomer at `make demo` when the database has no business data."""
    import psycopg

    with psycopg.connect(url) as conn:
        anything = conn.execute(
            "SELECT EXISTS (SELECT FROM cards.cards) OR EXISTS (SELECT FROM kiosk.kiosks)"
            " OR EXISTS (SELECT FROM dex.machines)"
        ).fetchone()[0]
    return None if anything else "  empty? `make demo` fills every business with demo data"


def _upkeep_runner(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT upkeep.runner()").fetchone()[0]


def _start_upkeep(url: str) -> subprocess.Popen | None:
    """The scheduler process when pg_cron does not run the upkeep schedule here."""
    if _upkeep_runner(url) == "pg_cron":
        print("upkeep: pg_cron runs the maintenance jobs (SELECT * FROM upkeep.job_status)")
        return None
    print("upkeep: no pg_cron in this database; starting `kioskledger scheduler` (SELECT * FROM upkeep.job_status)")
    return subprocess.Popen([sys.executable, "-m", "kioskledger", "scheduler"])


def cmd_run(args) -> int:
    from .tokens import make_token

    cmd_setup(args)
    scheduler = _start_upkeep(os.environ["DATABASE_URL"])
    token = make_token(os.environ["JWT_SECRET"], "admin", {"sub": "dev-admin"}, ttl=7 * 24 * 3600)
    url = f"http://{args.host}:{args.port}"
    admin_login = _first_admin_lines()
    hint = _empty_hint(os.environ["DATABASE_URL"])
    hint_line = "\n" + hint if hint else ""
    from .pay_page import follow_served_address

    pay_base = follow_served_address(os.environ["DATABASE_URL"], url)
    print(
        f"""
kioskledger is starting on {url}
  console:  {url}/console/   (sign in with the admin login below)
  OpenAPI:  {url}/openapi.json   docs: {url}/docs   health: {url}/health   metrics: {url}/metrics
  ATM customer page (the kiosk's QR code): {pay_base}/pay/<transaction id>
  psql:     make psql{hint_line}
{admin_login}
    curl -s -H "Content-Type: application/json" {url}/auth/login -d '{{"email": "...", "password": "..."}}'
  admin dev token (7 days):
    export TOKEN={token}
  try:
    curl -s -X POST -H "Authorization: Bearer $TOKEN" {url}/rpc/whoami
""",
        flush=True,
    )
    try:
        return cmd_serve(args)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=30)


def cmd_scheduler(args) -> int:
    from .scheduler import main as scheduler_main

    return scheduler_main(_database_url(), args.tick, args.once, args.host_jobs)


def cmd_ensure_extensions(args) -> int:
    from .local_cluster import ensure_extension_packages, ensure_test_programs

    ensure_extension_packages()
    ensure_test_programs()
    return 0


def cmd_migrate(args) -> int:
    from .migrate import migrate

    print(migrate(_database_url(), force_sql=args.force_sql))
    return 0


def cmd_schema_dump(args) -> int:
    from .schema import schema_dump

    # Never the project database: a throwaway cluster, or a throwaway database on the
    # server DATABASE_URL names when it is set (the local .pgdata cluster is not used).
    env.load_env()
    return schema_dump(os.environ.get("DATABASE_URL") or None, check=args.check)


def cmd_serve(args) -> int:
    from rpc.server import serve

    env.apply_local_defaults()
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_token(args) -> int:
    from .tokens import make_token

    claims = {}
    for kv in args.claim:
        if "=" not in kv:
            print(f"--claim wants k=v, got {kv!r}", file=sys.stderr)
            return 2
        k, v = kv.split("=", 1)
        claims[k] = v
    secret = _jwt_secret()
    if not secret:
        return 2
    try:
        print(make_token(secret, args.role, claims, ttl=args.ttl))
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def cmd_stripe_event(args) -> int:
    from . import stripe_events

    url = _database_url()
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        print("STRIPE_WEBHOOK_SECRET is not set (make run writes one into .env)", file=sys.stderr)
        return 2
    event = stripe_events.build_event(
        args.type, stripe_events.load_intent(url, args.intent), args.amount, args.payment_intent
    )
    resp = stripe_events.send(args.url, secret, event)
    print(resp.status_code, resp.text)
    return 0 if resp.status_code == 200 else 1


def cmd_kiosk_provision(args) -> int:
    from pathlib import Path

    from .provision import provision_kiosk

    secret = _jwt_secret()
    if not secret:
        return 2
    path = provision_kiosk(
        _database_url(),
        secret,
        args.name,
        Path(args.out),
        kiosk_id=args.kiosk_id,
        location=args.location,
        fee_flat=args.fee_flat,
        max_amount=args.max_amount,
        company_id=args.company,
        api_url=args.api_url,
    )
    print(f"kiosk provisioned; agent config written to {path}")
    return 0


def _password_for(args) -> tuple[str, bool]:
    """(the password, whether it was generated): from stdin with --password-stdin, else new."""
    from .accounts import generate_password

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generate_password(), True


def cmd_account_create(args) -> int:
    from .accounts import AccountError, create_account

    password, generated = _password_for(args)
    try:
        account = create_account(
            _database_url(),
            args.email,
            args.role,
            args.display_name or args.email.split("@")[0],
            password,
            company_id=args.company,
            point_of_sale=args.point_of_sale,
            checkpoint=args.checkpoint,
        )
    except AccountError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{account['role']} account {account['email']} created (id {account['id']})")
    if generated:
        print(f"password (shown this once): {password}")
    return 0


def cmd_account_password(args) -> int:
    from .accounts import AccountError, set_password

    password, generated = _password_for(args)
    try:
        done = set_password(_database_url(), args.email, password)
    except AccountError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"password of {done['email']} set; {done['sessions_revoked']} session(s) ended")
    if generated:
        print(f"password (shown this once): {password}")
    return 0


def cmd_demo(args) -> int:
    from .demo import NotLocal, seed

    try:
        print(seed(_database_url(), force=args.force))
    except NotLocal as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def cmd_psql(args) -> int:
    from .local_cluster import find_bindir

    os.execv(str(find_bindir() / "psql"), ["psql", _database_url(), *args.psql_args])


def cmd_stop(args) -> int:
    env.load_env()
    cluster = _local_cluster()
    if cluster.initialised():
        cluster.stop()
        print("local cluster stopped")
    return 0


def cmd_dsn(args) -> int:
    print(_database_url())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["psql"]:
        # Everything after `psql` is psql's own (-c, -f, ...), which argparse would claim.
        return cmd_psql(argparse.Namespace(psql_args=argv[1:]))
    parser = argparse.ArgumentParser(
        prog="kioskledger", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("setup", help="local set-up: .env, cluster, migrate").set_defaults(func=cmd_setup)

    p = sub.add_parser("run", help="setup, then serve (what `make run` does)")
    p.add_argument("--host", default=os.environ.get("RPC_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RPC_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("RPC_WORKERS", "1")))
    p.set_defaults(func=cmd_run)

    sub.add_parser(
        "ensure-extensions",
        help="install pgTAP, plpgsql_check, pg_cron and pgbouncer if missing (root on Debian) or say what to install",
    ).set_defaults(func=cmd_ensure_extensions)

    p = sub.add_parser(
        "scheduler",
        help="run the upkeep schedule (CALL upkeep.run_due() every tick) where pg_cron does not",
    )
    p.add_argument("--tick", type=float, default=float(os.environ.get("UPKEEP_TICK_SECONDS", "10")))
    p.add_argument("--once", action="store_true", help="run the due jobs once and exit")
    p.add_argument(
        "--host-jobs",
        action="store_true",
        default=os.environ.get("UPKEEP_HOST_JOBS", "") in ("1", "true", "yes"),
        help="also run the host jobs (backups, the restore drill: commands on this machine); env UPKEEP_HOST_JOBS=1",
    )
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("migrate", help="apply migrations and sql/")
    p.add_argument("--force-sql", action="store_true", help="re-apply sql/ even if unchanged")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "schema-dump",
        help="write migrations/schema.sql from a freshly migrated throwaway database",
        description="Migrate an empty throwaway database (a throwaway cluster, or a database on "
        "DATABASE_URL's server), dump its schema, normalize it and write migrations/schema.sql.",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="do not write: exit 1 with a unified diff when migrations/schema.sql differs",
    )
    p.set_defaults(func=cmd_schema_dump)

    p = sub.add_parser("serve", help="run the RPC server")
    p.add_argument("--host", default=os.environ.get("RPC_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RPC_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("RPC_WORKERS", "1")))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="print a signed JWT")
    p.add_argument("role", choices=["anon", "kiosk", "staff", "operator", "admin"])
    p.add_argument("--claim", action="append", default=[], metavar="K=V")
    p.add_argument("--ttl", type=int, default=24 * 3600, help="seconds until it expires")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("stripe-event", help="send a signed Stripe test event for a recharge intent")
    p.add_argument("type", help="e.g. checkout.session.completed, charge.refunded, charge.dispute.created")
    p.add_argument("--intent", required=True, help="recharge intent id (from recharge_intent_create)")
    p.add_argument("--amount", type=int, help="amount_total / amount_refunded in minor units (default: the intent's)")
    p.add_argument("--payment-intent", help="pi_... to reuse (refunds and disputes refer to a payment)")
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.set_defaults(func=cmd_stripe_event)

    p = sub.add_parser("kiosk-provision", help="register an ATM kiosk, create its agent login and config")
    p.add_argument("name")
    p.add_argument("--kiosk-id", help="default: derived from NAME (a-z 0-9 _)")
    p.add_argument("--location")
    p.add_argument("--fee-flat", type=int, help="cents per transaction (default 50)")
    p.add_argument("--company", help="the company whose operators see this kiosk (api.company_create makes one)")
    p.add_argument("--max-amount", type=int, default=10000, help="cents, a multiple of 25")
    p.add_argument("--api-url", default="http://127.0.0.1:8000")
    p.add_argument("--out", default=".", help="directory for dispenser-<kiosk_id>.toml")
    p.set_defaults(func=cmd_kiosk_provision)

    p = sub.add_parser("account-create", help="create a login account; prints a generated password once")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=["staff", "operator", "admin"])
    p.add_argument("--display-name", help="default: the part of the email before @")
    p.add_argument("--company", help="an operator's company (required for operators)")
    p.add_argument("--point-of-sale", help="a staff member's bar")
    p.add_argument("--checkpoint", help="a staff member's checkpoint")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead of generating one"
    )
    p.set_defaults(func=cmd_account_create)

    p = sub.add_parser("account-password", help="set a new password for a login account (ends its sessions)")
    p.add_argument("email")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead of generating one"
    )
    p.set_defaults(func=cmd_account_password)

    p = sub.add_parser("demo", help="fill the local database with demo data in all four businesses (once)")
    p.add_argument("--force", action="store_true", help="also when the database is not on this machine")
    p.set_defaults(func=cmd_demo)

    sub.add_parser("psql", help="psql on the project database; the arguments after it are psql's (-c, -f ...)")

    sub.add_parser("stop", help="stop the local cluster").set_defaults(func=cmd_stop)
    sub.add_parser("dsn", help="print the owner connection URL").set_defaults(func=cmd_dsn)

    from . import dex_import

    p = sub.add_parser(
        "dex-import",
        help="bulk-import DEX audit files through api.dex_ingest",
        description=dex_import.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dex_import.configure_parser(p)

    from . import ha_commands

    ha_commands.configure(sub)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
