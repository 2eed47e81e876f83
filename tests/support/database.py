"""Test databases: throwaway clusters migrated once, a migrated template cloned per test
module (CREATE DATABASE ... TEMPLATE: fast, and no module sees another's rows), and the
environment an RPC server needs to serve one of them."""

from __future__ import annotations

import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from kioskledger.ops.local_cluster import Cluster, remove_cluster, throwaway_cluster
from kioskledger.ops.migrate import migrate
from kioskledger.ops.provision import set_authenticator_password


def _with_db(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


@dataclass
class TestDatabase:
    url: str  # owner (superuser) connection to this database
    rpc_url: str  # what the RPC pool uses (authenticator)
    admin_url: str  # maintenance connection on the same server (CREATE DATABASE ...)
    cluster: Cluster | None = None

    @property
    def name(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    def url_for(self, dbname: str) -> str:
        return _with_db(self.url, dbname)

    def clone(self, label: str) -> TestDatabase:
        """A copy of this (migrated) database under a fresh name."""
        name = re.sub(r"[^a-z0-9_]", "_", label.lower())[:40] + "_" + secrets.token_hex(3)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return TestDatabase(self.url_for(name), _with_db(self.rpc_url, name), self.admin_url, self.cluster)

    def empty(self, label: str) -> TestDatabase:
        """A new, empty database on the same server (nothing migrated)."""
        name = re.sub(r"[^a-z0-9_]", "_", label.lower())[:40] + "_" + secrets.token_hex(3)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return TestDatabase(self.url_for(name), _with_db(self.rpc_url, name), self.admin_url, self.cluster)

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@contextmanager
def migrated_cluster(prefix: str, dbname: str = "kioskledger", durable: bool = False, pg_cron: bool = False):
    """A throwaway cluster with one migrated database the `authenticator` role can log in to
    (`pg_cron`: with pg_cron loaded for that database, which schedules upkeep in it)."""
    cluster = throwaway_cluster(prefix, durable=durable, cron_database=dbname if pg_cron else None)
    try:
        cluster.create_database(dbname)
        url = cluster.url(dbname)
        migrate(url)
        password = secrets.token_hex(12)
        set_authenticator_password(url, password)
        yield TestDatabase(url, cluster.url(dbname, "authenticator", password), cluster.url("postgres"), cluster)
    finally:
        remove_cluster(cluster)


@contextmanager
def external_database(server_url: str, dbname: str):
    """A database of our own on a server we were given (DATABASE_URL); dropped afterwards."""
    admin = _with_db(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = _with_db(server_url, dbname)
    try:
        migrate(url)
        yield TestDatabase(url, url, admin)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def server_env(db: TestDatabase, jwt_secret: str, **settings: str) -> dict:
    """The environment of an RPC server for `db` (never the developer's .env)."""
    env = dict(os.environ, KL_NO_DOTENV="1", DATABASE_URL=db.url, RPC_DATABASE_URL=db.rpc_url, JWT_SECRET=jwt_secret)
    env.update(settings)
    return env
