"""Emulated force gauge with the SIG Force characteristic (0x2C07) in an IMDS service (0x185A).

It notifies one sint32 (mN) per sample at its configured rate while notifications are on. Beyond its
range it sends 0x7FFFFFFF ("unknown"), as a gauge in overload would; those samples are not in
`sent_samples`. Its `sent_samples` t_s are the device's sample times; a decoder only sees arrival
times, so those match up to the link's delivery delay.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.motion import MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.sig_force import FORCE_UUID, N_PER_LSB, SERVICE_UUID, ForceReading
from bandlog.emulate.faults import cut_last_byte
from bandlog.emulate.twins._rate_schedule import RateSchedule
from bandlog.emulate.twins.base import NOTIFY, READ, CharSpec, Outgoing, PeripheralTwin, ServiceSpec


class SigForceTwin(PeripheralTwin):
    profile_key = "sig-force"
    default_name = "IMDS Force Gauge"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        rate_hz: float = 50.0,
        range_n: float = 500.0,
    ) -> None:
        super().__init__(motion, name=name)
        if not (rate_hz > 0 and range_n > 0):
            raise ConfigError(f"rate_hz and range_n must be positive, got {rate_hz!r}, {range_n!r}")
        self.range_n = range_n
        self._schedule = RateSchedule(rate_hz)
        self._last = ForceReading(None)

    @property
    def rate_hz(self) -> float:
        return self._schedule.rate_hz

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (ServiceSpec(SERVICE_UUID, (CharSpec(FORCE_UUID, frozenset({READ, NOTIFY})),)),)

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return (SERVICE_UUID,)

    def read(self, char_uuid: str) -> bytes:
        return bytes(self._last) if char_uuid == FORCE_UUID else super().read(char_uuid)

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        return []

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if char_uuid == FORCE_UUID:
            self._schedule.follow_subscription(enabled, now_s)
        return []

    def damage(self, payload: bytes) -> bytes:
        """Fixed-size notifications: the damage a decoder can catch is a wrong size."""
        return cut_last_byte(payload)

    def on_disconnect(self, now_s: float) -> None:
        self._schedule.stop()

    def poll(self, now_s: float) -> list[Outgoing]:
        _, t_s = self._schedule.take_due(now_s)
        if len(t_s) == 0:
            return []
        force_n = self.motion.sample(t_s).force_n
        if force_n is None:
            raise ConfigError("the SIG Force twin needs a motion source that produces force")
        readings = [
            ForceReading(int(round(f / N_PER_LSB)) if abs(f) <= self.range_n else None) for f in force_n.tolist()
        ]
        known = [i for i, r in enumerate(readings) if r.millinewtons is not None]
        if known:
            self.sent_samples.append(
                SampleBlock(t_s=t_s[known], force_n=np.array([readings[i].force_n for i in known], dtype=np.float64))
            )
        self._last = readings[-1]
        return [Outgoing(FORCE_UUID, bytes(r)) for r in readings]


TWIN = SigForceTwin
