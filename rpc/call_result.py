"""What a call answers: the JSON body, the decline (an error code the function answered
with instead of raising) and whether the idempotency core replayed a stored answer."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import pq


@dataclass
class CallResult:
    body: str
    decline: str | None
    replayed: bool

    @classmethod
    def from_row(cls, result: pq.abc.PGresult, encoding: str = "utf-8") -> CallResult:
        """From the call's one row: (body, response.decline, response.replayed) as text."""
        body, decline, replayed = result.get_value(0, 0), result.get_value(0, 1), result.get_value(0, 2)
        return cls(
            body.decode(encoding) if body is not None else "null",
            decline.decode(encoding) if decline else None,
            replayed == b"true",
        )
