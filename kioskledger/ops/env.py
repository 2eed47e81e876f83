"""The local set-up's environment: a git-ignored .env with generated dev secrets and this
checkout's cluster port, and the connection URLs of the project-local cluster in .pgdata/
used when DATABASE_URL is unset.

Both live in the project home: KL_HOME, else the current directory (`make` runs there).
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from dotenv import load_dotenv

LOCAL_DBNAME = "kioskledger"
DEFAULT_PGPORT = 54329


class NoLocalSetup(SystemExit):
    pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _running_port(datadir: Path) -> int | None:
    """The port a running cluster in `datadir` listens on (postmaster.pid's 4th line)."""
    try:
        return int((datadir / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _choose_port() -> str:
    """This checkout's cluster port, chosen once and saved in .env, so that two checkouts
    on one machine never share one (their tools would reach each other's cluster)."""
    if os.environ.get("KL_PGPORT"):
        return os.environ["KL_PGPORT"]
    datadir = local_datadir()
    if (datadir / "PG_VERSION").exists():
        # A cluster set up before the port was saved ran on the default: keep it.
        return str(_running_port(datadir) or DEFAULT_PGPORT)
    if _port_free(DEFAULT_PGPORT):
        return str(DEFAULT_PGPORT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


# Values the local set-up generates once and keeps in .env.
_GENERATED = {
    "JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "KL_PG_PASSWORD": lambda: secrets.token_hex(16),
    "KL_AUTHENTICATOR_PASSWORD": lambda: secrets.token_hex(16),
    "STRIPE_WEBHOOK_SECRET": lambda: "whsec_dev_" + secrets.token_hex(24),
    "KL_PGPORT": _choose_port,
}


def home() -> Path:
    return Path(os.environ.get("KL_HOME") or Path.cwd()).resolve()


def env_file() -> Path:
    return home() / ".env"


def local_datadir() -> Path:
    return home() / ".pgdata"


def local_port() -> int:
    """KL_PGPORT (saved in .env by the local set-up), else the port of a cluster set up
    before it was saved."""
    port = os.environ.get("KL_PGPORT")
    return int(port) if port else (_running_port(local_datadir()) or DEFAULT_PGPORT)


def load_env() -> None:
    if not os.environ.get("KL_NO_DOTENV"):  # tests and benchmarks stay hermetic
        load_dotenv(env_file(), override=False)


def ensure_env_file() -> None:
    """Create or complete .env with generated dev secrets; never overwrite a value."""
    path = env_file()
    existing = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                existing[k.strip()] = v.strip()
    missing = {k: gen() for k, gen in _GENERATED.items() if k not in existing}
    if missing:
        with path.open("a") as f:
            for k, v in missing.items():
                f.write(f"{k}={v}\n")
        path.chmod(0o600)
    load_env()


def apply_local_defaults() -> bool:
    """Point DATABASE_URL and RPC_DATABASE_URL at the local cluster unless DATABASE_URL is
    set, so every tool and the server read one environment. True when the local cluster
    is the database."""
    load_env()
    if os.environ.get("DATABASE_URL"):
        os.environ.setdefault("RPC_DATABASE_URL", os.environ["DATABASE_URL"])
        return False
    if not os.environ.get("KL_PGPORT"):
        if not env_file().exists():
            # Without a set-up here, the default port is some other checkout's cluster.
            raise NoLocalSetup(
                f"no local set-up in {home()} (no .env): run `make run` or `make setup` there first, "
                "or set DATABASE_URL"
            )
        ensure_env_file()  # a .env from before the port was saved: complete it
    base = f"127.0.0.1:{local_port()}/{LOCAL_DBNAME}"
    os.environ["DATABASE_URL"] = f"postgresql://postgres:{os.environ.get('KL_PG_PASSWORD', '')}@{base}"
    os.environ.setdefault(
        "RPC_DATABASE_URL", f"postgresql://authenticator:{os.environ.get('KL_AUTHENTICATOR_PASSWORD', '')}@{base}"
    )
    return True
