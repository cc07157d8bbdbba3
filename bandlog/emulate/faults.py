"""Faults an emulated peripheral can inject: lost, damaged and late-battery notifications, link loss.

Pure data, the default damage function and the `--faults` text form; the peripheral
(emulate/peripheral.py) applies them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bandlog.core.errors import ConfigError


def cut_last_byte(payload: bytes) -> bytes:
    """Damage for fixed-size notifications (one sample, no length byte): one byte short.

    Such a format has no length field and no checksum, so a changed value byte could not be caught
    by anyone; a notification of the wrong size can be, and is what a real link delivers when a
    stack or firmware misbehaves (bit errors are stopped by BLE's link-layer CRC).
    """
    return payload[:-1]


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
    stream a test records no matter how long scanning took. Each timed fault fires once; the
    periodic ones (`*_every_s`) fire each time that much device time has passed. Dropping and
    corrupting apply to streaming notifications only (command replies always arrive).
    """

    drop_fraction: float = 0.0
    seed: int = 0
    disconnect_at_s: tuple[float, ...] = ()
    corrupt_at_s: tuple[float, ...] = ()
    low_battery_at_s: float | None = None
    corrupt: Callable[[bytes], bytes] | None = None
    """How a damaged notification is malformed; None: the twin's own `damage` (what its decoder can
    catch: BLE's link-layer CRC stops bit errors, so real damage is a wrong length, not a wrong value)."""
    corrupt_fraction: float = 0.0
    """Share of streaming notifications damaged (the damage lands on a packet's first notification)."""
    corrupt_every_s: float | None = None
    disconnect_every_s: float | None = None
    force_gain: float = 1.0
    """The twin reads force as the true force times this: -1 is a sensor whose pulls read negative
    (the PASCO's sign is unverified), 0.9 one reading 10 % low; what `bandlog check` must catch."""

    def __post_init__(self) -> None:
        for name in ("drop_fraction", "corrupt_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be within 0..1, got {value}")
        for name in ("corrupt_every_s", "disconnect_every_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, got {value}")
        if not (math.isfinite(self.force_gain) and self.force_gain != 0):
            raise ConfigError(f"force_gain must be a non-zero number (-1 for a wrong sign), got {self.force_gain}")


_SPEC_KEYS: dict[str, tuple[str, str]] = {
    "drop": ("drop_fraction", "a fraction of notifications lost, 0..1"),
    "corrupt": ("corrupt_fraction", "a fraction of notifications damaged, 0..1"),
    "corrupt_every": ("corrupt_every_s", "seconds between damaged packets"),
    "disconnect_every": ("disconnect_every_s", "seconds between link losses"),
    "low_battery_at": ("low_battery_at_s", "device seconds"),
    "seed": ("seed", "a whole number"),
    "force_gain": ("force_gain", "a non-zero factor on the force read (-1: wrong sign)"),
}
FAULT_KEYS = tuple(_SPEC_KEYS)
"""The keys `record --faults` takes (its help lists them from here)."""


def parse_faults(spec: str) -> Faults:
    """`drop=0.01,corrupt=0.001,disconnect_every=120` -> Faults; a bad spec is one ConfigError sentence."""
    values: dict[str, float | int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _SPEC_KEYS:
            raise ConfigError(f"--faults: {part!r} is not KEY=VALUE with KEY one of {', '.join(_SPEC_KEYS)}")
        field, meaning = _SPEC_KEYS[key]
        try:
            number = float(raw)
            if field == "seed":
                if number != int(number):
                    raise ValueError
                values[field] = int(number)
            else:
                values[field] = number
        except ValueError:
            raise ConfigError(f"--faults: {key} must be {meaning}, not {raw.strip()!r}") from None
    try:
        return Faults(**values)  # type: ignore[arg-type]  # keys come from _SPEC_KEYS: numeric fields only
    except ConfigError as error:
        raise ConfigError(f"--faults {spec!r}: {error}") from None
