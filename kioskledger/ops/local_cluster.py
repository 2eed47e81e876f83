"""A project-local PostgreSQL cluster made with the machine's own binaries.

Used by `make run` (data under .pgdata/), by the test harness and by the benchmarks
(throwaway clusters in a temporary directory). initdb and postgres refuse to run as
root, so as root the cluster runs as the `postgres` OS user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


class LocalDbError(RuntimeError):
    pass


def find_bindir() -> Path:
    """PG_BINDIR, else `pg_config --bindir`, else the newest /usr/lib/postgresql/<ver>/bin."""
    if env := os.environ.get("PG_BINDIR"):
        return Path(env)
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    candidates += [Path(p) for p in reversed(versions)]
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise LocalDbError(
        "PostgreSQL server binaries not found (initdb, pg_ctl). Install them, e.g. "
        "`apt-get install -y postgresql`, or set PG_BINDIR or DATABASE_URL."
    )


def server_version(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    # "postgres (PostgreSQL) 15.18 (Debian ...)"
    return int(out.stdout.split(")")[1].strip().split(".")[0])


def _sharedir(bindir: Path) -> Path:
    out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip())
    return Path(f"/usr/share/postgresql/{server_version(bindir)}")


# Extensions the test suite needs, by control file -> Debian package name pattern.
# The high-availability formation (kioskledger/ops/formation.py: `make run-ha`, its tests).
HA_EXTENSIONS = {"pgautofailover": "postgresql-{ver}-auto-failover"}
HA_PROGRAMS = {"pg_autoctl": "pg-auto-failover-cli", "pgbackrest": "pgbackrest"}
TEST_EXTENSIONS = {
    "pgtap": "postgresql-{ver}-pgtap",
    "plpgsql_check": "postgresql-{ver}-plpgsql-check",
    "pg_cron": "postgresql-{ver}-cron",
    **HA_EXTENSIONS,
}
# What `make run` wants beside the server: pg_cron runs the upkeep schedule (without it,
# the `kioskledger scheduler` process does).
RUN_EXTENSIONS = {"pg_cron": "postgresql-{ver}-cron"}


def _pkglibdir(bindir: Path) -> Path:
    out = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip())
    return Path(f"/usr/lib/postgresql/{server_version(bindir)}/lib")


def has_pg_cron(bindir: Path | None = None) -> bool:
    """pg_cron is installed for this server (its library and its extension files)."""
    bindir = bindir or find_bindir()
    return (_pkglibdir(bindir) / "pg_cron.so").exists() and (
        _sharedir(bindir) / "extension" / "pg_cron.control"
    ).exists()


def pg_cron_settings(datadir: Path, database: str) -> list[str]:
    """postgresql.conf lines that load pg_cron for `database`. Its jobs connect over the
    cluster's unix socket (trust for local connections), so they need no password."""
    return [
        "shared_preload_libraries = 'pg_cron'",
        f"cron.database_name = '{database}'",
        f"cron.host = '{datadir}'",
    ]


def ensure_extension_packages(bindir: Path | None = None, extensions: dict[str, str] = TEST_EXTENSIONS) -> None:
    """Install missing extensions from the distribution when possible, else say exactly what to install."""
    bindir = bindir or find_bindir()
    ver = server_version(bindir)
    controls = {name: _sharedir(bindir) / "extension" / f"{name}.control" for name in extensions}
    missing = {name: pkg.format(ver=ver) for name, pkg in extensions.items() if not controls[name].exists()}
    if not missing:
        return
    packages = sorted(missing.values())
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"missing {', '.join(missing)}: installing {' '.join(packages)} with apt-get", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
        if all(controls[name].exists() for name in missing):
            return
    raise LocalDbError(
        f"PostgreSQL extensions missing: {', '.join(missing)}. Install them with "
        f"`sudo apt-get install -y {' '.join(packages)}` (Debian/Ubuntu), then retry."
    )


# Programs the test suite needs beside the server, by executable -> Debian package.
# pgbouncer: the PgBouncer tests run a real one; chromium: the browser tests drive the system
# browser (Playwright never downloads one); the HA programs: the failover tests run a formation.
TEST_PROGRAMS = {"pgbouncer": "pgbouncer", "chromium": "chromium", **HA_PROGRAMS}
# Debian installs daemons in /usr/sbin, which is not on every user's PATH.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")


def find_program(name: str) -> Path | None:
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN_DIRS))
    return Path(found) if found else None


def ensure_test_programs(programs: dict[str, str] = TEST_PROGRAMS) -> None:
    """Install missing test programs from the distribution when possible, else say exactly what to install."""
    missing = {name: pkg for name, pkg in programs.items() if find_program(name) is None}
    if not missing:
        return
    packages = sorted(set(missing.values()))
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"missing {', '.join(missing)}: installing {' '.join(packages)} with apt-get", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        # Only the program: the package's own service would start a pgbouncer nobody uses.
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=False, env=env)
        if all(find_program(name) for name in missing):
            return
    raise LocalDbError(
        f"programs missing: {', '.join(missing)}. Install them with "
        f"`sudo apt-get install -y {' '.join(packages)}` (Debian/Ubuntu), then retry."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_as_owner(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if _as_root():
        cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
    return subprocess.run(cmd, **kw)


def _make_reachable(path: Path) -> None:
    """As root, the postgres user must be able to traverse every ancestor of the data dir."""
    if not _as_root():
        return
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            print(f"local cluster: chmod o+x {parent} so the postgres user can reach {path}", file=sys.stderr)
            parent.chmod(mode | 0o001)


@dataclass
class Cluster:
    datadir: Path
    port: int
    password: str
    durable: bool = True
    # The database pg_cron schedules in (it loads at start when its package is installed);
    # None: pg_cron is not loaded.
    cron_database: str | None = None

    @property
    def bindir(self) -> Path:
        return find_bindir()

    def url(self, dbname: str, user: str = SUPERUSER, password: str | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{user}:{pw}@127.0.0.1:{self.port}/{dbname}"

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        _make_reachable(self.datadir)
        if _as_root():
            pw = pwd.getpwnam(SUPERUSER)
            os.chown(self.datadir, pw.pw_uid, pw.pw_gid)
        with tempfile.NamedTemporaryFile("w", delete=False, dir="/tmp") as f:
            f.write(self.password + "\n")
        os.chmod(f.name, 0o644)
        try:
            res = _run_as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    f.name,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                capture_output=True,
                text=True,
            )
        finally:
            os.unlink(f.name)
        if res.returncode != 0:
            raise LocalDbError(f"initdb failed:\n{res.stdout}\n{res.stderr}")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.datadir}'",
            "max_connections = 300",
            "shared_buffers = 256MB",
        ]
        if not self.durable:
            # Throwaway test clusters: crash safety buys nothing there.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        if self.cron_database and has_pg_cron(self.bindir):
            settings += pg_cron_settings(self.datadir, self.cron_database)
        with open(self.datadir / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")

    def running(self) -> bool:
        res = _run_as_owner(
            [str(self.bindir / "pg_ctl"), "status", "-D", str(self.datadir)], capture_output=True, text=True
        )
        return res.returncode == 0

    def start(self) -> None:
        if self.running():
            return
        log = self.datadir / "server.log"
        res = _run_as_owner(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.datadir),
                "-l",
                str(log),
                "-o",
                f"-p {self.port}",
            ],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LocalDbError(f"pg_ctl start failed:\n{res.stdout}{res.stderr}\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        if self.initialised() and self.running():
            _run_as_owner(
                [str(self.bindir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.datadir)],
                capture_output=True,
                text=True,
            )

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def enable_pg_cron(self) -> bool:
        """Load pg_cron for cron_database in a cluster made before it was installed (or
        without it): the settings, then a restart. False when pg_cron is not installed."""
        if not (self.cron_database and has_pg_cron(self.bindir)):
            return False
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            loaded = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
            if "pg_cron" in loaded:
                return True
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'")
            conn.execute(f"ALTER SYSTEM SET cron.database_name = '{self.cron_database}'")
            conn.execute(f"ALTER SYSTEM SET cron.host = '{self.datadir}'")
        self.restart()
        self.wait_ready()
        return True

    def create_database(self, dbname: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{dbname}"')

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def throwaway_cluster(prefix: str = "kioskledger-", durable: bool = False, cron_database: str | None = None) -> Cluster:
    """A fresh cluster in a temporary directory (tests, benchmarks). Not crash-safe unless
    `durable`: a test that crash-stops Postgres and counts acknowledged commits needs that.
    `cron_database`: load pg_cron for that database."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)
    import secrets

    cluster = Cluster(
        datadir=base / "data",
        port=free_port(),
        password=secrets.token_hex(16),
        durable=durable,
        cron_database=cron_database,
    )
    cluster.init()
    cluster.start()
    return cluster


def remove_cluster(cluster: Cluster) -> None:
    cluster.stop("immediate")
    shutil.rmtree(cluster.datadir.parent, ignore_errors=True)
