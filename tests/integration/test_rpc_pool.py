"""The RPC server's pool on a real Postgres: it hands out the connection returned last."""

from __future__ import annotations

import asyncio

from rpc.database import make_pool


def test_the_pool_hands_out_the_connection_returned_last(migrated):
    async def scenario() -> tuple[list[int], set[int]]:
        pool = make_pool(migrated.url, min_size=4, max_size=4, timeout_s=5)
        await pool.open(wait=True, timeout=10)
        try:
            # Four requests at once: every connection is used and returned once.
            async def backend_pid(hold_s: float) -> int:
                async with pool.connection() as conn:
                    await asyncio.sleep(hold_s)
                    return conn.info.backend_pid

            everyone = set(await asyncio.gather(*(backend_pid(0.05 * i) for i in range(4))))
            # Then one request at a time: the same, most recently returned backend serves
            # each of them (the oldest-first order would take turns through all four).
            one_at_a_time = [await backend_pid(0) for _ in range(8)]
        finally:
            await pool.close()
        return one_at_a_time, everyone

    one_at_a_time, everyone = asyncio.run(scenario())
    assert len(everyone) == 4
    assert len(set(one_at_a_time)) == 1 and one_at_a_time[0] in everyone
