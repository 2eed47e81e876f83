"""ccTalk framing, shared by the hopper driver and the simulator.

A frame is `[dest][data length][src][header][data...][checksum]`; the simple checksum is
the byte that makes all bytes of the frame sum to 0 mod 256. A reply carries header 0
(ACK, with the answer in its data) or 5 (NAK) or 6 (BUSY). Public standard: ccTalk
Generic Specification, parts 1-3 (cctalk.org).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

HOST_ADDRESS = 1
HOPPER_ADDRESS = 3
MAX_DATA = 252  # the length byte may not exceed 252
MAX_COINS_PER_DISPENSE = 255

ACK = 0
NAK = 5
BUSY = 6

ENABLE_CODE = 165  # data byte of 164 that enables the hopper; anything else disables


class Header(IntEnum):
    SIMPLE_POLL = 254
    EQUIPMENT_CATEGORY = 245
    PRODUCT_CODE = 244
    SERIAL_NUMBER = 242
    DISPENSE_COINS = 167  # serial-number-protected: [sn0][sn1][sn2][coins]
    HOPPER_STATUS = 166  # -> [event counter][remaining][last paid][last unpaid]
    ENABLE_HOPPER = 164
    TEST_HOPPER = 163  # -> hopper status register bytes
    EMERGENCY_STOP = 172  # -> [coins remaining unpaid]


class FrameError(ValueError):
    """Bytes that are not one valid frame (bad length or checksum)."""


@dataclass(frozen=True)
class Frame:
    dest: int
    src: int
    header: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode(self.dest, self.src, self.header, self.data)


def checksum(body: bytes) -> int:
    return (-sum(body)) & 0xFF


def encode(dest: int, src: int, header: int, data: bytes = b"") -> bytes:
    if len(data) > MAX_DATA:
        raise ValueError(f"ccTalk data is at most {MAX_DATA} bytes")
    body = bytes([dest, len(data), src, header]) + bytes(data)
    return body + bytes([checksum(body)])


def frame_length(head: bytes) -> int:
    """Total frame length from its first two bytes (dest, data length)."""
    return head[1] + 5


def decode(raw: bytes) -> Frame:
    if len(raw) < 5 or len(raw) != frame_length(raw):
        raise FrameError(f"frame length {len(raw)} does not match its length byte")
    if sum(raw) & 0xFF:
        raise FrameError("bad checksum")
    return Frame(dest=raw[0], src=raw[2], header=raw[3], data=bytes(raw[4:-1]))


def next_event_counter(counter: int) -> int:
    """The hopper's dispense event counter after one accepted 167: 1..255, wrapping to 1
    (0 only after a reset)."""
    return 1 if counter >= 255 else counter + 1


# Hopper status register (header 163), three bytes, as in the ccTalk spec (part 3).
class Flag:
    # byte 0
    MAX_CURRENT_EXCEEDED = (0, 0x01)
    PAYOUT_TIMEOUT = (0, 0x02)  # no coin came out in time: hopper empty
    MOTOR_REVERSED = (0, 0x04)  # reversed to clear a jam during the last payout
    OPTO_BLOCKED_DURING_PAYOUT = (0, 0x20)
    POWER_UP_DETECTED = (0, 0x40)
    PAYOUT_DISABLED = (0, 0x80)
    # byte 1
    MOTOR_REVERSE_LIMIT = (1, 0x10)  # gave up clearing the jam
    # byte 2
    POWER_DOWN_DURING_PAYOUT = (2, 0x01)


def has_flag(register: bytes, flag: tuple[int, int]) -> bool:
    byte, mask = flag
    return len(register) > byte and bool(register[byte] & mask)


def set_flag(register: bytearray, flag: tuple[int, int], on: bool = True) -> None:
    byte, mask = flag
    while len(register) <= byte:
        register.append(0)
    if on:
        register[byte] |= mask
    else:
        register[byte] &= ~mask & 0xFF
