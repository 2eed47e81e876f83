"""The RPC's calls as prepared statements (rpc.prepared_call) on a real Postgres: the same
answers as the query string, prepared once per connection, and a fall back to query
strings for good when a connection loses what was prepared on it."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from rpc import database, prepared_call
from rpc.errors import ApiError
from tests.support.helpers import rid

WHOAMI = "SELECT r::text, current_setting('response.decline', true), current_setting('response.replayed', true) FROM api.\"whoami\"() AS r"
OPEN = (
    "SELECT r::text, current_setting('response.decline', true), current_setting('response.replayed', true) "
    'FROM api."ledger_account_open"("kind" => (%s)::text, "owner_ref" => (%s)::text, "currency" => (%s)::text, '
    '"lower_bound" => (%s)::bigint, "request_id" => (%s)::text) AS r'
)
CLAIMS = '{"sub": "prepared-test"}'


def test_a_template_becomes_a_statement_with_numbered_parameters():
    name, text = prepared_call.statement("SELECT (%s)::text, '%%', (%s)::int")
    assert text == b"SELECT ($1)::text, '%', ($2)::int"
    assert name == prepared_call.statement("SELECT (%s)::text, '%%', (%s)::int")[0] and name.startswith(b"kl_")
    assert prepared_call.statement("SELECT (%s)::bigint")[0] != name


def test_values_travel_as_text_or_are_left_to_the_query_string():
    assert prepared_call.parameters(["a'b\\", 7, -9223372036854775808, True, False, None]) == [
        b"a'b\\",
        b"7",
        b"-9223372036854775808",
        b"true",
        b"false",
        None,
    ]
    for other in (1.5, [1], "nul\x00"):
        assert prepared_call.parameters(["x", other]) is None


def _run(migrated, scenario):
    async def main():
        pool = database.make_pool(migrated.rpc_url, 1, 1, 5)
        await pool.open(wait=True, timeout=10)
        try:
            return await scenario(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def _open_args(currency="EUR"):
    return ["card", None, currency, 0, rid()]


def test_calls_are_prepared_once_and_answer_as_the_query_string_does(migrated):
    async def scenario(pool):
        args = _open_args()
        first = await database.call(pool, OPEN, args, "admin", CLAIMS, 5000, False)
        replay = await database.call(pool, OPEN, args, "admin", CLAIMS, 5000, False)
        async with pool.connection() as conn:
            names = {row[0] for row in await (await conn.execute("SELECT name FROM pg_prepared_statements")).fetchall()}
        pool.prepared_statements = False
        as_query = await database.call(pool, OPEN, _open_args(), "admin", CLAIMS, 5000, False)
        read = await database.call(pool, WHOAMI, [], "staff", CLAIMS, 5000, True)
        return first, replay, names, as_query, read

    first, replay, names, as_query, read = _run(migrated, scenario)
    assert not first.replayed and replay.replayed and replay.body == first.body
    assert {prepared_call.statement(OPEN)[0].decode(), prepared_call.SETTINGS[0].decode()} <= names
    opened, other = orjson.loads(first.body), orjson.loads(as_query.body)
    assert opened["currency"] == other["currency"] == "EUR" and other["id"] != opened["id"]
    assert orjson.loads(read.body)["role"] == "staff"


def test_errors_and_declines_come_back_as_before(migrated):
    async def scenario(pool):
        with pytest.raises(ApiError) as bad:
            await database.call(pool, OPEN, _open_args("NOT-A-CURRENCY"), "admin", CLAIMS, 5000, False)
        with pytest.raises(ApiError) as denied:
            await database.call(pool, OPEN, _open_args(), "anon", "{}", 5000, False)
        ok = await database.call(pool, OPEN, _open_args(), "admin", CLAIMS, 5000, False)
        return bad.value, denied.value, ok, pool.prepared_statements

    bad, denied, ok, still_prepared = _run(migrated, scenario)
    assert bad.status == 400 and bad.code == "INVALID_REQUEST"
    assert denied.status in (401, 403)
    assert orjson.loads(ok.body)["currency"] == "EUR" and still_prepared


def test_a_connection_that_loses_its_statements_falls_back_to_query_strings(migrated):
    async def scenario(pool):
        await database.call(pool, OPEN, _open_args(), "admin", CLAIMS, 5000, False)
        async with pool.connection() as conn:
            await conn.execute("DEALLOCATE ALL")  # as a pooler's other server connection would be
        answer = await database.call(pool, OPEN, _open_args(), "admin", CLAIMS, 5000, False)
        return answer, pool.prepared_statements

    answer, prepared = _run(migrated, scenario)
    assert orjson.loads(answer.body)["currency"] == "EUR" and not prepared
