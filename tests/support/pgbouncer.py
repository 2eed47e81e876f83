"""A real PgBouncer in transaction mode in front of a test server, on a free port.

Debian's `pgbouncer`, installed by `make test` (`kioskledger ensure-extensions`, as root
on Debian). Without it the tests that need it fail, and say how to get it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kioskledger.ops.local_cluster import SUPERUSER, find_program, free_port
from tests.support.waiting import wait_for


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by PgBouncer's (same user, password, database)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}"))


@contextmanager
def pgbouncer(server_url: str, *urls: str):
    """PgBouncer (pool_mode = transaction) in front of the server of `server_url`, letting
    in the users (with their passwords) of `server_url` and `urls`; yields its port."""
    binary = find_program("pgbouncer")
    if binary is None:
        raise AssertionError(
            "pgbouncer is not installed: `make test` installs it (as root on Debian, through "
            "`kioskledger ensure-extensions`); otherwise `sudo apt-get install -y pgbouncer`"
        )
    server = urlsplit(server_url)
    users = {}
    for url in (server_url, *urls):
        parts = urlsplit(url)
        users[parts.username] = parts.password or ""
    work = Path(tempfile.mkdtemp(prefix="kioskledger-pgbouncer-"))
    port = free_port()
    (work / "userlist.txt").write_text("".join(f'"{u}" "{p}"\n' for u, p in users.items()))
    (work / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server.hostname} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {work}/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = {work}/pgbouncer.log
"""
    )
    kwargs = {}
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        owner = pwd.getpwnam(SUPERUSER)
        for path in (work, *work.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid}
    proc = subprocess.Popen(
        [str(binary), str(work / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **kwargs
    )
    try:

        def up():
            if proc.poll() is not None:
                log = work / "pgbouncer.log"
                raise AssertionError(
                    f"pgbouncer exited with {proc.returncode}: {log.read_text() if log.exists() else ''}"
                )
            return _accepts(port)

        wait_for(up, timeout=15, message="pgbouncer")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
