"""The per-type argument checks of rpc/catalogue.py at their edges (no database)."""

from __future__ import annotations

import math

import orjson
import pytest

from rpc.catalogue import JSON_DEPTH_MAX, PARSED_MAX, TEXT_MAX, BadArgument, _checker


def nested(depth: int):
    return orjson.loads("[" * depth + "]" * depth)


def accepts(pgtype: str, value) -> bool:
    try:
        _checker(pgtype)[0](value)
    except BadArgument:
        return False
    return True


def test_jsonb_nesting_up_to_the_limit():
    assert accepts("jsonb", nested(JSON_DEPTH_MAX))
    assert not accepts("jsonb", nested(JSON_DEPTH_MAX + 1))
    assert not accepts("jsonb", {"a": [1, {"b": nested(JSON_DEPTH_MAX - 1)}]})


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({"a": "x\u0000"}, False),
        ({"x\u0000": 1}, False),
        ({"a": "\\\u0000"}, False),  # a backslash, then a NUL
        ({"a": "\\u0000"}, True),  # a backslash, then the letters u0000
        ({"a": "\\\\u0000"}, True),
    ],
)
def test_jsonb_nul_in_any_string_or_key(value, ok):
    assert accepts("jsonb", value) is ok


@pytest.mark.parametrize("value", ["infinity", "-infinity", " +Infinity ", "INFINITY"])
@pytest.mark.parametrize("pgtype", ["timestamp with time zone", "date"])
def test_time_values_are_finite(pgtype, value):
    assert not accepts(pgtype, value)
    assert accepts(pgtype, "2026-01-01")


def test_string_lengths():
    assert accepts("text", "x" * TEXT_MAX) and not accepts("text", "x" * (TEXT_MAX + 1))
    assert accepts("interval", "1 day") and not accepts("interval", "1" * (PARSED_MAX + 1))
    assert _checker("text", 10**6)[0]("x" * 10**5)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_are_finite(value):
    assert not accepts("numeric", value) and not accepts("double precision", value)
    assert accepts("numeric", 1.5) and accepts("numeric", 10**30)
