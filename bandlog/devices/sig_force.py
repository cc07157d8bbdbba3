"""Any force gauge exposing the Bluetooth SIG Force characteristic (0x2C07): sint32 in 1 mN.

0x7FFFFFFF means "value is not known" (e.g. overload); such notifications are skipped, not decoded
as a force, and reported once per unknown stretch. The characteristic has no timestamp and the SIG
defines no rate, so t_s is the HOST ARRIVAL time since the first notification: it carries the BLE
connection-interval jitter and batching, and the stream's sample rate is not known up front.

The service is assumed to be the Industrial Measurement Device Service (0x185A) [INFERRED: the SIG
pages link 0x2C07 with IMDS, but no product was found]; devices are matched by that service UUID.
Facts and sources: /work/shared/protocols.md section 6; firmware_notes/sig_force.md.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import GattLink, Notification
from bandlog.core.samples import FORCE_CHANNEL, SampleBlock, StreamInfo
from bandlog.devices.base import DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder

log = logging.getLogger(__name__)

SERVICE_UUID = "0000185a-0000-1000-8000-00805f9b34fb"  # Industrial Measurement Device Service [INFERRED]
FORCE_UUID = "00002c07-0000-1000-8000-00805f9b34fb"
UNKNOWN_RAW = 0x7FFFFFFF
N_PER_LSB = 0.001

_SINT32 = struct.Struct("<i")


@dataclass(frozen=True)
class ForceReading:
    """One Force characteristic value; millinewtons None means the device said "unknown"."""

    millinewtons: int | None

    def __post_init__(self) -> None:
        if self.millinewtons is not None and not -(2**31) <= self.millinewtons < UNKNOWN_RAW:
            raise ConfigError(f"force must be a sint32 other than 0x7FFFFFFF (unknown), got {self.millinewtons!r} mN")

    @classmethod
    def from_bytes(cls, data: bytes) -> ForceReading:
        if len(data) != _SINT32.size:
            raise DecodeError(f"SIG Force value must be {_SINT32.size} bytes, got {len(data)}", data)
        (raw,) = _SINT32.unpack(data)
        return cls(None if raw == UNKNOWN_RAW else raw)

    def __bytes__(self) -> bytes:
        return _SINT32.pack(UNKNOWN_RAW if self.millinewtons is None else self.millinewtons)

    @property
    def force_n(self) -> float | None:
        return None if self.millinewtons is None else self.millinewtons * N_PER_LSB


class SigForceDecoder(StreamDecoder):
    """Force notifications -> one-sample blocks timed by arrival since the first notification."""

    def __init__(self) -> None:
        self._first_host_s: float | None = None
        self._unknown = False

    def feed(self, notification: Notification) -> DecodeOutput:
        if notification.char_uuid.lower() != FORCE_UUID:
            return DecodeOutput()
        reading = ForceReading.from_bytes(notification.payload)
        if self._first_host_s is None:
            self._first_host_s = notification.t_host_s
        out = DecodeOutput()
        if reading.force_n is None:
            if not self._unknown:
                out.notices.append(DeviceNotice("force_unknown", "the gauge reports its force as unknown (overload?)"))
            self._unknown = True
            return out
        if self._unknown:
            out.notices.append(DeviceNotice("force_known", "the gauge reports force values again"))
            self._unknown = False
        out.blocks.append(
            SampleBlock(
                t_s=np.array([notification.t_host_s - self._first_host_s]),
                force_n=np.array([reading.force_n]),
                t_host_s=np.array([notification.t_host_s]),
            )
        )
        return out


class SigForceProfile(DeviceProfile):
    host_timed: ClassVar[bool] = True
    key: ClassVar[str] = "sig-force"
    model: ClassVar[str] = "Force gauge with the Bluetooth SIG Force characteristic (0x2C07)"
    service_uuid: ClassVar[str] = SERVICE_UUID
    name_prefixes: ClassVar[tuple[str, ...]] = ()
    measures_force: ClassVar[bool] = True
    measures_imu: ClassVar[bool] = False

    async def start(self, link: GattLink) -> StreamInfo:
        if self.options.sample_rate_hz is not None:
            log.warning("a SIG Force gauge sets its own rate; ignoring the requested %g Hz", self.options.sample_rate_hz)
        await link.subscribe(FORCE_UUID)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            sample_rate_hz=None,
            channels=(FORCE_CHANNEL,),
            extra={"time_base": "host arrival time (the characteristic has no timestamp)", "service": "0x185A (inferred)"},
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return SigForceDecoder()

    async def stop(self, link: GattLink) -> None:
        # No standard start/stop command exists; values flow while notifications are enabled.
        log.debug("SIG Force has no stop command; notifications continue until disconnect")


PROFILE = SigForceProfile
