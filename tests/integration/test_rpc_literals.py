"""rpc.literals against a real Postgres: each literal reads back as exactly its value, and
anything it cannot write that way is left to psycopg."""

from __future__ import annotations

import random

import psycopg
import pytest

from rpc import literals

NASTY = [
    "",
    "'",
    "''",
    "\\",
    "\\'",
    "'; DROP TABLE core.idempotency_keys; --",
    "a'b''c'''",
    "E'\\x41'",
    "$$",
    "$tag$ x $tag$",
    "/* open comment",
    "-- line comment\nnext line",
    "%s %% %(name)s",
    "tab\tnewline\ncarriage\rform\x0cbell\x07",
    "\x01\x1f\x7f",
    "é ü ß 中文 😀 \u200b \ufeff",
    "\\\\'\\\\",
    "'" * 101,
    "x" * 20000,
]


@pytest.fixture
def conn(db):
    return db


def _random_text(rng: random.Random) -> str:
    alphabet = "ab'\\\"$%;-/*\n\t é中😀\x01"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def test_every_string_reads_back_exactly(conn):
    assert literals.plain_quoting(conn.pgconn)
    rng = random.Random(7)
    values = NASTY + [_random_text(rng) for _ in range(300)]
    for value in values:
        # The template's %% is one percent sign, as in psycopg's placeholders.
        text, percent = conn.execute(literals.query(conn.pgconn, "SELECT (%s)::text, '%%'", [value])).fetchone()
        assert text == value and percent == "%", value


def test_integers_booleans_and_null(conn):
    template = "SELECT (%s)::bigint, (%s)::bigint, (%s)::int, (%s)::boolean, (%s)::boolean, (%s)::text IS NULL"
    values = [-9223372036854775808, 9223372036854775807, 0, True, False, None]
    got = conn.execute(literals.query(conn.pgconn, template, values)).fetchone()
    assert got == (-9223372036854775808, 9223372036854775807, 0, True, False, True)


def test_other_values_are_left_to_psycopg():
    for value in (1.5, [1, 2], {"a": 1}, b"bytes", "nul\x00inside"):
        assert literals.literal(value) is None


def test_a_connection_that_reads_literals_otherwise_is_left_to_psycopg(migrated):
    with psycopg.connect(migrated.url, autocommit=True) as other:
        other.execute("SET standard_conforming_strings = off")
        assert not literals.plain_quoting(other.pgconn)
        assert literals.query(other.pgconn, "SELECT %s", ["a\\b"]) is None
    with psycopg.connect(migrated.url, autocommit=True, client_encoding="latin1") as latin:
        assert not literals.plain_quoting(latin.pgconn)
