"""A libpq connection (psycopg's `pgconn`, non-blocking) driven from the event loop: send
what is queued, then take its results one by one, waiting on the socket in between."""

from __future__ import annotations

import asyncio

from psycopg import pq


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, writable: bool) -> None:
    done = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    (loop.add_writer if writable else loop.add_reader)(fd, wake)
    try:
        await done
    finally:
        (loop.remove_writer if writable else loop.remove_reader)(fd)


async def flush(pgconn: pq.abc.PGconn) -> None:
    """Until everything queued on the connection is sent."""
    while pgconn.flush():
        await _ready(asyncio.get_running_loop(), pgconn.socket, writable=True)


async def next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The next result, once it has arrived (None: the end of one query's results)."""
    while pgconn.is_busy():
        await _ready(asyncio.get_running_loop(), pgconn.socket, writable=False)
        pgconn.consume_input()
    return pgconn.get_result()
