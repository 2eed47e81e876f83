"""Stock Python client against the real server: `postgrest` (postgrest-py, the client that
supabase-py uses), from the test extras. POST rpc, a decline as its APIError with our code and
body, GET for a STABLE function, a replay of the same request_id."""

from __future__ import annotations

import httpx
import pytest
from postgrest import APIError, SyncPostgrestClient

from tests.support.helpers import ensure_product, issue_card, rid


@pytest.fixture
def postgrest(server, token):
    """A postgrest-py client on <server>/rest/v1 with a till's bearer (no apikey); `answers`
    keeps every HTTP response it got, so a test can read the headers the client hides."""
    answers: list[httpx.Response] = []
    http = httpx.Client(
        base_url=server + "/rest/v1",
        headers={"Authorization": "Bearer " + token("staff", sub="py-till", pos="bar-py")},
        timeout=30,
        event_hooks={"response": [answers.append]},
    )
    with SyncPostgrestClient(server + "/rest/v1", http_client=http) as client:
        client.answers = answers
        yield client


def test_postgrest_py_flow(postgrest, db):
    product = ensure_product(db, "py-beer", 450)
    card = issue_card(db, balance=1000)
    order = {"card_id": card, "items": [{"product_id": product, "quantity": 1}], "point_of_sale": "bar-py"}
    order["request_id"] = rid()

    sold = postgrest.rpc("bar_order", order).execute().data
    assert sold["total"] == 450 and sold["new_balance"] == 550, sold
    assert postgrest.answers[-1].status_code == 200
    assert postgrest.answers[-1].headers.get("idempotent-replayed") != "true"

    with pytest.raises(APIError) as declined:
        postgrest.rpc(
            "bar_order", {**order, "items": [{"product_id": product, "quantity": 100}], "request_id": rid()}
        ).execute()
    assert declined.value.code == "INSUFFICIENT_FUNDS", declined.value.json()
    assert set(declined.value.json()) >= {"code", "message", "details", "hint"}
    assert declined.value.message
    assert postgrest.answers[-1].status_code == 402

    balance = postgrest.rpc("card_balance", {"card_id": card}, get=True).execute().data
    assert balance["balance"] == 550, balance
    assert postgrest.answers[-1].request.method == "GET"

    replay = postgrest.rpc("bar_order", order).execute().data
    assert replay == sold
    assert postgrest.answers[-1].headers.get("idempotent-replayed") == "true"
    assert db.execute("SELECT count(*) FROM cards.bar_orders WHERE card_id = %s", (card,)).fetchone()[0] == 1
