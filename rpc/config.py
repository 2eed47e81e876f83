"""Settings from the environment (and a git-ignored .env that `make run` writes).

DATABASE_URL       owner/migration connection; when unset, the project-local cluster in .pgdata/
RPC_DATABASE_URL   the pool's connection (the `authenticator` role); defaults as above
JWT_SECRET         HS256 secret for bearer tokens (required to serve)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = PROJECT_ROOT / ".env"
LOCAL_DATADIR = PROJECT_ROOT / ".pgdata"
LOCAL_DBNAME = "kioskledger"

# Values the local set-up generates once and keeps in .env.
_GENERATED = {
    "JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "KL_PG_PASSWORD": lambda: secrets.token_hex(16),
    "KL_AUTHENTICATOR_PASSWORD": lambda: secrets.token_hex(16),
    "STRIPE_WEBHOOK_SECRET": lambda: "whsec_dev_" + secrets.token_hex(24),
}


def load_env() -> None:
    if not os.environ.get("KL_NO_DOTENV"):  # tests and benchmarks stay hermetic
        load_dotenv(ENV_FILE, override=False)


def ensure_env_file() -> None:
    """Create or complete .env with generated dev secrets; never overwrite a value."""
    existing = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                existing[k.strip()] = v.strip()
    missing = {k: gen() for k, gen in _GENERATED.items() if k not in existing}
    if missing:
        with ENV_FILE.open("a") as f:
            for k, v in missing.items():
                f.write(f"{k}={v}\n")
        ENV_FILE.chmod(0o600)
    load_env()


@dataclass(frozen=True)
class Settings:
    database_url: str
    rpc_database_url: str
    jwt_secret: str | None
    statement_timeout_ms: int
    pool_min: int
    pool_max: int
    uses_local_cluster: bool


def local_port() -> int:
    return int(os.environ.get("KL_PGPORT", "54329"))


def settings() -> Settings:
    load_env()
    url = os.environ.get("DATABASE_URL")
    local = not url
    if local:
        pw = os.environ.get("KL_PG_PASSWORD", "")
        url = f"postgresql://postgres:{pw}@127.0.0.1:{local_port()}/{LOCAL_DBNAME}"
        apw = os.environ.get("KL_AUTHENTICATOR_PASSWORD", "")
        default_rpc = f"postgresql://authenticator:{apw}@127.0.0.1:{local_port()}/{LOCAL_DBNAME}"
    else:
        default_rpc = url
    return Settings(
        database_url=url,
        rpc_database_url=os.environ.get("RPC_DATABASE_URL", default_rpc),
        jwt_secret=os.environ.get("JWT_SECRET") or None,
        statement_timeout_ms=int(os.environ.get("RPC_STATEMENT_TIMEOUT_MS", "5000")),
        pool_min=int(os.environ.get("RPC_POOL_MIN", "4")),
        pool_max=int(os.environ.get("RPC_POOL_MAX", "32")),
        uses_local_cluster=local,
    )
