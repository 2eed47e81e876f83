"""The printed report: traffic, the reconciliation, chaos events with recovery times, and a
verdict (lost, doubled and invariant violations must all be 0)."""

from __future__ import annotations

from bench.soak.chaos import Event
from bench.soak.effects import EffectLog
from bench.soak.reconcile import Reconciliation


def recovery(log: EffectLog, event: Event) -> tuple[float | None, int]:
    """Seconds from the end of the event to the first 200 of a request sent after it, and
    how many requests failed (5xx, timeout, broken connection) from its start until then."""
    first = log.first_ok_after(event.ended)
    failures = log.failures_between(event.started, first if first is not None else float("inf"))
    return (None if first is None else first - event.ended), failures


def render(
    args, log: EffectLog, rec: Reconciliation, events: list[Event], t0: float, t_end: float, problems: list[str]
) -> str:
    out = []
    w = out.append
    w(
        f"kioskledger soak: {args.seconds:.0f} s of traffic, seed {args.seed}, durable cluster (fsync, synchronous_commit on)"
    )
    statuses = log.statuses()
    w(
        f"requests: {sum(statuses.values())} HTTP exchanges - "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    )
    w("")
    head = ("operation", "effects", "acked", "lost", "doubled", "present-unacked", "absent-unacked", "refused")
    rows = [
        (
            o.op,
            o.effects,
            o.acknowledged,
            o.lost,
            o.doubled,
            o.present_unacknowledged,
            o.absent_unacknowledged,
            o.refused,
        )
        for o in rec.ops
    ]
    rows.append(("total", *(sum(r[i] for r in rows) for i in range(1, len(head)))))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        w("  " + "  ".join(str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r)))
    for o in rec.ops:
        for example in o.examples:
            w(f"    {o.op}: {example}")
    w("")
    w("invariants: " + ", ".join(f"{k} {v}" for k, v in rec.invariants.items()))
    w(f"card balances: {rec.cards_checked} cards checked, {len(rec.card_mismatches)} mismatches")
    for m in rec.card_mismatches[:10]:
        w(f"    {m}")
    c = rec.coins
    w(
        f"coins: out of the hopper {c['coins_out_of_hopper']}, paid in jobs {c['coins_paid_in_jobs']}, "
        f"in the ledger {c['coins_in_ledger']}, bought {c['quarters_bought']} in {c['jobs']} jobs, "
        f"jobs overpaid {c['jobs_overpaid']}; beyond what was bought: {rec.coins_doubled}"
    )
    w("jobs by state: " + ", ".join(f"{k} {v}" for k, v in sorted(rec.job_states.items())))
    w("")
    w("chaos events (recovery: from the end of the event to the first 200 of a request sent after it):")
    by_kind: dict[str, list[float]] = {}
    for e in events:
        rec_s, failures = recovery(log, e)
        took = f"{e.ended - e.started:5.1f}s" if e.ended else "  (cut)"
        if e.kind.startswith("burst_"):
            shown = "    -"  # the service never went away
        elif rec_s is None:
            shown = "after the traffic" if e.ended >= t_end else "never"
        else:
            shown = f"{rec_s:5.2f}s"
            by_kind.setdefault(e.kind, []).append(rec_s)
        line = f"  t+{e.started - t0:6.1f}s  {e.kind:<22} took {took}  recovery {shown}  failed requests {failures}"
        if e.statuses:
            line += "  copies: " + ", ".join(f"{k}: {v}" for k, v in sorted(e.statuses.items())) + f"; {e.note}"
        w(line)
    for kind, times in sorted(by_kind.items()):
        w(f"  recovery after {kind}: max {max(times):.2f}s, mean {sum(times) / len(times):.2f}s over {len(times)}")
    w("")
    for p in problems:
        w(f"problem: {p}")
    verdict = "OK" if rec.lost == rec.doubled == rec.violations == 0 and not problems else "FAIL"
    w(f"{verdict}: lost {rec.lost}, doubled {rec.doubled}, invariant violations {rec.violations}")
    return "\n".join(out)
