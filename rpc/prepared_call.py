"""The call as two prepared statements in one pipeline: the request settings, then the
function call, each executed by name, then one Sync - one write, one read, one implicit
transaction (the settings are set_config(..., true): local to it, as SET LOCAL is).

A prepared statement is parsed and planned once per connection instead of on every request:
measured on /rpc/ledger_transfer, ~390 instead of ~437 us of backend CPU per call (the
simple-query string of four SET LOCALs and the call), and ~12k fewer instructions in the
server process (bench.server_instructions; no quoting: values travel as parameters).

A statement's name is a digest of its text, so a name means the same statement on any
connection. Behind a pooler that moves transactions between server connections (PgBouncer
in transaction mode before 1.21) a name we prepared can be missing, or present when we did
not prepare it on that connection: the database answers 26000 or 42P05, nothing of the
request has run (the pipeline is one transaction, aborted), and `Unusable` tells the caller
to send the request as a query string instead - from then on, for that pool.
"""

from __future__ import annotations

import hashlib
import weakref

import psycopg
from psycopg.pq import ExecStatus

from kioskledger.protocol import SET_REQUEST_PARAMS

from . import libpq_async, literals
from .call_result import CallResult

_SETTINGS_READ_ONLY = SET_REQUEST_PARAMS + ", set_config('transaction_read_only', 'on', true)"
# Statements one connection keeps at most; a call beyond them goes as a query string.
MAX_PER_CONNECTION = 256
_UNUSABLE_STATES = {"26000", "42P05"}  # no such prepared statement / it exists already
_TUPLES_OK, _COMMAND_OK, _FATAL_ERROR, _PIPELINE_SYNC = (
    ExecStatus.TUPLES_OK,
    ExecStatus.COMMAND_OK,
    ExecStatus.FATAL_ERROR,
    ExecStatus.PIPELINE_SYNC,
)

# The names prepared on each connection (forgotten with the connection).
_known: weakref.WeakKeyDictionary[psycopg.AsyncConnection, set[bytes]] = weakref.WeakKeyDictionary()
# (name, text) of a call's query-string template, converted once.
_statements: dict[str, tuple[bytes, bytes]] = {}


class Unusable(Exception):
    """The connection does not keep our prepared statements between transactions."""


def _named(text: str) -> tuple[bytes, bytes]:
    return b"kl_" + hashlib.blake2b(text.encode(), digest_size=10).hexdigest().encode(), text.encode()


SETTINGS = _named(SET_REQUEST_PARAMS)
SETTINGS_READ_ONLY = _named(_SETTINGS_READ_ONLY)


def statement(template: str) -> tuple[bytes, bytes]:
    """A call's template (psycopg's %s placeholders, %% a percent sign) as a named
    statement with $1, $2... parameters."""
    found = _statements.get(template)
    if found is None:
        pieces = [piece.replace("%%", "%") for piece in template.split("%s")]
        text = pieces[0] + "".join(f"${i}{piece}" for i, piece in enumerate(pieces[1:], start=1))
        found = _statements[template] = _named(text)
    return found


def parameters(values: list) -> list[bytes | None] | None:
    """Values as text parameters; None when one needs psycopg's adapters (a number with a
    fraction, an array) or would not survive as text (a NUL)."""
    out: list[bytes | None] = []
    for value in values:
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return None
            out.append(value.encode())
        elif kind is int:
            out.append(str(value).encode())
        elif kind is bool:
            out.append(b"true" if value else b"false")
        elif value is None:
            out.append(None)
        else:
            return None
    return out


async def run(
    conn: psycopg.AsyncConnection, settings: list[str], read_only: bool, template: str, values: list
) -> CallResult | None:
    """The call's answer; None when the values or the connection need the query string
    (the caller sends that instead). Raises the database's error as psycopg would, or
    Unusable."""
    pgconn = conn.pgconn
    if not literals.utf8(pgconn):
        return None
    params = parameters(values)
    if params is None:
        return None
    known = _known.get(conn)
    if known is None:
        known = _known[conn] = set()
    settings_name, settings_text = SETTINGS_READ_ONLY if read_only else SETTINGS
    call_name, call_text = statement(template)
    if call_name not in known and len(known) >= MAX_PER_CONNECTION:
        return None

    # One result per step, in order: (step's name if it prepares one, else None).
    steps: list[bytes | None] = []
    pgconn.enter_pipeline_mode()
    if settings_name not in known:
        pgconn.send_prepare(settings_name, settings_text)
        steps.append(settings_name)
    pgconn.send_query_prepared(settings_name, [s.encode() for s in settings])
    steps.append(None)
    # Prepared after the settings ran: its names are looked up as the request's role.
    if call_name not in known:
        pgconn.send_prepare(call_name, call_text)
        steps.append(call_name)
    pgconn.send_query_prepared(call_name, params)
    steps.append(None)
    pgconn.pipeline_sync()

    await libpq_async.flush(pgconn)
    results = []
    while True:
        result = await libpq_async.next_result(pgconn)
        if result is None:
            continue  # the end of one step's results
        if result.status == _PIPELINE_SYNC:
            break
        results.append(result)
    pgconn.exit_pipeline_mode()

    error = None
    for name, result in zip(steps, results, strict=True):
        if name is not None and result.status == _COMMAND_OK:
            known.add(name)  # kept even if a later step fails: Parse is not transactional
        elif result.status == _FATAL_ERROR and error is None:
            error = result
    if error is not None:
        if (error.error_field(psycopg.pq.DiagnosticField.SQLSTATE) or b"").decode() in _UNUSABLE_STATES:
            raise Unusable
        raise psycopg.errors.error_from_result(error, encoding="utf-8")
    answer = results[-1]
    if answer.status != _TUPLES_OK or answer.ntuples != 1:
        raise psycopg.errors.InternalError("the call answered no row")
    return CallResult.from_row(answer)
