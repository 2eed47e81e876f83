"""A request's values written into its query string as SQL literals, for the common types.

The RPC sends one query string per request (rpc/database.py), so its values are quoted
client-side. psycopg's ClientCursor does that for every type, through its adapters: ~78k
Python instructions for a transfer's seven values (callgrind), a quarter of the server's
whole database call. The values of a request are nearly always text, integers, booleans
or NULL, and for those the quoting is simple and exact on a connection whose
client_encoding is UTF8 and standard_conforming_strings is on: a string literal is the
text between single quotes with each single quote doubled; a backslash is an ordinary
character, and no UTF-8 sequence holds a byte that is a quote. Anything else (a number
with a fraction, an array), or a connection set up otherwise, returns None and the caller
quotes with psycopg.
"""

from __future__ import annotations

from psycopg import pq

_UTF8 = (b"UTF8", b"UNICODE")
_ON = b"on"


def utf8(pgconn: pq.abc.PGconn) -> bool:
    """Whether the connection's client_encoding is UTF8 (as Postgres names it, or as the
    client spelled it: PgBouncer reports the client's own "utf8")."""
    encoding = pgconn.parameter_status(b"client_encoding") or b""
    return encoding.upper().replace(b"-", b"") in _UTF8


def plain_quoting(pgconn: pq.abc.PGconn) -> bool:
    """Whether this connection reads string literals as `literal` writes them."""
    return utf8(pgconn) and pgconn.parameter_status(b"standard_conforming_strings") == _ON


def literal(value) -> str | None:
    """`value` as a SQL literal, or None for a type left to psycopg."""
    kind = type(value)
    if kind is str:
        if "\x00" in value:  # libpq would cut the query there; psycopg refuses it
            return None
        return "'" + value.replace("'", "''") + "'"
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "NULL"
    return None


def query(pgconn: pq.abc.PGconn, template: str, values: list) -> str | None:
    """`template` (psycopg's %s placeholders, %% for a percent sign) with `values` as
    literals; None when a value or the connection needs psycopg's quoting."""
    if not plain_quoting(pgconn):
        return None
    literals = []
    for value in values:
        text = literal(value)
        if text is None:
            return None
        literals.append(text)
    return template % tuple(literals)
