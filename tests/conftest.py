"""Test harness: a throwaway PostgreSQL (never `make run`'s data) with one migrated template
database per session; each test module gets its own clone of it, and its own RPC server
(a real subprocess) when it asks for one. pgTAP files share one clone and roll back.

With DATABASE_URL set the template is created (and dropped) on that server instead.

Layers: unit/ (no database), sql/ (pgTAP, plpgsql_check), integration/ (database and RPC server),
resilience/ (outages, concurrency, soaks), acceptance/ (the programs as processes),
migration/ (migrate, the schema snapshot, upgrades). `-m "not slow"` runs the fast part.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from tests.support.browser import browser_page, chromium_browser  # noqa: F401  (fixtures)
from tests.support.database import external_database, migrated_cluster, server_env
from tests.support.fakes import world_fake as world
from tests.support.fakes.stripe_fake import FakeStripe
from tests.support.fakes.world_fake import FakeWorld
from tests.support.rpc_process import rpc_server

# Servers started by the tests must not read the developer's .env.
os.environ["KL_NO_DOTENV"] = "1"
JWT_SECRET = secrets.token_urlsafe(32)
STRIPE_WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(16)
SQL_HELPERS = Path(__file__).parent / "support" / "sql_helpers.sql"


@pytest.fixture(scope="session")
def template_db():
    """The migrated database every module clones (with pgTAP and the SQL test helpers)."""
    external = os.environ.get("DATABASE_URL")
    maker = (
        external_database(external, "kl_test_" + secrets.token_hex(4))
        if external
        else migrated_cluster("kioskledger-test-", "kl_template")
    )
    with maker as db:
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
            conn.execute(SQL_HELPERS.read_text())
        yield db


def _module_clone(template, request):
    db = template.clone(request.module.__name__.rpartition(".")[2])
    yield db
    db.drop()


@pytest.fixture(scope="module")
def migrated(template_db, request):
    """This module's own migrated database."""
    yield from _module_clone(template_db, request)


@pytest.fixture
def empty_db(template_db, request):
    """The URL of a new, empty database (nothing migrated) on the test server."""
    db = template_db.empty(request.node.name)
    yield db.url
    db.drop()


@pytest.fixture(scope="session")
def outage_template():
    """A crash-safe cluster for the tests that stop or crash Postgres under running programs
    and then count acknowledged commits (throwaway clusters commit asynchronously)."""
    with migrated_cluster("kioskledger-outage-", "kl_outage", durable=True) as db:
        yield db


@pytest.fixture(scope="module")
def outage_db(outage_template, request):
    """This module's database on the crash-safe cluster (`.cluster` restarts it)."""
    yield from _module_clone(outage_template, request)


@pytest.fixture(scope="session")
def pgtap_connection(template_db):
    """Overrides pytest-pgtap's: connect or fail, never skip the SQL tests silently. The
    pgTAP files run in one clone of their own, each inside BEGIN ... ROLLBACK."""
    db = template_db.clone("pgtap")
    conn = psycopg.connect(db.url, autocommit=True)
    yield conn
    conn.close()
    db.drop()


@pytest.fixture
def db(migrated):
    """A superuser connection to this module's database, autocommit."""
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


@pytest.fixture(scope="module")
def server(migrated, stripe_fake, world_fake, tmp_path_factory):
    """The real RPC server (uvicorn) on this module's database, Stripe and World ID pointed
    at their fakes; its log is kept in the module's temporary directory."""
    env = server_env(
        migrated,
        JWT_SECRET,
        RPC_POOL_MAX="40",
        STRIPE_API_KEY="sk_test_kioskledger",
        STRIPE_API_BASE=stripe_fake.base,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        WORLD_ID_API_BASE=world_fake.base,
        WORLD_ID_APP_ID=world.APP_ID,
        WORLD_APP_API_KEY=world.API_KEY,
        WORLD_ID_ACTION=world.ACTION,
        WORLD_PAY_RECIPIENT=world.RECIPIENT,
        RPC_OPS_GAUGES_TTL_MS="2000",  # the gauge cache test waits one TTL
    )
    with open(tmp_path_factory.mktemp("rpc") / "server.log", "w") as log, rpc_server(env, output=log) as running:
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


def pytest_collection_modifyitems(session, config, items):
    # The long modules (soaks, outages) first: with modules spread over workers, a long one
    # started last would leave the other workers idle at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
