"""Faults an emulated peripheral can inject: lost, damaged and late-battery notifications, link loss.

Pure data plus the default damage function; the peripheral (emulate/peripheral.py) applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bandlog.errors import ConfigError


def damage_length_byte(payload: bytes) -> bytes:
    """Structural damage for the default corruption fault: byte 1 (the length) one too small.

    Both supported protocols frame a packet as [code, length, ...] and neither checksums data
    packets, so flipping a value byte would pass unnoticed; a wrong length is what a decoder can
    and must catch. Applied to the first notification of a poll batch, which starts a packet.
    """
    if len(payload) < 2:
        return bytes([0xEE]) + payload[1:]
    return payload[:1] + bytes([(payload[1] - 1) & 0xFF]) + payload[2:]


@dataclass(frozen=True)
class Faults:
    """What should go wrong on one emulated peripheral; times are on its device clock (seconds).

    The device clock starts at the peripheral's first connection, so fault times line up with the
    stream a test records no matter how long scanning took. Each timed fault fires once.
    Dropping applies to streaming notifications only (command replies always arrive).
    """

    drop_fraction: float = 0.0
    seed: int = 0
    disconnect_at_s: tuple[float, ...] = ()
    corrupt_at_s: tuple[float, ...] = ()
    low_battery_at_s: float | None = None
    corrupt: Callable[[bytes], bytes] = damage_length_byte

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_fraction <= 1.0:
            raise ConfigError(f"drop_fraction must be within 0..1, got {self.drop_fraction}")
