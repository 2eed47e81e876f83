"""After the run, with the server and the agent stopped: every effect in the client's log
against the database. Per operation:
- lost: acknowledged (a 200 said it was done) but not in the database;
- doubled: one key booked twice, answers for one key naming different results, or a booking
  that no request explains;
- present_unacknowledged: no 200 ever came (503, timeout, broken connection) but the effect
  committed - expected under chaos, and fine as long as it is there once.
Then the ledger's invariants, every card's balance against what the client knows, and the
coins that came out of the hopper against the jobs."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import psycopg

from bench.soak.checkout import KIOSK_ID as CHECKOUT_KIOSK
from bench.soak.effects import Effect, EffectLog

MAX_EXAMPLES = 5


@dataclass
class OpResult:
    op: str
    effects: int = 0
    acknowledged: int = 0
    lost: int = 0
    doubled: int = 0
    present_unacknowledged: int = 0
    absent_unacknowledged: int = 0
    refused: int = 0  # a 200 whose per-item answer refused it (checkout mismatch/rejected)
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(text)

    def count(self, effect: Effect, present: bool) -> None:
        self.effects += 1
        if effect.acknowledged:
            self.acknowledged += 1
            if not present:
                self.lost += 1
                self.note(f"lost {effect.key}: {effect.claims[0]}")
        elif present:
            self.present_unacknowledged += 1
        else:
            self.absent_unacknowledged += 1


@dataclass
class Reconciliation:
    ops: list[OpResult]
    invariants: dict[str, int]
    card_mismatches: list[str]
    cards_checked: int
    coins: dict[str, int]
    job_states: dict[str, int]

    @property
    def lost(self) -> int:
        return sum(o.lost for o in self.ops)

    @property
    def doubled(self) -> int:
        return sum(o.doubled for o in self.ops) + self.coins_doubled

    @property
    def coins_doubled(self) -> int:
        """Coins beyond what was bought: jobs paid past their quarters, or more out of the
        hopper than all jobs together bought."""
        c = self.coins
        return c["jobs_overpaid"] + max(0, c["coins_out_of_hopper"] - c["quarters_bought"])

    @property
    def violations(self) -> int:
        return sum(self.invariants.values())


def responses(conn, scope: str) -> dict[str, tuple[dict, str | None]]:
    """The stored answers of one api function, by request_id: committed with their effect."""
    rows = conn.execute(
        "SELECT key, response, decline_code FROM core.idempotency_responses WHERE scope = %s", [scope]
    ).fetchall()
    return {key: (response, decline) for key, response, decline in rows}


def booked(stored: dict, key: str) -> dict | None:
    """The stored answer of key if it committed an effect (not a decline)."""
    hit = stored.get(key)
    return hit[0] if hit and hit[1] is None else None


def distinct_claims(effect: Effect, field_name: str) -> set:
    return {c.get(field_name) for c in effect.claims if isinstance(c, dict)}


def check_card_issue(conn, log: EffectLog) -> OpResult:
    result, cards = OpResult("card_issue"), {r[0] for r in conn.execute("SELECT card_id FROM cards.cards")}
    for e in log.of("card_issue"):
        result.count(e, e.intent["card_id"] in cards)
    return result


def check_recharges(conn, log: EffectLog, stored: dict) -> OpResult:
    result = OpResult("checkpoint_recharge")
    recharges = {
        rid: (card, amount)
        for rid, card, amount in conn.execute(
            "SELECT id, card_id, amount FROM cards.recharges WHERE method <> 'stripe'"
        )
    }
    explained = set()
    for e in log.of("checkpoint_recharge"):
        answer = booked(stored, e.key)
        present = answer is not None and answer["recharge_id"] in recharges
        result.count(e, present)
        if answer:
            explained.add(answer["recharge_id"])
        ids = distinct_claims(e, "recharge_id")
        if len(ids) > 1:
            result.doubled += 1
            result.note(f"{e.key} answered with recharges {sorted(ids)}")
        for rid in ids - {None}:
            if rid in recharges and recharges[rid] != (e.intent["card_id"], e.intent["amount"]):
                result.note(f"{e.key} claims recharge {rid}, which is {recharges[rid]} not {e.intent}")
    for rid in recharges.keys() - explained:
        result.doubled += 1
        result.note(f"recharge {rid} {recharges[rid]} answers no request")
    return result


def check_bar_orders(conn, log: EffectLog, stored: dict) -> OpResult:
    result = OpResult("bar_order")
    orders = {
        oid: (card, total) for oid, card, total in conn.execute("SELECT order_id, card_id, total FROM cards.bar_orders")
    }
    explained = set()
    for e in log.of("bar_order"):
        answer = booked(stored, e.key)
        claimed = distinct_claims(e, "order_id")
        present = (answer is not None and answer["order_id"] in orders) or bool(claimed & orders.keys())
        if e.acknowledged and not claimed <= orders.keys():
            present = False
        result.count(e, present)
        if answer:
            explained.add(answer["order_id"])
        if len(claimed) > 1:
            result.doubled += 1
            result.note(f"{e.key} answered with orders {sorted(claimed)}")
        for oid in claimed & orders.keys():
            if orders[oid] != (e.intent["card_id"], e.intent["total"]):
                result.note(f"{e.key} claims order {oid}, which is {orders[oid]} not {e.intent}")
    for oid in orders.keys() - explained:
        result.doubled += 1
        result.note(f"bar order {oid} {orders[oid]} answers no request")
    return result


def check_card_balances(conn, log: EffectLog, stored: dict[str, dict]) -> tuple[int, list[str]]:
    """Per card: what the acknowledged and the present-unacknowledged effects add up to,
    against the balance in the ledger."""
    expected: dict[str, int] = defaultdict(int)
    for e in log.of("card_issue"):
        expected[e.intent["card_id"]] += 0
    for op, sign in (("checkpoint_recharge", 1), ("bar_order", -1)):
        amount_field = "amount" if sign > 0 else "total"
        for e in log.of(op):
            if e.acknowledged or booked(stored[op], e.key) is not None:
                expected[e.intent["card_id"]] += sign * e.intent[amount_field]
    actual = dict(
        conn.execute(
            "SELECT c.card_id, b.balance FROM cards.cards c JOIN ledger.account_balances b ON b.id = c.account_id"
        ).fetchall()
    )
    mismatches = [
        f"card {card}: expected {want}, ledger {actual.get(card)}"
        for card, want in sorted(expected.items())
        if card in actual and actual[card] != want
    ]
    return len([c for c in expected if c in actual]), mismatches


def check_atm(conn, log: EffectLog) -> list[OpResult]:
    created = OpResult("atm_transaction_create")
    txs = {str(r[0]) for r in conn.execute("SELECT id FROM atm.transactions")}
    stored_create = responses(conn, "atm_transaction_create")
    for e in log.of("atm_transaction_create"):
        claimed = distinct_claims(e, "id")
        answer = booked(stored_create, e.key)
        present = (answer is not None and answer["id"] in txs) if not claimed else claimed <= txs
        created.count(e, present)
        if len(claimed) > 1:
            created.doubled += 1
            created.note(f"{e.key} answered with transactions {sorted(claimed)}")

    paid = OpResult("atm_pay")
    jobs_of = defaultdict(list)
    for job_id, tx in conn.execute("SELECT id, transaction_id FROM atm.dispense_jobs"):
        jobs_of[str(tx)].append(job_id)
    payments = Counter(
        r[0]
        for r in conn.execute("SELECT metadata ->> 'transaction_id' FROM ledger.transfers WHERE kind = 'atm_payment'")
    )
    for e in log.of("atm_pay"):
        tx = e.intent["transaction_id"]
        claimed = distinct_claims(e, "job_id")
        paid.count(e, bool(jobs_of.get(tx)) and claimed <= set(jobs_of[tx]))
        if len(claimed) > 1:
            paid.doubled += 1
            paid.note(f"{e.key} answered with jobs {sorted(claimed)}")
    for tx, jobs in jobs_of.items():
        if len(jobs) > 1 or payments[tx] > 1:
            paid.doubled += 1
            paid.note(f"transaction {tx}: {len(jobs)} jobs, {payments[tx]} payments")
    return [created, paid]


def check_coins(conn, kiosk_id: str, hopper_paid: int) -> tuple[dict[str, int], dict[str, int]]:
    jobs = conn.execute(
        "SELECT status, quarters, coins_paid FROM atm.dispense_jobs WHERE kiosk_id = %s", [kiosk_id]
    ).fetchall()
    ledger_cents = conn.execute(
        """SELECT coalesce(sum(p.amount), 0) FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
            WHERE a.kind = 'atm_coins_dispensed' AND a.owner_ref = %s""",
        [kiosk_id],
    ).fetchone()[0]
    coins = {
        "jobs": len(jobs),
        "quarters_bought": sum(q for _, q, _ in jobs),
        "coins_paid_in_jobs": sum(c for _, _, c in jobs),
        "coins_in_ledger": int(ledger_cents) // 25,
        "coins_out_of_hopper": hopper_paid,
        "jobs_overpaid": sum(1 for _, q, c in jobs if c > q),
    }
    return coins, dict(Counter(status for status, _, _ in jobs))


def check_checkout(conn, log: EffectLog) -> OpResult:
    result = OpResult("checkout_order")
    orders = dict(
        conn.execute("SELECT idempotency_key, total FROM checkout.orders WHERE kiosk_id = %s", [CHECKOUT_KIOSK])
    )
    transfers = Counter(
        r[0]
        for r in conn.execute(
            "SELECT idempotency_key FROM ledger.transfers WHERE kind = 'checkout_sale' AND idempotency_key LIKE %s",
            [CHECKOUT_KIOSK + ":%"],
        )
    )
    for e in log.of("checkout_order"):
        statuses = {c.get("status") for c in e.claims}
        ok_claims = [c for c in e.claims if c.get("status") in ("accepted", "duplicate")]
        if statuses - {"accepted", "duplicate"}:
            result.refused += 1
            result.note(f"{e.key} answered {sorted(statuses)}")
        acked = Effect(e.op, e.key, e.intent, ok_claims)
        result.count(acked, e.key in orders)
        if e.key in orders and orders[e.key] != e.intent["total"]:
            result.note(f"{e.key}: stored total {orders[e.key]}, sent {e.intent['total']}")
        if transfers[f"{CHECKOUT_KIOSK}:{e.key}"] > 1:
            result.doubled += 1
            result.note(f"{e.key} booked {transfers[f'{CHECKOUT_KIOSK}:{e.key}']} times")
    return result


def check_dex(conn, log: EffectLog) -> list[OpResult]:
    machines = OpResult("machine_register")
    serials = {r[0] for r in conn.execute("SELECT case_serial FROM dex.machines")}
    for e in log.of("machine_register"):
        machines.count(e, e.intent["case_serial"] in serials)

    ingests = OpResult("dex_ingest")
    captures = defaultdict(list)
    ids = set()
    for cid, serial, sha in conn.execute(
        "SELECT c.id, m.case_serial, encode(c.sha256, 'hex') FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id"
    ):
        captures[(serial, sha)].append(cid)
        ids.add(cid)
    for e in log.of("dex_ingest"):
        claimed = distinct_claims(e, "capture_id")
        found = captures.get((e.intent["case_serial"], e.intent["sha256"]), [])
        ingests.count(e, bool(found) and claimed <= ids)
        if len(claimed) > 1 or len(found) > 1:
            ingests.doubled += 1
            ingests.note(f"{e.key}: answered captures {sorted(claimed)}, stored {found}")
    return [machines, ingests]


def reconcile(owner_url: str, log: EffectLog, atm_kiosk: str, hopper_paid: int) -> Reconciliation:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        stored = {op: responses(conn, op) for op in ("checkpoint_recharge", "bar_order")}
        ops = [
            check_card_issue(conn, log),
            check_recharges(conn, log, stored["checkpoint_recharge"]),
            check_bar_orders(conn, log, stored["bar_order"]),
            *check_atm(conn, log),
            check_checkout(conn, log),
            *check_dex(conn, log),
        ]
        cards_checked, card_mismatches = check_card_balances(conn, log, stored)
        invariants = {
            view: conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            for view in (
                "ledger.imbalances",
                "ledger.balance_drift",
                "ledger.dangling_postings",
                "checkout.unbooked_orders",
            )
        }
        coins, job_states = check_coins(conn, atm_kiosk, hopper_paid)
        # The job rows and the ledger's dispensed account are two records of one count.
        invariants["atm coins: jobs vs ledger"] = abs(coins["coins_paid_in_jobs"] - coins["coins_in_ledger"])
    return Reconciliation(ops, invariants, card_mismatches, cards_checked, coins, job_states)
