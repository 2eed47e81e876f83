"""A simulated ccTalk payout hopper on a pseudo-terminal.

The real driver talks to it through pyserial on the pty's slave path, byte for byte as it
would to a hopper on /dev/ttyUSB0. Faults are injected from the owning process:
jam after k coins, an empty hopper, power loss mid-payout (its counters survive, as on
real hardware: they are kept in a small state file, so a restarted simulator still has
them), no answer, corrupt checksums, NAKs, echo on/off and slow replies.

`total_paid` is the physical truth the tests compare the database against.
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import threading
import time
import tty
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import cctalk
from .cctalk import ACK, BUSY, NAK, Flag, Header

log = logging.getLogger("dispenser.simulator")


@dataclass
class HopperState:
    """What survives a power cycle (the hopper's non-volatile memory)."""

    event_counter: int = 0
    remaining: int = 0  # > 0 on load: power was lost mid-payout
    last_paid: int = 0
    last_unpaid: int = 0
    coins: int = 10_000  # coins in the hopper
    total_paid: int = 0  # every coin that ever came out
    dispenses: int = 0  # accepted 167 commands


@dataclass
class Faults:
    jam_after: int | None = None  # the next payout jams after this many coins (one-shot)
    power_loss_after: int | None = None  # the next payout loses power after this many coins (one-shot)
    no_answer: bool = False  # the hopper stays silent (it still executes nothing)
    corrupt_replies: int = 0  # corrupt the checksum of the next n replies
    corrupt_header: int | None = None  # ... only replies to this header
    nak_replies: int = 0  # answer NAK (and do nothing) to the next n commands
    nak_header: int | None = None
    drop_replies: int = 0  # execute, but do not answer, the next n commands
    drop_header: int | None = None
    reply_delay: float = 0.0  # seconds before each reply
    echo: bool = False  # single-wire bus: the host reads its own bytes back
    requests: list[int] = field(default_factory=list)  # headers received, for assertions
    payouts: list[int] = field(default_factory=list)  # coin counts of accepted 167s


class HopperSimulator:
    def __init__(
        self,
        *,
        state_file: str | Path | None = None,
        coins: int = 10_000,
        coin_seconds: float = 0.01,
        address: int = cctalk.HOPPER_ADDRESS,
        serial_number: int = 0x0C0FFE,
        product: str = "SIM-HOPPER",
        echo: bool = False,
        reply_delay: float = 0.0,
        event_counter: int = 0,
    ):
        self.address = address
        self.serial_number = serial_number
        self.product = product
        self.coin_seconds = coin_seconds
        self.state_file = Path(state_file) if state_file else None
        self.faults = Faults(echo=echo, reply_delay=reply_delay)
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._register = bytearray(3)
        self._enabled = False
        self._powered = True
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.master = self.slave = -1
        self.path = ""
        self.state = HopperState(coins=coins, event_counter=event_counter)
        self._load()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Open the pty and start answering; returns the device path for the driver."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop.clear()
        for target in (self._serve, self._motor):
            t = threading.Thread(target=target, name=f"hopper-sim-{target.__name__}", daemon=True)
            t.start()
            self._threads.append(t)
        return self.path

    def close(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(2)
        self._threads.clear()
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def __enter__(self) -> HopperSimulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- fault injection -----------------------------------------------------------------

    def jam_after(self, k: int) -> None:
        with self._lock:
            self.faults.jam_after = k

    def power_loss_after(self, k: int) -> None:
        with self._lock:
            self.faults.power_loss_after = k

    def set_coins(self, n: int) -> None:
        """Coins in the hopper; when they run out a payout stops short (payout timeout)."""
        with self._lock:
            self.state.coins = n
            self._save()

    def power_off(self) -> None:
        with self._lock:
            self._powered = False
            self._save()

    def power_on(self) -> None:
        """Power comes back: counters from non-volatile memory, an interrupted payout is
        over (its coins unpaid), the hopper disabled until enabled again."""
        with self._lock:
            self._load()
            self._powered = True
            self._enabled = False
            self._wake.notify_all()

    def set_no_answer(self, on: bool) -> None:
        with self._lock:
            self.faults.no_answer = on

    def corrupt_next(self, n: int = 1, header: int | None = None) -> None:
        with self._lock:
            self.faults.corrupt_replies, self.faults.corrupt_header = n, header

    def nak_next(self, n: int = 1, header: int | None = None) -> None:
        with self._lock:
            self.faults.nak_replies, self.faults.nak_header = n, header

    def drop_next(self, n: int = 1, header: int | None = None) -> None:
        """Execute the next n commands but lose their replies (the classic lost ACK)."""
        with self._lock:
            self.faults.drop_replies, self.faults.drop_header = n, header

    def set_echo(self, on: bool) -> None:
        with self._lock:
            self.faults.echo = on

    def set_reply_delay(self, seconds: float) -> None:
        with self._lock:
            self.faults.reply_delay = seconds

    # -- observation ---------------------------------------------------------------------

    @property
    def total_paid(self) -> int:
        with self._lock:
            return self.state.total_paid

    @property
    def paying(self) -> bool:
        with self._lock:
            return self.state.remaining > 0 and self._powered

    def snapshot(self) -> dict:
        with self._lock:
            return asdict(self.state) | {"powered": self._powered, "enabled": self._enabled}

    def payouts(self) -> list[int]:
        with self._lock:
            return list(self.faults.payouts)

    def requests(self, header: int | None = None) -> list[int]:
        with self._lock:
            return [h for h in self.faults.requests if header is None or h == header]

    # -- non-volatile state --------------------------------------------------------------

    def _load(self) -> None:
        if self.state_file and self.state_file.exists():
            self.state = HopperState(**json.loads(self.state_file.read_text()))
        if self.state.remaining:
            # Power was lost mid-payout: the payout is over, its rest unpaid.
            self.state.last_unpaid += self.state.remaining
            self.state.remaining = 0
            cctalk.set_flag(self._register, Flag.POWER_DOWN_DURING_PAYOUT)
            self._save()
        cctalk.set_flag(self._register, Flag.POWER_UP_DETECTED)

    def _save(self) -> None:
        if not self.state_file:
            return
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self.state)))
        os.replace(tmp, self.state_file)

    # -- the motor -----------------------------------------------------------------------

    def _motor(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                if not (self._powered and self.state.remaining > 0):
                    self._wake.wait(0.2)
                    continue
            time.sleep(self.coin_seconds)
            with self._lock:
                if self._powered and self.state.remaining > 0:
                    self._pay_one()

    def _pay_one(self) -> None:
        s, f = self.state, self.faults
        if f.power_loss_after is not None and s.last_paid >= f.power_loss_after:
            f.power_loss_after = None
            log.info("simulated power loss after %s coins", s.last_paid)
            self._save()  # remaining > 0 is saved: the next power-up knows
            self._powered = False
            return
        if f.jam_after is not None and s.last_paid >= f.jam_after:
            f.jam_after = None
            cctalk.set_flag(self._register, Flag.MOTOR_REVERSED)
            cctalk.set_flag(self._register, Flag.MOTOR_REVERSE_LIMIT)
            self._halt()
            return
        if s.coins <= 0:
            cctalk.set_flag(self._register, Flag.PAYOUT_TIMEOUT)
            self._halt()
            return
        s.coins -= 1
        s.total_paid += 1
        s.last_paid += 1
        s.remaining -= 1
        self._save()

    def _halt(self) -> None:
        self.state.last_unpaid += self.state.remaining
        self.state.remaining = 0
        self._save()

    # -- the serial side -----------------------------------------------------------------

    def _serve(self) -> None:
        buf = b""
        last_byte = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 512)
                except OSError:
                    chunk = b""
                if not chunk:
                    time.sleep(0.01)
                    continue
                buf += chunk
                last_byte = time.monotonic()
            elif buf and time.monotonic() - last_byte > 0.1:
                buf = b""  # an incomplete frame went stale: resynchronise
            while len(buf) >= 2 and len(buf) >= cctalk.frame_length(buf):
                n = cctalk.frame_length(buf)
                raw, buf = buf[:n], buf[n:]
                try:
                    request = cctalk.decode(raw)
                except cctalk.FrameError:
                    buf = b""  # garbage: drop it all, as a device would
                    break
                if request.dest not in (self.address, 0):
                    continue
                self._answer(raw, request)

    def _answer(self, raw: bytes, request: cctalk.Frame) -> None:
        with self._lock:
            f = self.faults
            f.requests.append(request.header)
            echo, delay = f.echo, f.reply_delay
            if not self._powered or f.no_answer:
                reply = None
            elif f.nak_replies and f.nak_header in (None, request.header):
                f.nak_replies -= 1
                reply = (NAK, b"")
            else:
                reply = self._execute(request)
                if f.drop_replies and f.drop_header in (None, request.header):
                    f.drop_replies -= 1
                    reply = None
            corrupt = False
            if reply is not None and f.corrupt_replies and f.corrupt_header in (None, request.header):
                f.corrupt_replies -= 1
                corrupt = True
        out = raw if echo else b""
        if reply is not None:
            frame = bytearray(cctalk.encode(request.src, self.address, reply[0], reply[1]))
            if corrupt:
                frame[-1] ^= 0x5A
            if delay:
                self._write(out)
                out = b""
                time.sleep(delay)
            out += bytes(frame)
        self._write(out)

    def _write(self, data: bytes) -> None:
        if data and self.master >= 0:
            try:
                os.write(self.master, data)
            except OSError:
                pass

    def _execute(self, request: cctalk.Frame) -> tuple[int, bytes]:
        h, data, s = request.header, request.data, self.state
        if h == Header.SIMPLE_POLL:
            return ACK, b""
        if h == Header.EQUIPMENT_CATEGORY:
            return ACK, b"Payout"
        if h == Header.PRODUCT_CODE:
            return ACK, self.product.encode()
        if h == Header.SERIAL_NUMBER:
            return ACK, self.serial_number.to_bytes(3, "little")
        if h == Header.ENABLE_HOPPER:
            self._enabled = bool(data) and data[0] == cctalk.ENABLE_CODE
            cctalk.set_flag(self._register, Flag.PAYOUT_DISABLED, not self._enabled)
            return ACK, b""
        if h == Header.TEST_HOPPER:
            register = bytes(self._register)
            # Reading the register clears the power-up flag (it reports a power-up once).
            cctalk.set_flag(self._register, Flag.POWER_UP_DETECTED, False)
            return ACK, register
        if h == Header.HOPPER_STATUS:
            return ACK, bytes([s.event_counter, s.remaining, s.last_paid, s.last_unpaid])
        if h == Header.EMERGENCY_STOP:
            unpaid = s.remaining
            self._halt()
            self._enabled = False
            return ACK, bytes([unpaid])
        if h == Header.DISPENSE_COINS:
            if len(data) != 4 or data[:3] != self.serial_number.to_bytes(3, "little") or not self._enabled:
                return NAK, b""
            if s.remaining:
                return BUSY, b""
            s.event_counter = cctalk.next_event_counter(s.event_counter)
            s.dispenses += 1
            self.faults.payouts.append(data[3])
            s.remaining, s.last_paid, s.last_unpaid = data[3], 0, 0
            self._register[:] = bytes(3)
            self._save()
            self._wake.notify_all()
            return ACK, b""
        return NAK, b""


class RandomFaults:
    """Chaos for soak tests: every `interval` seconds inject one random fault into `sim`.
    Only faults a real hopper produces; counters always survive."""

    def __init__(
        self, sim: HopperSimulator, *, interval: float = 0.15, seed: int | None = None, refill_to: int = 10_000
    ):
        self.sim = sim
        self.interval = interval
        self.rng = random.Random(seed)
        self.refill_to = refill_to
        self.injected: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hopper-chaos", daemon=True)

    def start(self) -> RandomFaults:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        s = self.sim
        s.set_no_answer(False)
        s.set_reply_delay(0.0)
        if not s.snapshot()["powered"]:
            s.power_on()
        s.set_coins(self.refill_to)

    def _run(self) -> None:
        s, rng = self.sim, self.rng
        while not self._stop.wait(self.interval * rng.uniform(0.5, 1.5)):
            if not s.snapshot()["powered"]:
                s.power_on()
            kind = rng.choice(
                [
                    "jam",
                    "empty",
                    "power",
                    "silence",
                    "corrupt",
                    "corrupt167",
                    "drop167",
                    "nak",
                    "slow",
                    "echo",
                    "none",
                    "none",
                ]
            )
            self.injected.append(kind)
            if kind == "jam":
                s.jam_after(rng.randint(0, 4))
            elif kind == "empty":
                s.set_coins(rng.randint(0, 3))
                self._stop.wait(self.interval)
                s.set_coins(self.refill_to)
            elif kind == "power":
                s.power_loss_after(rng.randint(0, 3))
                self._stop.wait(self.interval)
                if not s.snapshot()["powered"]:
                    s.power_on()
            elif kind == "silence":
                s.set_no_answer(True)
                self._stop.wait(rng.uniform(0.05, 0.4))
                s.set_no_answer(False)
            elif kind == "corrupt":
                s.corrupt_next(rng.randint(1, 2))
            elif kind == "corrupt167":
                s.corrupt_next(1, Header.DISPENSE_COINS)
            elif kind == "drop167":
                s.drop_next(1, Header.DISPENSE_COINS)
            elif kind == "nak":
                s.nak_next(1)
            elif kind == "slow":
                s.set_reply_delay(rng.uniform(0.01, 0.05))
                self._stop.wait(self.interval)
                s.set_reply_delay(0.0)
            elif kind == "echo":
                s.set_echo(not s.faults.echo)
