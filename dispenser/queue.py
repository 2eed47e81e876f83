"""The dispense queue as the agent sees it: one call per api.* function (dispenser/queries.sql).
States, leases, retries and money are decided in SQL; this module only carries the calls
and turns errors into `ApiError` (the database said no) or `DbUnavailable` (try later)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import psycopg
from psycopg.types.json import Jsonb

from kioskledger.protocol import refusal

from .connection import DbUnavailable, Link, first_line

__all__ = ["ApiError", "DbUnavailable", "Queue", "queries"]


class ApiError(Exception):
    """A refusal from an api.* function: `CODE: message` with JSON details."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.details = code, message, details or {}


@cache
def queries() -> dict[str, str]:
    text = resources.files("dispenser").joinpath("queries.sql").read_text()
    out: dict[str, str] = {}
    for block in re.split(r"^-- name: ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("--")]
        out[name.strip()] = "\n".join(lines)
    return out


class Queue:
    def __init__(self, link: Link):
        self.link = link

    def _call(self, name: str, **params):
        conn = self.link.get()
        try:
            return conn.execute(queries()[name], params).fetchone()[0]
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            if conn.closed or conn.broken:
                self.link.broken(err)
            raise DbUnavailable(f"{name}: {first_line(err)}") from err
        except psycopg.Error as err:
            if (ours := refusal(err)) is not None:
                details = ours.details if isinstance(ours.details, dict) else {}
                raise ApiError(ours.code, ours.message, details) from err
            if conn.closed or conn.broken:
                self.link.broken(err)
                raise DbUnavailable(f"{name}: {first_line(err)}") from err
            raise ApiError("SERVER_ERROR", str(err).strip()) from err

    def claim(self) -> dict | None:
        return self._call("claim")

    def begin(self, job_id: int, claim_token: str) -> dict:
        return self._call("begin", job_id=job_id, claim_token=claim_token)

    def progress(self, job_id: int, claim_token: str, coins_paid: int) -> dict:
        return self._call("progress", job_id=job_id, claim_token=claim_token, coins_paid=coins_paid)

    def report(
        self, job_id: int, claim_token: str, coins_paid: int, base_paid: int, error_code: str | None, evidence: dict
    ) -> dict:
        """{"outcome": "finished" | "reconciled" | "nothing_paid", "job": {...}}; a count that can
        no longer be applied is an ApiError."""
        return self._call(
            "report",
            job_id=job_id,
            claim_token=claim_token,
            coins_paid=coins_paid,
            base_paid=base_paid,
            error_code=error_code,
            evidence=Jsonb(evidence),
        )

    def unknown(self, job_id: int, claim_token: str, evidence: dict) -> dict:
        return self._call("unknown", job_id=job_id, claim_token=claim_token, evidence=Jsonb(evidence))

    def expire_leases(self) -> dict:
        return self._call("expire_leases")
