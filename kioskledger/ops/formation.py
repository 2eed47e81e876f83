"""A highly available formation on this machine: a pg_auto_failover monitor, a primary and
a synchronous standby, WAL archived to a pgBackRest repository from the first start.

`make run-ha` serves the RPC against one (`kioskledger run-ha`); the resilience tests and
`bench/failover.py` bring one up in a temporary directory, kill its primary and watch the
standby take over. In production the three Postgres run on three machines (README); the
commands are the same.

Everything runs as the `postgres` OS user when we are root (as the local cluster does).
pg_autoctl keeps its config and state under the XDG directories, keyed by the data
directory's path: each formation gets directories of its own, so a leftover from an
earlier formation never breaks a new one.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from .local_cluster import SUPERUSER, LocalDbError, _as_root, _make_reachable, find_bindir, free_port

DBNAME = "kioskledger"
STANZA = "kioskledger"
HOST = "127.0.0.1"
SOCKET_DIR = Path("/var/run/postgresql")
STATE_FILE = "formation.json"

# The monitor's failure detection, tuned so writes resume within seconds of a primary's
# death (pg_auto_failover's defaults take ~50 s: ~20 s to call a node unhealthy, then a
# 30 s wait for the old primary to demote itself). All reloadable.
MONITOR_TUNING = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "3000",
    # Nothing fails over within this long of the monitor's own start.
    "pgautofailover.startup_grace_period": "2000",
}
# A primary that cannot reach the monitor nor its standby demotes itself after this many
# seconds; it must stay below primary_demote_timeout, or two primaries could overlap.
NETWORK_PARTITION_TIMEOUT_S = "2"

# Settings every data node shares (pg_basebackup copies the first node's postgresql.conf
# to the standby). archive_mode needs a restart: it is there before the first start.
NODE_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "256MB",  # as the single local node (a like-for-like benchmark)
    "archive_mode": "on",
    "wal_level": "replica",
}


class FormationError(LocalDbError):
    pass


@dataclass
class Node:
    name: str
    pgdata: Path
    port: int
    keeper: subprocess.Popen | None = None


@dataclass
class Formation:
    base: Path
    password: str
    monitor: Node
    nodes: list[Node]
    authenticator_password: str = field(default_factory=lambda: secrets.token_hex(16))

    # -- where things are -------------------------------------------------------------
    @property
    def sockets(self) -> Path:
        # The server's compiled-in socket directory (Debian's): `pg_autoctl create` starts
        # Postgres before any setting of ours could move it.
        return SOCKET_DIR

    @property
    def logs(self) -> Path:
        return self.base / "log"

    @property
    def backrest_conf(self) -> Path:
        return self.base / "pgbackrest" / "pgbackrest.conf"

    @property
    def backrest_repo(self) -> Path:
        return self.base / "pgbackrest" / "repo"

    def node(self, name: str) -> Node:
        return next(n for n in [self.monitor, *self.nodes] if n.name == name)

    def _env(self) -> dict:
        xdg = self.base / "xdg"
        bindir = find_bindir()
        return {
            "HOME": str(self.base),
            "PATH": f"{bindir}:/usr/bin:/bin:/usr/sbin:/sbin",
            "PG_CONFIG": str(bindir / "pg_config"),
            "XDG_CONFIG_HOME": str(xdg / "config"),
            "XDG_DATA_HOME": str(xdg / "data"),
            "XDG_RUNTIME_DIR": str(xdg / "runtime"),
            "LANG": "C.UTF-8",
            "PGCONNECT_TIMEOUT": "2",
        }

    def _cmd(self, args: list[str]) -> list[str]:
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in self._env().items()), *args]
        return ["runuser", "-u", SUPERUSER, "--", *cmd] if _as_root() else cmd

    def autoctl(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        res = subprocess.run(self._cmd(["pg_autoctl", *args]), capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise FormationError(f"pg_autoctl {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
        return res.stdout

    def backrest(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        cmd = ["pgbackrest", f"--config={self.backrest_conf}", f"--stanza={STANZA}", *args]
        res = subprocess.run(self._cmd(cmd), capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise FormationError(f"pgbackrest {' '.join(args)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
        return res

    # -- connection strings -------------------------------------------------------------
    def hosts(self) -> str:
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    def shown_uri(self) -> str:
        """What `pg_autoctl show uri` prints for the formation: every node, read-write."""
        return self.autoctl("show", "uri", "--formation", "default", "--pgdata", str(self.monitor.pgdata)).strip()

    def uri(self, user: str = SUPERUSER, password: str | None = None, dbname: str = DBNAME) -> str:
        """The multi-host URI with a user and password: libpq tries each host and keeps
        the one that takes writes, so a client that reconnects finds the new primary."""
        pw = self.password if password is None else password
        hosts = self.hosts()
        return f"postgresql://{user}:{pw}@{hosts}/{dbname}?target_session_attrs=read-write&connect_timeout=2"

    def rpc_uri(self) -> str:
        return self.uri("authenticator", self.authenticator_password)

    def server_env(self, jwt_secret: str, **settings: str) -> dict[str, str]:
        """The environment of an RPC server on this formation (only these settings: no .env)."""
        return dict(
            os.environ,
            KL_NO_DOTENV="1",
            DATABASE_URL=self.uri(),
            RPC_DATABASE_URL=self.rpc_uri(),
            JWT_SECRET=jwt_secret,
            **settings,
        )

    def read_uri(self) -> str:
        """For reads that may come from the standby (RPC_READ_DATABASE_URL): the standby
        when there is one, else whichever node answers."""
        return self.rpc_uri().replace("target_session_attrs=read-write", "target_session_attrs=prefer-standby")

    def node_url(self, node: Node, dbname: str = DBNAME) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@{HOST}:{node.port}/{dbname}?connect_timeout=2"

    def monitor_url(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.monitor.port}/pg_auto_failover?connect_timeout=2"

    # -- state ----------------------------------------------------------------------------
    def states(self) -> dict[str, tuple[str, str]]:
        """node name -> (reported state, goal state), as the monitor sees them."""
        with psycopg.connect(self.monitor_url(), autocommit=True) as conn:
            rows = conn.execute("SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node")
            return {name: (reported, goal) for name, reported, goal in rows}

    def primary(self) -> Node:
        for name, (reported, goal) in self.states().items():
            if reported in ("primary", "wait_primary", "single") and goal == reported:
                return self.node(name)
        raise FormationError(f"no primary: {self.states()}")

    def standby(self) -> Node:
        primary = self.primary()
        return next(n for n in self.nodes if n is not primary)

    def wait_states(self, wanted: dict[str, str] | set[str], timeout: float = 60) -> None:
        """Wait until the monitor reports these states (a node name -> state map, or a set
        of states every node must be in, e.g. {"primary", "secondary"}) and goals agree."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.states()
            except psycopg.Error as err:
                seen = str(err)
            if isinstance(seen, dict) and _settled(seen, wanted):
                return
            time.sleep(0.2)
        raise FormationError(f"formation did not reach {wanted} within {timeout}s: {seen}")

    def wait_healthy(self, timeout: float = 60) -> None:
        """One primary and one synchronous secondary."""
        self.wait_states({"primary", "secondary"}, timeout)
        kinds = sorted(s for s, _ in self.states().values())
        if kinds != ["primary", "secondary"]:
            raise FormationError(f"formation not healthy: {self.states()}")

    # -- processes ------------------------------------------------------------------------
    def _start_keeper(self, node: Node) -> None:
        self.logs.mkdir(exist_ok=True)
        # Its own session: a kill of the keeper's process group takes nothing else with it.
        with open(self.logs / f"{node.name}.log", "ab") as log:
            node.keeper = subprocess.Popen(
                self._cmd(["pg_autoctl", "run", "--pgdata", str(node.pgdata)]),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_postgres(self, node: Node, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        isready = str(find_bindir() / "pg_isready")
        while time.monotonic() < deadline:
            if subprocess.run([isready, "-q", "-h", HOST, "-p", str(node.port)]).returncode == 0:
                return
            if node.keeper is not None and node.keeper.poll() is not None:
                raise FormationError(f"{node.name}'s keeper exited:\n{self.log_tail(node)}")
            time.sleep(0.1)
        raise FormationError(f"{node.name} did not accept connections within {timeout}s:\n{self.log_tail(node)}")

    def log_tail(self, node: Node, chars: int = 3000) -> str:
        path = self.logs / f"{node.name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def postmaster_pid(self, node: Node) -> int | None:
        try:
            return int((node.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            return None

    def keeper_pid(self, node: Node) -> int | None:
        """The node's running pg_autoctl, ours or started by another process (its pid file)."""
        if node.keeper is not None and node.keeper.poll() is None:
            return node.keeper.pid
        pidfile = Path(self._env()["XDG_RUNTIME_DIR"] + "/pg_autoctl" + str(node.pgdata)) / "pg_autoctl.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _signal_keeper(self, node: Node, sig: int) -> None:
        pid = self.keeper_pid(node)
        if pid is None:
            return
        try:
            group = os.getpgid(pid)
            if group == os.getpgrp():  # never our own group
                os.kill(pid, sig)
            else:
                os.killpg(group, sig)
        except ProcessLookupError:
            pass

    def kill(self, node: Node) -> None:
        """A crash of the node's machine: SIGKILL to its keeper's process group, its
        postmaster and every backend (they run in sessions of their own, so the group
        kill alone would leave them serving)."""
        victims = set()
        postmaster = self.postmaster_pid(node)
        if postmaster and _alive(postmaster):
            victims.add(postmaster)
            victims |= _children(postmaster)
        self._signal_keeper(node, signal.SIGKILL)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if node.keeper is not None:
            node.keeper.wait(10)
            node.keeper = None

    def rejoin(self, node: Node) -> None:
        """Start a killed or stopped node's keeper again: it rejoins as a standby
        (pg_rewind when its timeline diverged)."""
        if self.keeper_pid(node) is None:
            self._start_keeper(node)

    def start(self, timeout: float = 120) -> None:
        """Start a stopped formation's keepers: the monitor first, then the nodes."""
        deadline = time.monotonic() + timeout
        self.rejoin(self.monitor)
        self._wait_postgres(self.monitor, _left(deadline))
        for node in self.nodes:
            self.rejoin(node)
        # The monitor still reports the states from before the stop for a while: wait for
        # the nodes themselves, then for a primary that takes writes.
        for node in self.nodes:
            self._wait_postgres(node, _left(deadline))
        self.wait_healthy(_left(deadline))
        self.wait_writable(_left(deadline))

    def wait_writable(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.uri(), autocommit=True) as conn:
                    conn.execute("SELECT txid_current()")
                return
            except psycopg.OperationalError as err:
                if time.monotonic() > deadline:
                    raise FormationError(f"no primary takes writes: {err}") from None
                time.sleep(0.2)

    def stop(self, timeout: float = 30) -> None:
        """Stop every keeper (each stops its Postgres), data nodes first; kill what is
        still there after `timeout`."""
        everyone = [*self.nodes, self.monitor]
        for node in everyone:
            self._signal_keeper(node, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in everyone:
            while time.monotonic() < deadline and (
                self.keeper_pid(node) is not None or _alive(self.postmaster_pid(node) or 0)
            ):
                time.sleep(0.1)
            if node.keeper is not None:
                try:
                    node.keeper.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            if self.keeper_pid(node) is not None or _alive(self.postmaster_pid(node) or 0):
                self.kill(node)
            node.keeper = None

    def switchover(self) -> None:
        self.autoctl("perform", "switchover", "--pgdata", str(self.monitor.pgdata), "--formation", "default")

    # -- bring-up -------------------------------------------------------------------------
    def _write_pgbackrest_conf(self) -> None:
        lines = [
            "[global]",
            f"repo1-path={self.backrest_repo}",
            "repo1-retention-full=2",
            # The primary archives every 16 MB of WAL itself: zstd (level 3) compresses a
            # segment ~10x faster than the default gzip -6, to a smaller file.
            "compress-type=zst",
            f"log-path={self.base / 'pgbackrest' / 'log'}",
            f"lock-path={self.base / 'pgbackrest' / 'lock'}",
            f"spool-path={self.base / 'pgbackrest' / 'spool'}",
            "start-fast=y",
            "log-level-console=warn",
            "log-level-file=info",
            "",
            f"[{STANZA}]",
        ]
        for i, node in enumerate(self.nodes, start=1):
            lines += [f"pg{i}-path={node.pgdata}", f"pg{i}-port={node.port}", f"pg{i}-socket-path={self.sockets}"]
        self.backrest_conf.write_text("\n".join(lines) + "\n")

    def _node_settings(self) -> str:
        settings = dict(NODE_SETTINGS)
        # No node's name in it: whichever node is primary archives with the same command
        # (the shell runs it in that node's data directory).
        settings["archive_command"] = (
            f'pgbackrest --config={self.backrest_conf} --stanza={STANZA} archive-push "$(pwd)/%p"'
        )
        settings["listen_addresses"] = HOST
        return "".join(f"{k} = '{v}'\n" for k, v in settings.items())

    def _create_node(self, node: Node) -> None:
        self.autoctl(
            "create",
            "postgres",
            "--pgdata",
            str(node.pgdata),
            "--pgport",
            str(node.port),
            "--pghost",
            str(self.sockets),
            "--listen",
            HOST,
            "--hostname",
            HOST,
            "--name",
            node.name,
            "--dbname",
            DBNAME,
            "--monitor",
            f"postgres://autoctl_node@{HOST}:{self.monitor.port}/pg_auto_failover?sslmode=disable",
            "--auth",
            "trust",
            "--no-ssl",
        )
        self.autoctl("config", "set", "--pgdata", str(node.pgdata), "timeout.network_partition_timeout",
                     NETWORK_PARTITION_TIMEOUT_S)  # fmt: skip

    def up(self, timeout: float = 120) -> None:
        """From nothing to a monitor, a primary and a synchronous standby, a stanza and a
        full backup; the database exists and the superuser has its password."""
        deadline = time.monotonic() + timeout
        self._create_dirs()
        self._write_pgbackrest_conf()
        # The monitor.
        self.autoctl(
            "create", "monitor", "--pgdata", str(self.monitor.pgdata), "--pgport", str(self.monitor.port),
            "--hostname", HOST, "--auth", "trust", "--no-ssl",
        )  # fmt: skip
        self.autoctl("config", "set", "--pgdata", str(self.monitor.pgdata), "postgresql.listen_addresses", HOST)
        self._start_keeper(self.monitor)
        self._wait_postgres(self.monitor)
        self._tune_monitor()
        # The first node: archiving is configured before its first start.
        first, *rest = self.nodes
        self._create_node(first)
        with open(first.pgdata / "postgresql.conf", "a") as conf:
            conf.write(self._node_settings())
        self._start_keeper(first)
        self.wait_states({first.name: "single"}, _left(deadline))
        self._wait_postgres(first, _left(deadline))
        with psycopg.connect(self.node_url(first), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(self.password)))
        # The standby clones the first node with pg_basebackup.
        for node in rest:
            self._create_node(node)
            self._start_keeper(node)
        self.wait_healthy(_left(deadline))
        self.backrest("stanza-create")
        self.backrest("check")
        self.backrest("backup", "--type=full")
        self.save()

    def _create_dirs(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        _make_reachable(self.base)
        for sub in ("monitor", "xdg/config", "xdg/data", "xdg/runtime", "log", "nodes", "pgbackrest/repo",
                    "pgbackrest/log", "pgbackrest/lock", "pgbackrest/spool", "scratch"):  # fmt: skip
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "xdg" / "runtime").chmod(0o700)
        if _as_root():
            pw = pwd.getpwnam(SUPERUSER)
            if not self.sockets.exists():  # made at boot by the postgresql package's service, which may not run
                self.sockets.mkdir(parents=True)
                os.chown(self.sockets, pw.pw_uid, pw.pw_gid)
                self.sockets.chmod(0o2775)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, pw.pw_uid, pw.pw_gid)

    def _tune_monitor(self) -> None:
        with psycopg.connect(self.monitor_url(), autocommit=True) as conn:
            for key, value in MONITOR_TUNING.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(key), sql.Literal(value)))
            conn.execute("SELECT pg_reload_conf()")

    def set_authenticator_password(self) -> None:
        from .provision import set_authenticator_password

        set_authenticator_password(self.uri(), self.authenticator_password)

    def save(self) -> None:
        """The layout and passwords, so another process (the CLI) can drive this formation."""
        state = {
            "password": self.password,
            "authenticator_password": self.authenticator_password,
            "ports": {n.name: n.port for n in [self.monitor, *self.nodes]},
        }
        path = self.base / STATE_FILE
        path.write_text(json.dumps(state, indent=2) + "\n")
        path.chmod(0o600)

    def destroy(self) -> None:
        """Kill every process and remove everything: nothing of it is kept, so nothing needs
        a clean shutdown."""
        for node in [*self.nodes, self.monitor]:
            self.kill(node)
            # A killed postmaster leaves its socket and lock file in the shared directory.
            for leftover in (f".s.PGSQL.{node.port}", f".s.PGSQL.{node.port}.lock"):
                (self.sockets / leftover).unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)


def new_formation(base: Path, password: str | None = None) -> Formation:
    """A formation's layout under `base` (nothing started): the monitor and node1, node2
    on free loopback ports. Data directories live one level down, since the standby's
    pg_basebackup writes into <parent of PGDATA>/backup/."""
    ports = [free_port() for _ in range(3)]
    nodes = [Node(f"node{i}", base / "nodes" / f"node{i}", ports[i]) for i in (1, 2)]
    return Formation(
        base=base,
        password=password or secrets.token_hex(16),
        monitor=Node("monitor", base / "monitor" / "data", ports[0]),
        nodes=nodes,
    )


def load_formation(base: Path) -> Formation | None:
    """The formation saved under `base`, or None."""
    try:
        state = json.loads((base / STATE_FILE).read_text())
    except FileNotFoundError:
        return None
    ports = state["ports"]
    return Formation(
        base=base,
        password=state["password"],
        authenticator_password=state["authenticator_password"],
        monitor=Node("monitor", base / "monitor" / "data", ports["monitor"]),
        nodes=[Node(name, base / "nodes" / name, ports[name]) for name in ("node1", "node2")],
    )


def _settled(seen: dict[str, tuple[str, str]], wanted) -> bool:
    if isinstance(wanted, dict):
        return all(seen.get(name, (None, None)) == (state, state) for name, state in wanted.items())
    return bool(seen) and all(reported == goal and reported in wanted for reported, goal in seen.values())


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (a postmaster's backends and workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found
