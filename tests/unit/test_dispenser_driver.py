"""The ccTalk hopper driver against the simulator over a real pty (pyserial both ways as in
production): framing, echo, retries, and above all the retried dispense command (167)
that must never pay twice."""

from __future__ import annotations

import time

import pytest

from dispenser import cctalk
from dispenser.cctalk import Header
from dispenser.hopper import CcTalkHopper, HopperNoAnswer, HopperStateLost
from dispenser.journal import Attempt, Journal
from dispenser.recovery import resolve
from dispenser.simulator import HopperSimulator
from tests.support.dispenser_rig import wait_for


@pytest.fixture
def sim():
    with HopperSimulator(coin_seconds=0.001) as s:
        yield s


def driver(sim: HopperSimulator, **kw) -> CcTalkHopper:
    opts = {"reply_timeout": 0.2, "poll_interval": 0.005, "stall_seconds": 2.0} | kw
    return CcTalkHopper.open(sim.path, **opts)


@pytest.fixture
def hopper(sim):
    h = driver(sim)
    yield h
    h.close()


# -- framing --------------------------------------------------------------------------------


def test_frame_checksum_matches_the_spec_example():
    # ccTalk spec, part 1: a simple poll from the host (1) to address 2 is 2 0 1 254 255.
    assert cctalk.encode(2, 1, 254) == bytes([2, 0, 1, 254, 255])
    frame = cctalk.encode(1, 3, 0, bytes([7, 0, 5, 0]))
    assert sum(frame) % 256 == 0
    assert cctalk.decode(frame) == cctalk.Frame(dest=1, src=3, header=0, data=bytes([7, 0, 5, 0]))
    with pytest.raises(cctalk.FrameError):
        cctalk.decode(frame[:-1] + bytes([(frame[-1] + 1) % 256]))
    with pytest.raises(cctalk.FrameError):
        cctalk.decode(frame[:-1])


def test_event_counter_wraps_to_one_not_zero():
    assert cctalk.next_event_counter(0) == 1
    assert cctalk.next_event_counter(254) == 255
    assert cctalk.next_event_counter(255) == 1


# -- the wire -------------------------------------------------------------------------------


def test_identify_and_status(sim, hopper):
    ident = hopper.identify()
    assert (ident.category, ident.product, ident.serial_number) == ("Payout", "SIM-HOPPER", sim.serial_number)
    assert hopper.status().as_dict() == {"event_counter": 0, "remaining": 0, "last_paid": 0, "last_unpaid": 0}


@pytest.mark.parametrize("mode", ["auto", True])
def test_the_echo_of_a_single_wire_bus_is_discarded(sim, mode):
    sim.set_echo(True)
    h = driver(sim, echo=mode)
    try:
        assert h.identify().category == "Payout"
        assert h.dispense(3).paid == 3
        assert h.counters["echo_seen"] == h.counters["sent"] and h.counters["garbled"] == 0
        if mode == "auto":
            sim.set_echo(False)  # auto copes with a bus without echo as well
            assert h.status().last_paid == 3
    finally:
        h.close()


def test_an_echo_the_driver_does_not_expect_is_never_taken_for_a_reply(sim):
    sim.set_echo(True)
    h = driver(sim, echo=False, retries=1)
    try:
        with pytest.raises(HopperNoAnswer):
            h.status()
        assert h.counters["garbled"] >= 2
    finally:
        h.close()


def test_corrupt_checksum_is_retried(sim, hopper):
    sim.corrupt_next(2, Header.HOPPER_STATUS)
    assert hopper.status().event_counter == 0
    assert hopper.counters["garbled"] == 2
    assert sim.requests(Header.HOPPER_STATUS) == [Header.HOPPER_STATUS] * 3


def test_nak_is_retried(sim, hopper):
    sim.nak_next(1, Header.SERIAL_NUMBER)
    assert hopper.identify().serial_number == sim.serial_number
    assert hopper.counters["nak"] == 1


def test_slow_replies_within_the_timeout_are_fine(sim, hopper):
    sim.set_reply_delay(0.08)
    assert hopper.dispense(4).paid == 4
    assert hopper.counters["timeouts"] == 0


def test_a_silent_hopper_raises_after_the_retries(sim, hopper):
    hopper.identify()
    sim.set_no_answer(True)
    started = time.monotonic()
    with pytest.raises(HopperNoAnswer):
        hopper.status()
    assert time.monotonic() - started < 3
    assert len(sim.requests(Header.HOPPER_STATUS)) == hopper.retries + 1


# -- dispensing -----------------------------------------------------------------------------


def test_dispense_pays_exactly_and_batches_above_255(sim, hopper):
    seen = []
    result = hopper.dispense(300, before_batch=lambda ec, paid, batch: seen.append((ec, paid, batch)))
    assert (result.paid, result.error) == (300, None)
    assert seen == [(0, 0, 255), (1, 255, 45)], "each batch journaled with the counter before it"
    assert sim.total_paid == 300 and sim.snapshot()["dispenses"] == 2


@pytest.mark.parametrize("fault", ["corrupt", "drop"])
def test_a_167_whose_ack_is_lost_is_not_sent_again(sim, hopper, fault):
    """The hopper executed the dispense but its ACK was garbled / never came: the driver
    reads the event counter, sees the command was accepted, and does not resend."""
    hopper.identify()
    if fault == "corrupt":
        sim.corrupt_next(1, Header.DISPENSE_COINS)
    else:
        sim.drop_next(1, Header.DISPENSE_COINS)
    result = hopper.dispense(10)
    assert result.paid == 10
    assert sim.total_paid == 10, "paid once, not twice"
    assert sim.requests(Header.DISPENSE_COINS) == [Header.DISPENSE_COINS], "the 167 was sent exactly once"
    assert sim.snapshot()["event_counter"] == 1


def test_a_refused_167_is_sent_again_after_checking_the_counter(sim, hopper):
    hopper.identify()
    sim.nak_next(1, Header.DISPENSE_COINS)
    assert hopper.dispense(6).paid == 6
    assert len(sim.requests(Header.DISPENSE_COINS)) == 2
    assert sim.total_paid == 6 and sim.snapshot()["dispenses"] == 1


def test_a_167_lost_in_a_silent_hopper_raises_rather_than_guess(sim, hopper):
    ident = hopper.identify()
    hopper.enable()
    sim.drop_next(1, Header.DISPENSE_COINS)
    sim.corrupt_next(20, Header.HOPPER_STATUS)  # and the counter cannot be read either
    with pytest.raises(HopperNoAnswer):
        hopper._send_dispense(ident, 5, 0)
    assert sim.requests(Header.DISPENSE_COINS) == [Header.DISPENSE_COINS]


def test_jam_after_k_coins_reports_k_and_why(sim, hopper):
    sim.jam_after(3)
    result = hopper.dispense(10)
    assert (result.paid, result.unpaid, result.error) == (3, 7, "jam")
    assert hopper.status().last_unpaid == 7
    assert hopper.dispense(7).paid == 7, "the jam is cleared for the next payout"
    assert sim.total_paid == 10


def test_an_empty_hopper_pays_what_it_has(sim, hopper):
    sim.set_coins(2)
    result = hopper.dispense(5)
    assert (result.paid, result.error) == (2, "empty")


def test_a_stalled_payout_is_stopped(sim):
    slow = HopperSimulator(coin_seconds=30)
    slow.start()
    h = driver(slow, stall_seconds=0.3)
    try:
        result = h.dispense(5)
        assert result.paid == 0 and result.error == "short_payout"
        assert Header.EMERGENCY_STOP in slow.requests()
        assert h.status().last_unpaid == 5
    finally:
        h.close()
        slow.close()


# -- power loss and recovery from the counters ----------------------------------------------


def attempt(counter_before: int, paid_before: int = 0, batch: int = 10, requested: int = 10) -> Attempt:
    return Attempt(
        job_id=1,
        claim_token="t",
        quarters=requested,
        base_paid=0,
        requested=requested,
        state="in_flight",
        counter_before=counter_before,
        paid_before_batch=paid_before,
        batch=batch,
        coins_paid=None,
        error_code=None,
        evidence=None,
        created_at=0.0,
        updated_at=0.0,
    )


def test_power_loss_mid_payout_counters_survive_a_restarted_simulator(tmp_path):
    state = tmp_path / "hopper.json"
    first = HopperSimulator(state_file=state, coin_seconds=0.005)
    first.start()
    first.power_loss_after(4)
    h = driver(first, stall_seconds=5)
    h.identify()
    with pytest.raises(HopperNoAnswer):
        h.dispense(10)
    h.close()
    first.close()  # the whole hopper goes away; only its state file stays
    assert first.total_paid == 4

    second = HopperSimulator(state_file=state, coin_seconds=0.005)
    second.start()
    h = driver(second)
    try:
        st = h.status()
        assert (st.event_counter, st.remaining, st.last_paid, st.last_unpaid) == (1, 0, 4, 6)
        outcome = resolve(attempt(counter_before=0), h)
        assert outcome.known and outcome.attempt_paid == 4 and outcome.error_code == "power_loss"
    finally:
        h.close()
        second.close()


def test_recovery_counter_unchanged_means_nothing_was_paid(sim, hopper):
    hopper.dispense(2)  # counter is 1 now
    outcome = resolve(attempt(counter_before=1, paid_before=255, batch=10, requested=265), hopper)
    assert outcome.known and outcome.attempt_paid == 255 and outcome.error_code == "interrupted"


def test_recovery_waits_for_a_payout_still_running(sim):
    slow = HopperSimulator(coin_seconds=0.02)
    slow.start()
    h = driver(slow)
    try:
        h.identify()
        h.enable()
        h._send_dispense(h.identify(), 30, 0)  # as if the agent died right after sending
        wait_for(lambda: slow.total_paid >= 3, 5)
        outcome = resolve(attempt(counter_before=0, batch=30, requested=30), h)
        assert outcome.known and outcome.attempt_paid == 30 and outcome.error_code is None
    finally:
        h.close()
        slow.close()


def test_recovery_refuses_to_guess_when_the_counter_jumped(sim, hopper):
    hopper.dispense(1)
    hopper.dispense(1)  # counter 2: two dispenses since "0"
    outcome = resolve(attempt(counter_before=0), hopper)
    assert not outcome.known and "event counter is 2" in outcome.evidence["why"]


def test_a_counter_moving_mid_command_is_state_lost(sim, hopper):
    ident = hopper.identify()
    hopper.enable()
    sim.corrupt_next(1, Header.DISPENSE_COINS)
    with pytest.raises(HopperStateLost):
        hopper._send_dispense(ident, 1, counter_before=7)  # the hopper went 0 -> 1, not 7 -> 8


def test_journal_is_durable_and_single_owner(tmp_path):
    from dispenser.journal import JournalLocked

    j = Journal(tmp_path / "j.sqlite3")
    j.start(5, "tok", 20, 0, 20, 3)
    j.before_batch(5, "tok", 3, 0, 20)
    with pytest.raises(JournalLocked):
        Journal(tmp_path / "j.sqlite3")
    assert j.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    j.close()
    again = Journal(tmp_path / "j.sqlite3")
    [a] = again.in_state("in_flight")
    assert (a.job_id, a.counter_before, a.requested) == (5, 3, 20)
    again.record_result(5, "tok", 20, None, {"how": "test"})
    again.mark(5, "tok", "delivered", "finish: completed")
    assert again.in_state("in_flight", "result") == []
    assert again.get(5, "tok").evidence == {"how": "test", "delivery": "finish: completed"}
    again.close()
