"""Test harness: a throwaway PostgreSQL (never `make run`'s data), migrated once per
session, pgTAP loaded, and the real RPC server started as a subprocess against it.

With DATABASE_URL set the tests create (and drop) a database of their own on that
server instead of starting a cluster.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from kioskledger.ops.local_cluster import remove_cluster, throwaway_cluster
from kioskledger.ops.migrate import migrate
from tests.support.rpc_process import rpc_server
from kioskledger.ops.provision import set_authenticator_password
from kioskledger.ops.tokens import make_token
from tests import world_fake as world
from tests.stripe_fake import FakeStripe
from tests.world_fake import FakeWorld

# Servers started by the tests must not read the developer's .env.
os.environ["KL_NO_DOTENV"] = "1"
JWT_SECRET = secrets.token_urlsafe(32)
STRIPE_WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(16)


@dataclass
class TestDatabase:
    url: str            # owner (superuser) connection to the test database
    rpc_url: str        # what the RPC pool uses (authenticator)
    admin_url: str      # maintenance connection (CREATE DATABASE ...)
    cluster: object | None

    def url_for(self, dbname: str) -> str:
        return _replace_db(self.url, dbname)


def _replace_db(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


@pytest.fixture(scope="session")
def test_db():
    external = os.environ.get("DATABASE_URL")
    if external:
        dbname = "kl_test_" + secrets.token_hex(4)
        admin = _replace_db(external, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = _replace_db(external, dbname)
        yield TestDatabase(url, url, admin, None)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        return
    cluster = throwaway_cluster("kioskledger-test-")
    try:
        cluster.create_database("kioskledger_test")
        auth_pw = secrets.token_hex(12)
        url = cluster.url("kioskledger_test")
        migrate(url)
        set_authenticator_password(url, auth_pw)
        yield TestDatabase(url, cluster.url("kioskledger_test", "authenticator", auth_pw),
                           cluster.url("postgres"), cluster)
    finally:
        remove_cluster(cluster)


@pytest.fixture(scope="session")
def migrated(test_db):
    if test_db.cluster is None:
        migrate(test_db.url)
    with psycopg.connect(test_db.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
        conn.execute((Path(__file__).parent / "sql" / "helpers.sql").read_text())
    return test_db


@pytest.fixture(scope="session")
def pgtap_connection(migrated):
    """Overrides pytest-pgtap's: connect or fail, never skip the SQL tests silently."""
    conn = psycopg.connect(migrated.url, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def db(migrated):
    """A superuser connection to the test database, autocommit."""
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def stripe_fake():
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="session")
def world_fake():
    with FakeWorld() as fake:
        yield fake


@pytest.fixture(scope="session")
def server(migrated, stripe_fake, world_fake):
    """The real RPC server (uvicorn) as a subprocess on a free port, Stripe pointed at the fake."""
    env = dict(os.environ)
    env.update(DATABASE_URL=migrated.url, RPC_DATABASE_URL=migrated.rpc_url, JWT_SECRET=JWT_SECRET,
               RPC_POOL_MAX="40", STRIPE_API_KEY="sk_test_kioskledger", STRIPE_API_BASE=stripe_fake.base,
               STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET, WORLD_ID_API_BASE=world_fake.base,
               WORLD_ID_APP_ID=world.APP_ID, WORLD_APP_API_KEY=world.API_KEY, WORLD_ID_ACTION=world.ACTION)
    with open(os.path.join(os.path.dirname(__file__), "..", ".rpc-test-server.log"), "w") as log:
        with rpc_server(env, output=log) as running:
            yield running.base


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def token():
    def make(role: str, **claims) -> str:
        return make_token(JWT_SECRET, role, claims)
    return make


@pytest.fixture
def admin_headers(token):
    return {"Authorization": "Bearer " + token("admin", sub="test-admin")}


# pytest-pgtap runs every SQL file on one connection: reset it between files.
def pytest_runtest_teardown(item):
    if type(item).__name__ == "PgTapItem":
        conn = item._request.getfixturevalue("pgtap_connection")
        if not conn.closed:
            conn.execute("DISCARD ALL")


def pytest_runtest_logreport(report):
    # A skipped SQL test file means the database was not tested: that is a failure.
    if report.skipped and report.nodeid.endswith(".sql"):
        report.outcome = "failed"
