"""The function catalogue: what api.* offers, read from pg_catalog, and the error codes'
HTTP statuses (core.error_codes), read with it.

Each function gets its argument checks (JSON type per Postgres type, so a wrong type is
a 400 naming the argument, not a database cast error) and its call statement, which also
reads the response flags the function set (declines, idempotent replays).
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .auth import REQUEST_ROLES
from .errors import ApiError, not_allowed
from .limits import MAX_BODY

log = logging.getLogger("rpc.catalogue")


def _named_queries(text: str) -> dict[str, str]:
    """`-- name: x` headers, each followed by its query."""
    out = {}
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        out[name.strip()] = body.strip()
    return out


QUERIES = _named_queries((Path(__file__).parent / "catalogue.sql").read_text())

_INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_MISSING = object()

# Transport limits on argument values, checked before the database sees them; the
# functions check their own business rules. No name, reference, note or code comes near
# TEXT_MAX characters, and an over-long one can be more than an index row holds. The
# arguments in BULK_TEXT carry whole files, which their functions bound themselves
# (api.dex_ingest: 1,000,000 octets), so only the body limit applies to them.
TEXT_MAX = 4096
BULK_TEXT = {("dex_ingest", "raw")}
# Timestamps, dates and intervals are short strings Postgres parses; this is room enough
# for any of them written out in full.
PARSED_MAX = 100
# A jsonb argument nests objects and arrays at most this deep (none of ours needs more
# than 4 or 5; each level costs stack in the JSON encoder and in Postgres).
JSON_DEPTH_MAX = 32
_TIME_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}
# A NUL escaped in JSON text (an even run of backslashes before it is not an escape).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_INFINITE = re.compile(r"\s*[+-]?infinity\s*", re.IGNORECASE)


class BadArgument(Exception):
    pass


def _checker(pgtype: str, max_chars: int | None = None) -> tuple[Callable[[Any], Any], str]:
    """(convert JSON value -> query parameter, JSON schema type) for a Postgres type;
    `max_chars` overrides the length limit of a string argument."""
    if pgtype in _INT_RANGES:
        lo, hi = _INT_RANGES[pgtype]

        def conv_int(v):
            # JSON has one number type: 5.0 is the integer 5 (JSON Schema's "integer" too).
            if type(v) is float and v.is_integer():
                v = int(v)
            if type(v) is int and lo <= v <= hi:
                return v
            raise BadArgument(f"must be an integer ({pgtype})")

        return conv_int, "integer"
    if pgtype in ("numeric", "real", "double precision"):

        def conv_num(v):
            if type(v) is int or (type(v) is float and math.isfinite(v)):
                return v
            raise BadArgument("must be a finite number")

        return conv_num, "number"
    if pgtype == "boolean":

        def conv_bool(v):
            if type(v) is bool:
                return v
            raise BadArgument("must be true or false")

        return conv_bool, "boolean"
    if pgtype in ("jsonb", "json"):

        def conv_json(v):
            if _too_deep(v, JSON_DEPTH_MAX):
                raise BadArgument(f"nests deeper than {JSON_DEPTH_MAX} levels")
            text = orjson.dumps(v).decode()
            if "\\u0000" in text and _JSON_NUL.search(text):
                raise BadArgument("must not contain NUL characters (\\u0000) in any string or key")
            return text

        return conv_json, "any"
    if pgtype == "uuid":

        def conv_uuid(v):
            try:
                return str(uuid.UUID(v))
            except (TypeError, ValueError, AttributeError):
                raise BadArgument("must be a UUID string") from None

        return conv_uuid, "string"
    if pgtype.endswith("[]"):
        elem, _ = _checker(pgtype[:-2])

        def conv_array(v):
            if type(v) is not list:
                raise BadArgument(f"must be an array ({pgtype})")
            return [elem(x) for x in v]

        return conv_array, "array"

    # text, varchar, timestamptz, date, interval, enums...: a string Postgres parses.
    max_len = (
        max_chars if max_chars is not None else TEXT_MAX if pgtype in ("text", "character varying") else PARSED_MAX
    )
    finite = pgtype in _TIME_TYPES

    def conv_str(v):
        if type(v) is not str:
            raise BadArgument(f"must be a string ({pgtype})")
        if "\x00" in v:
            raise BadArgument("must not contain NUL characters")
        if len(v) > max_len:
            raise BadArgument(f"must be at most {max_len} characters")
        if finite and _INFINITE.fullmatch(v):
            # Postgres takes them, but no clock reads infinity, and every age or
            # difference computed from one fails.
            raise BadArgument(f"must be a finite {pgtype}")
        return v

    return conv_str, "string"


def _too_deep(value: Any, limit: int) -> bool:
    """Whether objects/arrays in `value` nest more than `limit` levels (scalars are free)."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        nested = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, (dict, list)):
                    nested.append(child)
        level = nested
    return False


def _from_query_string(pgtype: str, raw: str) -> Any:
    """GET arguments arrive as strings; read them as the JSON value they stand for."""
    if pgtype in _INT_RANGES:
        try:
            return int(raw)
        except ValueError:
            return raw
    if pgtype == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if pgtype in ("numeric", "real", "double precision"):
        try:
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
    if pgtype in ("jsonb", "json") or pgtype.endswith("[]"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


@dataclass
class Arg:
    name: str
    pgtype: str
    required: bool
    convert: Callable[[Any], Any]
    json_type: str
    # An optional argument takes an explicit null only when the function treats it as
    # omitted: its default is NULL, or its schema (core.api_schemas) admits null. Any
    # other null the functions refuse, so the server refuses it first, as the spec says.
    accepts_null: bool = True


@dataclass
class Function:
    name: str
    args: list[Arg]
    volatility: str  # i, s, v
    returns_set: bool
    return_type: str
    comment: str
    roles: list[str]
    # From core.api_schemas: {part: schema} ('result', argument names, 'errors').
    schemas: dict[str, Any] = field(default_factory=dict)
    # Error codes the function's body (and what it calls) raises or declines with.
    error_codes: set[str] = field(default_factory=set)
    _sql_cache: dict = field(default_factory=dict, repr=False)

    @property
    def read_only(self) -> bool:
        return self.volatility in ("i", "s")

    def _result_expr(self) -> str:
        if self.returns_set:
            return "coalesce(json_agg(r), '[]')::text"
        if self.return_type in ("jsonb", "json"):
            return "r::text"
        if self.return_type == "void":
            return "'null'"
        return "to_json(r)::text"

    def call_sql(self, names: tuple[str, ...]) -> str:
        sql = self._sql_cache.get(names)
        if sql is None:
            types = {a.name: a.pgtype for a in self.args}
            # (%s): bound client-side, the smallest integer is the literal " -9223372036854775808",
            # and unary minus binds looser than ::, so -9223372036854775808::bigint overflows.
            params = ", ".join(f'"{n}" => (%s)::{types[n]}' for n in names)
            sql = (
                f"SELECT {self._result_expr()}, current_setting('response.decline', true), "
                f"current_setting('response.replayed', true) FROM api.\"{self.name}\"({params}) AS r"
            )
            self._sql_cache[names] = sql
        return sql

    def check_caller(self, role: str) -> None:
        """Refuse a request role without EXECUTE before its arguments are looked at, so
        the answer (401/403) tells a caller who may not call the function nothing about
        them. The database checks again; roles outside the request roles (the server's
        internal ones) are left to it."""
        if role not in self.roles and role in REQUEST_ROLES:
            raise not_allowed(role)

    def bind(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """Check the named arguments; return the call statement and its parameters."""
        by_name = self._by_name
        for key in values:
            if key not in by_name:
                raise ApiError(
                    "INVALID_REQUEST",
                    f"unknown argument {key!r} for {self.name}",
                    details={"argument": key},
                    hint="arguments: " + ", ".join(a.name for a in self.args),
                )
        names, params = [], []
        for arg in self.args:
            v = values.get(arg.name, _MISSING)
            if v is _MISSING:
                if arg.required:
                    raise ApiError("INVALID_REQUEST", f"missing argument {arg.name!r}", details={"argument": arg.name})
                continue
            names.append(arg.name)
            if v is None:
                if not arg.accepts_null:
                    raise ApiError(
                        "INVALID_REQUEST",
                        f"argument {arg.name!r} must not be null: omit it for its default",
                        details={"argument": arg.name},
                    )
                params.append(None)
                continue
            try:
                params.append(arg.convert(v))
            except BadArgument as err:
                raise ApiError(
                    "INVALID_REQUEST", f"argument {arg.name!r} {err}", details={"argument": arg.name}
                ) from None
        return self.call_sql(tuple(names)), params

    def name_the_argument(self, err: ApiError, values: dict[str, Any]) -> ApiError:
        """A value the database refused (errors.from_database) names its argument when
        the message quotes it, as Postgres's input errors do: 'invalid input syntax for
        type interval: "x"', 'interval field value out of range: "..."'."""
        if err.code == "INVALID_REQUEST" and err.details is None:
            for arg in self.args:
                value = values.get(arg.name)
                if type(value) is str and value and f'"{value}"' in err.message:
                    err.details = {"argument": arg.name}
                    err.message = f"argument {arg.name!r}: {err.message}"
                    break
        return err

    def values_from_query(self, query: dict[str, str]) -> dict[str, Any]:
        types = {a.name: a.pgtype for a in self.args}
        return {k: _from_query_string(types[k], v) if k in types else v for k, v in query.items()}

    def __post_init__(self):
        self._by_name = {a.name: a for a in self.args}


def _input_args(row: dict) -> list[tuple[str, str]]:
    names, modes, types = row["argnames"], row["argmodes"], row["argtypes"]
    if modes:
        in_names = [n for n, m in zip(names, modes, strict=True) if m in ("i", "b", "v")]
    else:
        in_names = list(names[: row["nargs"]])
    return list(zip(in_names, types, strict=True))


def _split_defaults(text: str) -> list[str]:
    """pg_get_expr of proargdefaults ("NULL::text, 'a,b'::text, 50") as one expression each."""
    out, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(text):
        if c == "'":
            quoted = not quoted  # a doubled quote closes and reopens: same effect
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
        elif not quoted and depth == 0 and c == ",":
            out.append(text[start:i].strip())
            start = i + 1
    if text.strip():
        out.append(text[start:].strip())
    return out


_NULL_DEFAULT = re.compile(r"NULL(::[\w .\[\]\"]+)?")


def _admits_null(schema: dict | None) -> bool:
    kind = (schema or {}).get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def build(
    rows: list[dict],
    schemas: dict[str, dict[str, Any]] | None = None,
    sources: dict[str, str] | None = None,
) -> dict[str, Function]:
    schemas = schemas or {}
    functions: dict[str, Function] = {}
    for row in rows:
        name = row["name"]
        if name in functions:
            log.warning("api.%s is overloaded; only the first definition is served", name)
            continue
        inputs = _input_args(row)
        first_default = len(inputs) - row["ndefaults"]
        defaults = _split_defaults(row.get("defaults") or "")
        own = schemas.get(name, {})
        args = []
        for i, (arg_name, pgtype) in enumerate(inputs):
            if not arg_name:
                log.warning("api.%s has an unnamed argument; not served", name)
                break
            conv, json_type = _checker(pgtype, MAX_BODY if (name, arg_name) in BULK_TEXT else None)
            required = i < first_default
            default = defaults[i - first_default] if not required and i - first_default < len(defaults) else "NULL"
            accepts_null = required or bool(_NULL_DEFAULT.fullmatch(default)) or _admits_null(own.get(arg_name))
            args.append(Arg(arg_name, pgtype, required, conv, json_type, accepts_null))
        else:
            functions[name] = Function(
                name,
                args,
                row["volatility"],
                row["returns_set"],
                row["return_type"],
                row["comment"],
                list(row["roles"]),
                own,
                error_codes_of(f"api.{name}", sources or {}) | set(own.get("errors", [])),
            )
    return functions


# core.raise_error('CODE', ...) / core.decline('CODE', ...), the ledger trigger's KL000
# message 'CODE: ...' (as tests/integration/test_error_codes.py reads them), and the calls
# to other functions of ours (schema.name( ) whose codes an api function passes on.
_RAISED = re.compile(r"\b(?:raise_error|decline)\s*\(\s*'([A-Z][A-Z0-9_]*)'")
_KL000 = re.compile(r"ERRCODE\s*=\s*'KL000'\s*,\s*MESSAGE\s*=\s*(?:format\s*\(\s*)?'([A-Z][A-Z0-9_]*):")
_CALL = re.compile(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\s*\(")


def error_codes_of(name: str, sources: dict[str, str]) -> set[str]:
    """The codes `name` (schema.function) and the functions it calls, transitively, raise or
    decline with. Overloads share a name: their bodies are read together."""
    codes: set[str] = set()
    seen, todo = set(), [name]
    while todo:
        fn = todo.pop()
        if fn in seen or fn not in sources:
            continue
        seen.add(fn)
        src = sources[fn]
        codes.update(_RAISED.findall(src))
        codes.update(_KL000.findall(src))
        todo.extend(c for c in _CALL.findall(src) if c in sources)
    return codes


async def load(conn) -> dict[str, Function]:
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(QUERIES["functions"])
    rows = await cur.fetchall()
    await cur.execute(QUERIES["sources"])
    sources: dict[str, str] = {}
    for r in await cur.fetchall():
        sources[r["name"]] = sources.get(r["name"], "") + "\n" + r["source"]
    return build(rows, await load_schemas(conn), sources)


async def load_schemas(conn) -> dict[str, dict[str, Any]]:
    """core.api_schemas as {function: {part: schema}}; empty on a database not migrated to it."""
    import psycopg

    cur = conn.cursor()
    try:
        async with conn.transaction():
            await cur.execute(QUERIES["api_schemas"])
            rows = await cur.fetchall()
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable) as err:
        log.warning("core.api_schemas unreadable (%s): /openapi.json without result schemas; run migrate", err)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for function, part, schema in rows:
        out.setdefault(function, {})[part] = schema
    return out


async def load_error_codes(conn) -> dict[str, int]:
    """core.error_codes as {code: HTTP status}."""
    cur = conn.cursor()
    await cur.execute(QUERIES["error_codes"])
    return dict(await cur.fetchall())


async def load_version(conn) -> dict | None:
    """The catalogue version (see catalogue.sql), or None on a database that does not let
    the server read it yet (not migrated to it): the server then only reloads on NOTIFY."""
    import psycopg
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    try:
        await cur.execute(QUERIES["version"])
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable) as err:
        log.warning("catalogue version unreadable (%s): reloads come from NOTIFY only; run migrate", err)
        return None
    row = await cur.fetchone()
    if row is None:
        return None
    return {**row, "sql_applied_at": row["sql_applied_at"].isoformat()}
