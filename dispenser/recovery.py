"""What an interrupted dispense paid, from the hopper's own counters.

The journal holds, for the dispense command that was (maybe) in progress, the hopper's
event counter before it and the coins the attempt had paid before it. The hopper's status
(166) then says which of three things happened:

  counter unchanged        the command was never accepted: it paid nothing
  counter + 1              it was accepted: it paid `last paid` (wait for it to finish first)
  anything else            a reset lost the counters or something else used the hopper:
                           unknown, never guessed - the job is left to needs_reconciliation

Nothing here ever re-dispenses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import cctalk
from .hopper import Hopper, HopperStateLost
from .journal import Attempt


@dataclass(frozen=True)
class Outcome:
    known: bool
    attempt_paid: int = 0  # coins this attempt paid (when known)
    error_code: str | None = None
    evidence: dict | None = None


def resolve(attempt: Attempt, hopper: Hopper, progress: Callable[[int], None] | None = None) -> Outcome:
    """Read the hopper (raises HopperError while it does not answer: try again later)."""
    before, earlier = attempt.counter_before, attempt.paid_before_batch
    st = hopper.status()
    evidence = {
        "journal": {
            "counter_before": before,
            "paid_before_command": earlier,
            "command_coins": attempt.batch,
            "requested": attempt.requested,
        },
        "hopper_status": st.as_dict(),
    }
    expected = cctalk.next_event_counter(before)
    if st.event_counter == before and st.remaining == 0:
        if before == 0 and hopper.fault_code() == "power_loss":
            # A power cycle resets the counter to 0 on hopper models without
            # non-volatile counters: 0 -> 0 may hide an accepted command.
            return Outcome(
                False, evidence=evidence | {"why": "counter 0 after a power-up: a reset may have hidden a dispense"}
            )
        return Outcome(
            True,
            earlier,
            _short(attempt, earlier, "interrupted"),
            evidence | {"how": "event counter unchanged: the dispense command was never accepted"},
        )
    if st.event_counter == expected:
        if st.remaining:
            try:
                st = hopper.wait_idle(
                    expected, progress=None if progress is None else (lambda paid: progress(earlier + paid))
                )
            except HopperStateLost as err:
                return Outcome(False, evidence=evidence | {"why": str(err), "later": err.evidence})
            evidence["hopper_status_final"] = st.as_dict()
        paid = earlier + st.last_paid
        error = _short(attempt, paid, hopper.fault_code() if st.last_unpaid else "interrupted")
        return Outcome(
            True, paid, error, evidence | {"how": "event counter advanced by one: hopper's last payout count"}
        )
    return Outcome(
        False,
        evidence=evidence
        | {"why": f"event counter is {st.event_counter}; expected {before} (not accepted) or {expected} (accepted)"},
    )


def _short(attempt: Attempt, paid: int, error: str) -> str | None:
    return None if paid >= attempt.requested else error
