"""One table of self-checkout orders, and what the edge and the central each make of them.

The edge (checkout_edge/app.py) repeats the central's order rules (api.checkout_sync ->
checkout.sync in sql/50_checkout/) because it sells offline. Both are tested against this
table (tests/acceptance/test_order_rules.py), so the two sets of rules cannot drift apart:

- an order the edge acknowledges must be accepted by the central (an acknowledged sale
  the central refuses is money the kiosk took and the ledger never books);
- an order the central refuses must be refused by the edge up front;
- where the edge refuses what the central would keep (the edge is stricter, e.g. prices
  come from its catalog, never from the UI), the case says why.

A case is the kiosk UI's request to the edge (POST /edge/checkout {idempotency_key,
payment_method, lines: [{sku, qty}]}). The order the central receives is that request
with what the edge adds itself - created_at (the kiosk clock), currency, catalog_version
and each line's unit_price from the cached catalog - unless the request already carries
those fields (a UI trying to set them: the edge refuses, the central judges the value).

Verdicts, as strings so the table reads as one:
  edge     "accepted" | "<HTTP status> <fragment of the error's code, message or hint>"
  central  "accepted" | "accepted <price flag of a line>" | "rejected <reason>"
           | "<HTTP status> <CODE>" (the whole checkout_sync call is refused)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from checkout_edge.store import utc_iso

# -- the catalog the cases sell from (seeded into the module's fresh database) ----------

TEA, CAKE, SODA, GUM, GOLD = "oc-tea", "oc-cake", "oc-soda", "oc-gum", "oc-gold"
LONG_SKU = "oc-" + "l" * 61  # the longest sku the catalog takes (64)
MAX_PRICE = 10_000_000  # the dearest price the catalog takes
CATALOG = [  # sku, name, price (cents), currency, active
    (TEA, "Tea", 250, "EUR", True),
    (CAKE, "Cake", 399, "EUR", True),
    (SODA, "Soda", 175, "USD", True),
    (GUM, "Gum", 99, "EUR", False),  # in the catalog, not on sale
    (GOLD, "Gold bar", MAX_PRICE, "EUR", True),
    (LONG_SKU, "Long", MAX_PRICE, "EUR", True),
]
PRICES = {sku: price for sku, _, price, _, _ in CATALOG}
CURRENCIES = {sku: cur for sku, _, _, cur, _ in CATALOG}

MAX_LINES, MAX_QTY = 100, 200

_KEY = object()  # stands for the case's own idempotency key


@dataclass(frozen=True)
class Case:
    id: str
    request: Any  # the UI's body (bytes: sent as they are)
    edge: str
    central: str
    why: str = ""  # why the edge may refuse what the central accepts
    clock: datetime | None = None  # the kiosk clock at the sale (None: now)

    @property
    def key(self) -> str:
        return "case-" + self.id.replace("_", "-")

    def ui_request(self) -> Any:
        """The request with the case's key filled in."""
        if isinstance(self.request, dict) and self.request.get("idempotency_key") is _KEY:
            return {**self.request, "idempotency_key": self.key}
        return self.request


def line(sku=TEA, qty=1, **extra) -> dict:
    return {"sku": sku, "qty": qty, **extra}


def sale(*lines, key=_KEY, method="card", **fields) -> dict:
    """A UI request (by default one line of two teas); `fields` are added to it."""
    body = {"idempotency_key": key, "payment_method": method, "lines": list(lines) or [line(TEA, 2)]}
    body.update(fields)
    return body


def without(body: dict, *keys: str) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


def central_order(case: Case, catalog_version: int, now: datetime | None = None) -> Any:
    """The order as it reaches api.checkout_sync for this case: the UI's request, plus what
    the edge adds itself unless the request carries it. bytes stay bytes (they go into the
    batch as they are, unless they are JSON: then they are read as the central reads them)."""
    request = case.ui_request()
    if isinstance(request, bytes):
        try:
            request = json.loads(request)
        except ValueError:
            return request
    if not isinstance(request, dict):
        return request
    order = dict(request)
    lines = request.get("lines")
    skus = [item.get("sku") for item in lines if isinstance(item, dict)] if isinstance(lines, list) else []
    if isinstance(lines, list):
        order["lines"] = [_priced(item) for item in lines]
    order.setdefault("created_at", utc_iso(case.clock or now or datetime.now(UTC)))
    order.setdefault("currency", next((CURRENCIES[s] for s in skus if isinstance(s, str) and s in CURRENCIES), "EUR"))
    order.setdefault("catalog_version", catalog_version)
    return order


def _priced(item):
    """A line with the price the edge would put on it (an unknown sku: any valid price)."""
    if not isinstance(item, dict) or "unit_price" in item:
        return item
    sku = item.get("sku")
    return {**item, "unit_price": PRICES.get(sku, 100) if isinstance(sku, str) else 100}


def order_total(order: dict) -> int:
    return sum(item["qty"] * item["unit_price"] for item in order["lines"])


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


PRICE_FROM_UI = (
    "the edge prices from its catalog and never takes a price from the UI; the central keeps "
    "the price the kiosk charged (the sale happened) and flags it against the catalog"
)
TIME_FROM_UI = "the edge stamps created_at from the kiosk clock itself; the UI cannot set it"
NOT_ON_SALE = (
    "the edge sells only what its catalog has on sale; the central keeps a sale of an item that "
    "was taken off sale (a kiosk with an older catalog sold it) and flags the line"
)

CASES = [
    # -- accepted by both -----------------------------------------------------------------
    Case("basic", sale(), "accepted", "accepted"),
    Case("two_items", sale(line(TEA, 2), line(CAKE, 1)), "accepted", "accepted"),
    Case("other_currency", sale(line(SODA, 3)), "accepted", "accepted"),
    Case("method_mobile", sale(method="mobile"), "accepted", "accepted"),
    Case("method_cash", sale(method="cash"), "accepted", "accepted"),
    Case("key_8_chars", sale(key="k8-abcde"), "accepted", "accepted"),
    Case("key_128_chars", sale(key="k128-" + "x" * 123), "accepted", "accepted"),
    Case("key_every_allowed_char", sale(key="AZaz09_.:-key"), "accepted", "accepted"),
    Case("qty_max", sale(line(TEA, MAX_QTY)), "accepted", "accepted"),
    Case("lines_max", sale(*[line(TEA, 1)] * MAX_LINES), "accepted", "accepted"),
    Case("duplicate_sku_lines", sale(line(TEA, 1), line(CAKE, 1), line(TEA, 2)), "accepted", "accepted"),
    Case("dearest_item", sale(line(GOLD, 1)), "accepted", "accepted"),
    Case("longest_sku", sale(line(LONG_SKU, 1)), "accepted", "accepted"),
    Case(
        "biggest_order", sale(*[line(LONG_SKU, MAX_QTY)] * MAX_LINES, key="k-big-" + "x" * 122), "accepted", "accepted"
    ),  # 2e11 cents
    # -- the kiosk clock: the central takes created_at from 2000 to 2199 -----------------
    Case("clock_leap_day", sale(), "accepted", "accepted", clock=_at(2024, 2, 29, 12, 0)),
    Case("clock_first_instant", sale(), "accepted", "accepted", clock=_at(2000, 1, 1)),
    Case("clock_last_instant", sale(), "accepted", "accepted", clock=_at(2199, 12, 31, 23, 59, 59, 999999)),
    Case("clock_unset_1970", sale(), "503 CLOCK_INVALID", "rejected bad_created_at", clock=_at(1970, 1, 1)),
    Case("clock_1999", sale(), "503 CLOCK_INVALID", "rejected bad_created_at", clock=_at(1999, 12, 31, 23, 59, 59)),
    Case("clock_2200", sale(), "503 CLOCK_INVALID", "rejected bad_created_at", clock=_at(2200, 1, 1)),
    # -- idempotency key ------------------------------------------------------------------
    Case("key_missing", without(sale(), "idempotency_key"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_null", sale(key=None), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_number", sale(key=12345678), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_empty", sale(key=""), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_7_chars", sale(key="k7-abcd"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_129_chars", sale(key="k129-" + "x" * 124), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_space", sale(key="case key 1"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_slash", sale(key="case/key/1"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_non_ascii_letter", sale(key="case-kéy-1"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_trailing_newline", sale(key="case-key-nl\n"), "400 idempotency_key", "rejected bad_idempotency_key"),
    Case("key_nul", sale(key="case-key\x00nul"), "400 idempotency_key", "400 INVALID_REQUEST"),
    Case("key_huge", sale(key="k" * 300_000), "413 PAYLOAD_TOO_LARGE", "rejected bad_idempotency_key"),
    Case(
        "key_lone_surrogate",
        b'{"idempotency_key": "case-\\ud800-key", "payment_method": "card", "lines": [{"sku": "oc-tea", "qty": 1}]}',
        "400 not valid JSON",
        "400 INVALID_REQUEST",
    ),
    # -- payment method -------------------------------------------------------------------
    Case("method_missing", without(sale(), "payment_method"), "400 payment_method", "rejected bad_payment_method"),
    Case("method_null", sale(method=None), "400 payment_method", "rejected bad_payment_method"),
    Case("method_unknown", sale(method="iou"), "400 payment_method", "rejected bad_payment_method"),
    Case("method_upper_case", sale(method="CARD"), "400 payment_method", "rejected bad_payment_method"),
    Case("method_empty", sale(method=""), "400 payment_method", "rejected bad_payment_method"),
    Case("method_list", sale(method=["card"]), "400 payment_method", "rejected bad_payment_method"),
    Case("method_nul", sale(method="card\x00"), "400 payment_method", "400 INVALID_REQUEST"),
    # -- lines ----------------------------------------------------------------------------
    Case("lines_missing", without(sale(), "lines"), "400 lines must be", "rejected bad_lines"),
    Case("lines_null", {**sale(), "lines": None}, "400 lines must be", "rejected bad_lines"),
    Case("lines_empty", {**sale(), "lines": []}, "400 lines must be", "rejected bad_lines"),
    Case("lines_object", {**sale(), "lines": {"sku": TEA, "qty": 1}}, "400 lines must be", "rejected bad_lines"),
    Case("lines_string", {**sale(), "lines": TEA}, "400 lines must be", "rejected bad_lines"),
    Case("lines_too_many", sale(*[line(TEA, 1)] * (MAX_LINES + 1)), "400 lines must be", "rejected bad_lines"),
    Case("line_not_object", sale(TEA), "400 must be an object", "rejected bad_line"),
    Case("line_null", sale(None), "400 must be an object", "rejected bad_line"),
    Case("line_extra_field", sale(line(TEA, 1, name="Tea")), "400 unknown field", "rejected bad_line"),
    Case("line_price_field", sale(line(TEA, 1, price=250)), "400 prices come from the catalog", "rejected bad_line"),
    Case("sku_missing", sale({"qty": 1}), "400 sku must be", "rejected bad_line"),
    Case("sku_number", sale(line(7, 1)), "400 sku must be", "rejected bad_line"),
    Case("sku_empty", sale(line("", 1)), "400 sku must be", "rejected unknown_sku"),
    Case("sku_unknown", sale(line("oc-nope", 1)), "400 unknown sku", "rejected unknown_sku"),
    Case("sku_other_case", sale(line(TEA.upper(), 1)), "400 unknown sku", "rejected unknown_sku"),
    Case("sku_huge", sale(line("s" * 300_000, 1)), "413 PAYLOAD_TOO_LARGE", "rejected unknown_sku"),
    Case("sku_nul", sale(line(TEA + "\x00", 1)), "400 unknown sku", "400 INVALID_REQUEST"),
    Case("sku_not_on_sale", sale(line(GUM, 1)), "400 not on sale", "accepted inactive_in_version", why=NOT_ON_SALE),
    Case("currencies_mixed", sale(line(TEA, 1), line(SODA, 1)), "400 one currency", "rejected currency_mismatch"),
    # -- quantity -------------------------------------------------------------------------
    Case("qty_missing", sale({"sku": TEA}), "400 qty", "rejected bad_line"),
    Case("qty_null", sale(line(TEA, None)), "400 qty", "rejected bad_line"),
    Case("qty_zero", sale(line(TEA, 0)), "400 qty", "rejected bad_qty"),
    Case("qty_negative", sale(line(TEA, -1)), "400 qty", "rejected bad_qty"),
    Case("qty_over_max", sale(line(TEA, MAX_QTY + 1)), "400 qty", "rejected bad_qty"),
    Case("qty_fraction", sale(line(TEA, 1.5)), "400 qty", "rejected bad_qty"),
    Case("qty_float_integral", sale(line(TEA, 2.0)), "400 qty", "rejected bad_qty"),
    Case("qty_string", sale(line(TEA, "2")), "400 qty", "rejected bad_line"),
    Case("qty_bool", sale(line(TEA, True)), "400 qty", "rejected bad_line"),
    Case("qty_huge", sale(line(TEA, 10**20)), "400 qty", "rejected bad_qty"),
    Case(
        "qty_exponent",
        b'{"idempotency_key": "case-qty-exponent", "payment_method": "card", "lines": [{"sku": "oc-tea", "qty": 1e2}]}',
        "400 qty",
        "rejected bad_qty",
    ),
    # -- the order as a whole -------------------------------------------------------------
    Case("body_list", [sale(key="case-body-list")], "400 JSON object", "rejected invalid_order"),
    Case("body_string", "an order", "400 JSON object", "rejected invalid_order"),
    Case("body_null", None, "400 JSON object", "rejected invalid_order"),
    Case("body_not_json", b'{"idempotency_key": "case-not-json", ', "400 not valid JSON", "400 INVALID_REQUEST"),
    Case("field_total", sale(total=500), "400 unknown field", "rejected invalid_order"),
    Case("field_kiosk_id", sale(kiosk_id="other_kiosk"), "400 unknown field", "rejected invalid_order"),
    # -- what the edge sets itself, sent by the UI ----------------------------------------
    Case(
        "ui_unit_price_catalog",
        sale(line(TEA, 1, unit_price=250)),
        "400 prices come from the catalog",
        "accepted",
        why=PRICE_FROM_UI,
    ),
    Case(
        "ui_unit_price_cheaper",
        sale(line(TEA, 1, unit_price=1)),
        "400 prices come from the catalog",
        "accepted price_differs",
        why=PRICE_FROM_UI,
    ),
    Case(
        "ui_unit_price_float",
        sale(line(TEA, 1, unit_price=2.5)),
        "400 prices come from the catalog",
        "rejected bad_unit_price",
    ),
    Case(
        "ui_unit_price_zero",
        sale(line(TEA, 1, unit_price=0)),
        "400 prices come from the catalog",
        "rejected bad_unit_price",
    ),
    Case(
        "ui_unit_price_over_max",
        sale(line(TEA, 1, unit_price=MAX_PRICE + 1)),
        "400 prices come from the catalog",
        "rejected bad_unit_price",
    ),
    Case(
        "ui_unit_price_string",
        sale(line(TEA, 1, unit_price="250")),
        "400 prices come from the catalog",
        "rejected bad_line",
    ),
    Case(
        "ui_created_at", sale(created_at="2024-05-01T12:00:00+02:00"), "400 unknown field", "accepted", why=TIME_FROM_UI
    ),
    Case(
        "ui_created_at_no_zone", sale(created_at="2024-05-01T12:00:00"), "400 unknown field", "rejected bad_created_at"
    ),
    Case(
        "ui_created_at_no_such_day",
        sale(created_at="2024-02-30T12:00:00Z"),
        "400 unknown field",
        "rejected bad_created_at",
    ),
    Case("ui_created_at_number", sale(created_at=1714557600), "400 unknown field", "rejected bad_created_at"),
    Case("ui_currency_lower_case", sale(currency="eur"), "400 unknown field", "rejected bad_currency"),
    Case("ui_currency_other", sale(currency="USD"), "400 unknown field", "rejected currency_mismatch"),
    Case("ui_catalog_version_string", sale(catalog_version="1"), "400 unknown field", "rejected bad_catalog_version"),
    Case("ui_catalog_version_negative", sale(catalog_version=-1), "400 unknown field", "rejected bad_catalog_version"),
    Case(
        "ui_catalog_version_future",
        sale(catalog_version=10**12),
        "400 unknown field",
        "rejected unknown_catalog_version",
    ),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


def accepted(verdict: str) -> bool:
    return verdict.split()[0] == "accepted"


def table_problems(cases=CASES) -> list[str]:
    """What is wrong with the table itself: an order the edge acknowledges that the central
    refuses, or a difference without its reason (or a reason without a difference)."""
    problems = []
    for c in cases:
        if accepted(c.edge) and not accepted(c.central):
            problems.append(f"{c.id}: the edge acknowledges a sale the central refuses ({c.central})")
        if not accepted(c.edge) and accepted(c.central) and not c.why:
            problems.append(f"{c.id}: the edge refuses what the central accepts - say why, or make them agree")
        if c.why and not (accepted(c.central) and not accepted(c.edge)):
            problems.append(f"{c.id}: `why` is only for an order the edge refuses and the central accepts")
    return problems
