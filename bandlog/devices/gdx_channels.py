"""Which GDX channels to record and at what period, decided from the device's sensor-info records.

Channels are found at run time from the sensor-info records by description and units, never by
assumed numbers, because the GDX channel list is partly inferred (protocols.md 2.10) and differs
between Go Direct models. Pure functions of the records, kept apart from the conversation that
fetches them (gdx_for.py) and the decoder that reads the chosen channels (gdx_decoder.py).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bandlog.core.errors import ConfigError, ProtocolError
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SAMPLE_CHANNELS
from bandlog.devices.gdx_records import SensorInfo
from bandlog.devices.gdx_stream import RAD_S_TO_DPS

log = logging.getLogger(__name__)

_AXIS = re.compile(r"^\s*([xyz])[- ]axis\s+(acceleration|gyro)", re.IGNORECASE)
_ACC_UNITS = {"m/s²", "m/s^2", "m/s2"}
_GYRO_SCALES = {"rad/s": RAD_S_TO_DPS, "°/s": 1.0, "deg/s": 1.0}


def classify(info: SensorInfo) -> tuple[str, float] | None:
    """The bandlog channel a sensor record measures and the factor to bandlog units, or None."""
    units = info.units.strip()
    if "force" in info.description.lower() and units == "N":
        return FORCE_CHANNEL, 1.0
    match = _AXIS.match(info.description)
    if match is None:
        return None
    axis = "xyz".index(match.group(1).lower())
    if match.group(2).lower() == "acceleration" and units in _ACC_UNITS:
        return ACC_CHANNELS[axis], 1.0
    if match.group(2).lower() == "gyro" and units in _GYRO_SCALES:
        return GYRO_CHANNELS[axis], _GYRO_SCALES[units]
    return None


@dataclass(frozen=True)
class ChannelPlan:
    """Which sensor number feeds which bandlog channel, with unit factor and plausible range."""

    sensors: dict[str, SensorInfo] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def mask(self) -> int:
        return sum(1 << info.sensor_number for info in self.sensors.values())

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(name for name in SAMPLE_CHANNELS if name in self.sensors)


def plan_channels(records: Sequence[SensorInfo]) -> ChannelPlan:
    """Pick force, then accelerometer, then gyro channels, skipping mutually exclusive ones.

    An IMU triad is only kept whole: one missing axis drops all three.
    """
    found: dict[str, tuple[SensorInfo, float]] = {}
    for info in sorted(records, key=lambda r: r.sensor_number):
        kind = classify(info)
        if kind is not None and 0 <= info.sensor_number < 32 and kind[0] not in found:
            found[kind[0]] = (info, kind[1])
    chosen: dict[str, SensorInfo] = {}
    for name in SAMPLE_CHANNELS:
        if name not in found:
            continue
        info = found[name][0]
        clash = [
            other.sensor_number
            for other in chosen.values()
            if other.exclusion_mask >> info.sensor_number & 1 or info.exclusion_mask >> other.sensor_number & 1
        ]
        if clash:
            log.warning("GDX sensor %d (%s) cannot run with sensors %s; skipped", info.sensor_number, name, clash)
            continue
        chosen[name] = info
    for triad in (ACC_CHANNELS, GYRO_CHANNELS):
        if any(n in chosen for n in triad) and not all(n in chosen for n in triad):
            log.warning("GDX device lacks a full %s triad; not recording it", triad)
            for n in triad:
                chosen.pop(n, None)
    if not chosen:
        raise ProtocolError("the GDX device offers none of the force/acceleration/gyro channels bandlog records")
    return ChannelPlan({n: chosen[n] for n in SAMPLE_CHANNELS if n in chosen}, {n: found[n][1] for n in chosen})


def requested_period_us(rate_hz: float) -> int:
    """The period asked for by a sample rate, checked before anything is sent to the device."""
    if not math.isfinite(rate_hz) or rate_hz <= 0 or rate_hz > 1e6:
        raise ConfigError(f"sample rate must be between 0 and 1 MHz, got {rate_hz!r}")
    return round(1e6 / rate_hz)


def choose_period_us(requested_us: int, sensors: Sequence[SensorInfo]) -> int:
    """The period nearest the request that every chosen sensor accepts: never below any sensor's
    minimum, rounded up to the coarsest granularity."""
    floor_us = max(1, *(s.min_period_us for s in sensors))
    ceiling_us = max(floor_us, min(s.max_period_us for s in sensors))
    period_us = min(max(requested_us, floor_us), ceiling_us)
    granularity_us = max(s.granularity_us for s in sensors)
    if granularity_us > 1:
        period_us = -(-period_us // granularity_us) * granularity_us
    return min(period_us, 0xFFFF_FFFF)

