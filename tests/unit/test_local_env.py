"""The local set-up's .env: each checkout saves its own cluster port, so `make psql`,
`migrate` and `dsn` in a second checkout never reach another checkout's cluster.

No cluster is started: a listening socket stands in for the first checkout's cluster.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from kioskledger.ops import env

LOCAL_SETTINGS = ("DATABASE_URL", "RPC_DATABASE_URL", "KL_PGPORT", "KL_NO_DOTENV", "KL_HOME")


@pytest.fixture
def environ():
    """os.environ as it was, afterwards (load_dotenv writes into it)."""
    saved = dict(os.environ)
    for name in LOCAL_SETTINGS:
        os.environ.pop(name, None)
    yield os.environ
    os.environ.clear()
    os.environ.update(saved)


def _dotenv(home) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (home / ".env").read_text().splitlines() if "=" in line)


def _set_up(environ, home) -> int:
    for name in LOCAL_SETTINGS:
        environ.pop(name, None)
    environ["KL_HOME"] = str(home)
    env.ensure_env_file()
    return int(_dotenv(home)["KL_PGPORT"])


def _kioskledger(home, *args) -> subprocess.CompletedProcess:
    child = {k: v for k, v in os.environ.items() if k not in LOCAL_SETTINGS}
    child["KL_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "kioskledger", *args], env=child, capture_output=True, text=True, timeout=60
    )


def test_two_checkouts_keep_two_ports(environ, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    first_port = _set_up(environ, first)
    with socket.socket() as first_cluster:
        first_cluster.bind(("127.0.0.1", first_port))
        first_cluster.listen()
        second_port = _set_up(environ, second)
        assert second_port != first_port
        assert _set_up(environ, first) == first_port, "chosen once: the set-up keeps it"
    for home, port in ((first, first_port), (second, second_port)):
        dsn = _kioskledger(home, "dsn")
        assert dsn.returncode == 0, dsn.stderr
        assert f"@127.0.0.1:{port}/" in dsn.stdout


def test_a_checkout_without_a_set_up_reaches_no_cluster(tmp_path):
    dsn = _kioskledger(tmp_path, "dsn")
    assert dsn.returncode != 0 and "127.0.0.1" not in dsn.stdout
    assert "make run" in dsn.stderr


def test_an_older_set_up_is_completed_with_the_port_its_cluster_has(tmp_path):
    (tmp_path / ".env").write_text("KL_PG_PASSWORD=x\n")
    (tmp_path / ".pgdata").mkdir()
    (tmp_path / ".pgdata" / "PG_VERSION").write_text("15\n")
    legacy = 54329  # the port every checkout used before it was saved
    dsn = _kioskledger(tmp_path, "dsn")
    assert dsn.returncode == 0, dsn.stderr
    assert f"@127.0.0.1:{legacy}/" in dsn.stdout
    assert _dotenv(tmp_path)["KL_PGPORT"] == str(legacy), "the set-up's port is saved from now on"
