"""The coin hopper: a small interface and its ccTalk driver over pyserial.

The agent only uses `identify()`, `status()`, `dispense(n) -> DispenseResult` and `stop()`.
Another protocol (a Telequip T-Flex, say, once its protocol is available) plugs in by
implementing the same four calls.

Paying a coin twice is the one thing this module must never do. A dispense command (167)
whose answer is lost may or may not have been executed, so it is never simply re-sent:
the driver first reads the hopper's event counter (166), which the hopper increments for
every dispense it accepts, and re-sends only when the counter has not moved. Every count
it returns is the count the hopper reports, never the count requested.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import cctalk
from .cctalk import ACK, BUSY, NAK, Flag, Header

log = logging.getLogger("dispenser.hopper")


class HopperError(Exception):
    """The hopper did something the driver cannot make sense of."""


class HopperNoAnswer(HopperError):
    """No valid reply after all retries: what the hopper did is not known right now."""


class HopperStateLost(HopperError):
    """The hopper's counters moved in a way no single dispense explains (a reset that lost
    them, another master on the bus): what it paid can no longer be established."""

    def __init__(self, message: str, evidence: dict):
        super().__init__(message)
        self.evidence = evidence


@dataclass(frozen=True)
class Identity:
    category: str
    product: str
    serial_number: int

    @property
    def serial_bytes(self) -> bytes:
        return self.serial_number.to_bytes(3, "little")


@dataclass(frozen=True)
class HopperStatus:
    event_counter: int  # +1 for every accepted dispense (1..255 wrapping to 1; 0 after a reset)
    remaining: int  # coins still to pay in the current dispense
    last_paid: int  # coins paid by the current / last dispense
    last_unpaid: int  # coins the last dispense gave up on (fault, emergency stop)

    def as_dict(self) -> dict:
        return {
            "event_counter": self.event_counter,
            "remaining": self.remaining,
            "last_paid": self.last_paid,
            "last_unpaid": self.last_unpaid,
        }


@dataclass(frozen=True)
class DispenseResult:
    requested: int
    paid: int
    error: str | None = None  # None when every coin was paid

    @property
    def unpaid(self) -> int:
        return self.requested - self.paid


# before_batch(event_counter_before, paid_so_far, batch): called before each 167 is sent,
# so the caller can record durably what the counter said. progress(paid_so_far): coins
# paid so far in this dispense. should_continue(): asked before every batch after the first.
BeforeBatch = Callable[[int, int, int], None]
Progress = Callable[[int], None]
ShouldContinue = Callable[[], bool]


class Hopper(Protocol):
    def identify(self) -> Identity: ...

    def status(self) -> HopperStatus: ...

    def dispense(
        self,
        coins: int,
        *,
        before_batch: BeforeBatch | None = None,
        progress: Progress | None = None,
        should_continue: ShouldContinue | None = None,
    ) -> DispenseResult: ...

    def wait_idle(self, expected_counter: int, progress: Progress | None = None) -> HopperStatus: ...

    def fault_code(self) -> str: ...

    def stop(self) -> int: ...

    def close(self) -> None: ...


class _NoReply(Exception):
    pass


class _Garbled(Exception):
    pass


class CcTalkHopper:
    """A ccTalk payout hopper on a serial port (pyserial `Serial` or anything with its
    read/write/flush/reset_input_buffer/in_waiting)."""

    def __init__(
        self,
        port,
        *,
        address: int = cctalk.HOPPER_ADDRESS,
        host_address: int = cctalk.HOST_ADDRESS,
        echo: bool | str = "auto",
        reply_timeout: float = 0.25,
        retries: int = 3,
        poll_interval: float = 0.1,
        stall_seconds: float = 10.0,
    ):
        if echo not in (True, False, "auto"):
            raise ValueError("echo must be true, false or 'auto'")
        self.port = port
        self.address = address
        self.host = host_address
        self.echo = echo
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.poll_interval = poll_interval
        self.stall_seconds = stall_seconds
        self._identity: Identity | None = None
        self.counters = {"sent": 0, "timeouts": 0, "garbled": 0, "nak": 0, "busy": 0, "echo_seen": 0}

    @classmethod
    def open(cls, device: str, *, baudrate: int = 9600, **kw) -> CcTalkHopper:
        import serial

        port = serial.Serial(
            device,
            baudrate=baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=0.05,
            exclusive=True,
        )
        return cls(port, **kw)

    def close(self) -> None:
        self.port.close()

    # -- the interface -------------------------------------------------------------------

    def identify(self) -> Identity:
        self._command(Header.SIMPLE_POLL, expect_len=0)
        category = self._command(Header.EQUIPMENT_CATEGORY).decode("ascii", "replace")
        product = self._command(Header.PRODUCT_CODE).decode("ascii", "replace")
        serial_number = int.from_bytes(self._command(Header.SERIAL_NUMBER, expect_len=3), "little")
        self._identity = Identity(category, product, serial_number)
        return self._identity

    def status(self) -> HopperStatus:
        ec, remaining, paid, unpaid = self._command(Header.HOPPER_STATUS, expect_len=4)
        return HopperStatus(ec, remaining, paid, unpaid)

    def test(self) -> bytes:
        """The hopper status register (163): fault flags of the last payout."""
        return self._command(Header.TEST_HOPPER)

    def enable(self, on: bool = True) -> None:
        self._command(Header.ENABLE_HOPPER, bytes([cctalk.ENABLE_CODE if on else 0]), expect_len=0)

    def stop(self) -> int:
        """Emergency stop: halts the motor; returns the coins left unpaid."""
        data = self._command(Header.EMERGENCY_STOP)
        return data[0] if data else 0

    def dispense(
        self,
        coins: int,
        *,
        before_batch: BeforeBatch | None = None,
        progress: Progress | None = None,
        should_continue: ShouldContinue | None = None,
    ) -> DispenseResult:
        """Pay `coins`, in batches of at most 255 (one 167 each). Returns what the hopper
        counted. Raises HopperNoAnswer / HopperStateLost when the count cannot be read;
        `before_batch` has then recorded what is needed to establish it later."""
        if coins < 0:
            raise ValueError("coins must be >= 0")
        identity = self._identity or self.identify()
        paid = 0
        while paid < coins:
            if paid and should_continue is not None and not should_continue():
                return DispenseResult(coins, paid, "interrupted")
            batch = min(cctalk.MAX_COINS_PER_DISPENSE, coins - paid)
            st = self.status()
            if st.remaining:
                raise HopperError(f"hopper is already paying out ({st.remaining} coins remaining)")
            self.enable()
            if before_batch is not None:
                before_batch(st.event_counter, paid, batch)
            expected = self._send_dispense(identity, batch, st.event_counter)
            final = self._await_payout(expected, paid, progress)
            paid += final.last_paid
            if final.last_paid < batch:
                return DispenseResult(coins, paid, self.fault_code())
        return DispenseResult(coins, paid, None)

    def wait_idle(self, expected_counter: int, progress: Progress | None = None) -> HopperStatus:
        """Wait for the dispense numbered `expected_counter` to end (stopping it if it
        stalls) and return the hopper's final status for it."""
        return self._await_payout(expected_counter, 0, progress)

    def fault_code(self) -> str:
        """Why the last payout came up short, from the status register."""
        try:
            reg = self.test()
        except HopperError:
            return "short_payout"
        if cctalk.has_flag(reg, Flag.POWER_DOWN_DURING_PAYOUT) or cctalk.has_flag(reg, Flag.POWER_UP_DETECTED):
            return "power_loss"
        if (
            cctalk.has_flag(reg, Flag.MOTOR_REVERSED)
            or cctalk.has_flag(reg, Flag.MOTOR_REVERSE_LIMIT)
            or cctalk.has_flag(reg, Flag.MAX_CURRENT_EXCEEDED)
        ):
            return "jam"
        if cctalk.has_flag(reg, Flag.PAYOUT_TIMEOUT):
            return "empty"
        if cctalk.has_flag(reg, Flag.OPTO_BLOCKED_DURING_PAYOUT):
            return "opto_blocked"
        return "short_payout"

    # -- dispensing ----------------------------------------------------------------------

    def _send_dispense(self, identity: Identity, batch: int, counter_before: int) -> int:
        """Send one 167 until the hopper has accepted it exactly once. Returns the event
        counter of the accepted dispense."""
        expected = cctalk.next_event_counter(counter_before)
        data = identity.serial_bytes + bytes([batch])
        for attempt in range(self.retries + 1):
            try:
                reply = self._exchange(Header.DISPENSE_COINS, data)
                # ACK, optionally with the new event counter (some hoppers send it).
                if reply.header == ACK and (reply.data == b"" or reply.data == bytes([expected])):
                    return expected
                self.counters[{ACK: "garbled", NAK: "nak"}.get(reply.header, "busy")] += 1
                log.warning(
                    "dispense of %s coins answered with header %s data %s", batch, reply.header, reply.data.hex()
                )
            except (_NoReply, _Garbled) as err:
                log.warning("dispense of %s coins: %s; checking the event counter before any resend", batch, err)
            # The command may have been executed although no clean ACK came back: the
            # event counter says whether it was. Only an unmoved counter, read twice after
            # the line went quiet (so no late reply can pose as the answer), allows a resend.
            for _ in range(2):
                self._settle(quiet=self.reply_timeout)
                st = self.status()
                if st.event_counter == expected:
                    log.info("dispense of %s coins was accepted (event counter %s); not resending", batch, expected)
                    return expected
                if st.event_counter != counter_before:
                    raise HopperStateLost(
                        "event counter moved unexpectedly during a dispense command",
                        {"counter_before": counter_before, "expected": expected, **st.as_dict()},
                    )
            if attempt < self.retries:
                self.enable()
        raise HopperNoAnswer(f"the hopper did not accept a dispense of {batch} coins after {self.retries + 1} tries")

    def _await_payout(self, expected: int, paid_before: int, progress: Progress | None) -> HopperStatus:
        last_paid = -1
        last_change = time.monotonic()
        stopped = False
        while True:
            st = self.status()
            if st.event_counter != expected:
                raise HopperStateLost("event counter changed during a payout", {"expected": expected, **st.as_dict()})
            now = time.monotonic()
            if st.last_paid != last_paid:
                last_paid, last_change = st.last_paid, now
            if progress is not None:
                # Called on every poll (the caller throttles); time spent in it (a slow
                # database) must not look like a stalled hopper.
                progress(paid_before + st.last_paid)
                spent = time.monotonic() - now
                last_change += spent
                now += spent
            if st.remaining == 0:
                return st
            if now - last_change > self.stall_seconds:
                if stopped:
                    raise HopperNoAnswer("the payout neither progresses nor stops")
                log.error(
                    "payout stalled for %.1fs with %s coins remaining: emergency stop", self.stall_seconds, st.remaining
                )
                self.stop()
                stopped, last_change = True, now
            time.sleep(self.poll_interval)

    # -- the wire ------------------------------------------------------------------------

    def _command(self, header: int, data: bytes = b"", expect_len: int | None = None) -> bytes:
        """Any command except 167: safe to repeat, so retried on silence, garbage, NAK, BUSY."""
        for attempt in range(self.retries + 1):
            try:
                reply = self._exchange(header, data)
            except (_NoReply, _Garbled) as err:
                log.debug("header %s attempt %s: %s", header, attempt + 1, err)
                self._settle()
                continue
            if reply.header == ACK:
                if expect_len is not None and len(reply.data) != expect_len:
                    self.counters["garbled"] += 1
                    log.debug("header %s: %s data bytes, expected %s", header, len(reply.data), expect_len)
                    self._settle()
                    continue
                return reply.data
            self.counters["nak" if reply.header == NAK else "busy"] += 1
            if reply.header not in (NAK, BUSY):
                raise HopperError(f"header {header} answered with unexpected header {reply.header}")
            time.sleep(self.poll_interval if reply.header == BUSY else 0.01)
        raise HopperNoAnswer(f"no valid answer to header {header} after {self.retries + 1} tries")

    def _exchange(self, header: int, data: bytes = b"") -> cctalk.Frame:
        request = cctalk.encode(self.address, self.host, header, data)
        self.port.reset_input_buffer()
        self.port.write(request)
        self.port.flush()
        self.counters["sent"] += 1
        deadline = time.monotonic() + self.reply_timeout
        first = self._read_exact(1, deadline)
        # On a single-wire bus the host reads its own bytes back first. A reply starts
        # with our address (the host's); the echo starts with the hopper's.
        if self.echo is True or (self.echo == "auto" and first[0] == request[0] and request[0] != self.host):
            rest = self._read_exact(len(request) - 1, deadline)
            if first + rest != request:
                self.counters["garbled"] += 1
                raise _Garbled("the echo differs from what was sent")
            self.counters["echo_seen"] += 1
            first = self._read_exact(1, deadline)
        head = first + self._read_exact(1, deadline)
        raw = head + self._read_exact(cctalk.frame_length(head) - 2, deadline)
        try:
            reply = cctalk.decode(raw)
        except cctalk.FrameError as err:
            self.counters["garbled"] += 1
            raise _Garbled(str(err)) from None
        if reply.dest != self.host or reply.src != self.address:
            self.counters["garbled"] += 1
            raise _Garbled(f"a frame from {reply.src} to {reply.dest}")
        return reply

    def _read_exact(self, n: int, deadline: float) -> bytes:
        buf = b""
        while len(buf) < n:
            if time.monotonic() >= deadline:
                self.counters["timeouts"] += 1
                raise _NoReply(f"timeout after {len(buf)} of {n} bytes")
            buf += self.port.read(n - len(buf))
        return buf

    def _settle(self, quiet: float = 0.02) -> None:
        """After silence or garbage: let a late reply arrive and drop it, so it cannot be
        taken for the answer to the next command. Returns once nothing has arrived for
        `quiet` seconds (at most 3 reply timeouts)."""
        give_up = time.monotonic() + max(quiet, self.reply_timeout) * 3
        last_byte = time.monotonic()
        while time.monotonic() < give_up:
            if self.port.in_waiting:
                self.port.reset_input_buffer()
                last_byte = time.monotonic()
            elif time.monotonic() - last_byte >= quiet:
                return
            time.sleep(0.01)
