"""Nordic Thingy:52 motion service: raw accel/gyro (+compass) notifications at a configurable rate.

The raw characteristic (0406) carries no timestamp, so t_s is rebuilt from the sample index and the
motion processing frequency we set in the configuration characteristic (0401). The firmware stores
every configuration write in flash, so stop() writes the configuration it found back.

Scales follow the firmware's fixed-point packing (m_motion.c): accel Q6.10 (/1024 g), gyro Q11.5
(/32 deg/s), compass Q12.4 (/16 uT). NB: the aiothingy library divides gyro by 256, which is wrong
for this firmware. Facts and sources: /work/shared/protocols.md section 5; firmware_notes/thingy52.md.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import ACC_CHANNELS, GYRO_CHANNELS, SampleBlock, StreamInfo
from bandlog.devices.base import DecodeOutput, DeviceProfile, StreamDecoder, StreamOptions

log = logging.getLogger(__name__)


def thingy_uuid(short: int) -> str:
    """A Thingy:52 UUID from its 16-bit part (base EF68xxxx-9B35-4933-9B10-52FFA9740042)."""
    return f"ef68{short:04x}-9b35-4933-9b10-52ffa9740042"


MOTION_SERVICE_UUID = thingy_uuid(0x0400)
CONFIG_UUID = thingy_uuid(0x0401)
RAW_UUID = thingy_uuid(0x0406)
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"

ACC_G_PER_LSB = 1.0 / 1024.0
GYRO_DPS_PER_LSB = 1.0 / 32.0  # aiothingy uses 1/256: wrong for Nordic's Q11.5 packing
COMPASS_UT_PER_LSB = 1.0 / 16.0

# Limits firmware v2+ enforces on configuration writes (ble_tms.c's write authorisation rejects
# anything else; protocols.md 5.2 and 10: older notes allowing a 5000 ms compass interval or 1 Hz are wrong).
PEDO_INTERVAL_MS = (100, 5000)
TEMP_INTERVAL_MS = (100, 5000)
COMPASS_INTERVAL_MS = (100, 1000)
MOTION_FREQ_HZ = (5, 200)
DEFAULT_CONFIG_FIELDS = (1000, 500, 500, 10, 1)
PREFERRED_RATE_HZ = 100

_CONFIG = struct.Struct("<HHHHB")
_RAW = struct.Struct("<9h")


@dataclass(frozen=True)
class MotionConfig:
    """The 9-byte motion configuration characteristic (0401)."""

    pedo_interval_ms: int = DEFAULT_CONFIG_FIELDS[0]
    temp_interval_ms: int = DEFAULT_CONFIG_FIELDS[1]
    compass_interval_ms: int = DEFAULT_CONFIG_FIELDS[2]
    motion_freq_hz: int = DEFAULT_CONFIG_FIELDS[3]
    wake_on_motion: int = DEFAULT_CONFIG_FIELDS[4]

    def __post_init__(self) -> None:
        checks = (
            ("pedo_interval_ms", self.pedo_interval_ms, PEDO_INTERVAL_MS),
            ("temp_interval_ms", self.temp_interval_ms, TEMP_INTERVAL_MS),
            ("compass_interval_ms", self.compass_interval_ms, COMPASS_INTERVAL_MS),
            ("motion_freq_hz", self.motion_freq_hz, MOTION_FREQ_HZ),
            ("wake_on_motion", self.wake_on_motion, (0, 1)),
        )
        for name, value, (low, high) in checks:
            if not (isinstance(value, int) and low <= value <= high):
                raise ConfigError(f"Thingy {name} must be an integer in {low}..{high}, got {value!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> MotionConfig:
        if len(data) != _CONFIG.size:
            raise DecodeError(f"Thingy motion configuration must be {_CONFIG.size} bytes, got {len(data)}", data)
        try:
            return cls(*_CONFIG.unpack(data))
        except ConfigError as error:
            raise DecodeError(str(error), data) from error

    def __bytes__(self) -> bytes:
        return _CONFIG.pack(
            self.pedo_interval_ms, self.temp_interval_ms, self.compass_interval_ms, self.motion_freq_hz, self.wake_on_motion
        )


@dataclass(frozen=True)
class RawMotion:
    """One raw-data notification (0406): int16 accel, gyro and compass, x/y/z each."""

    acc_raw: tuple[int, int, int]
    gyro_raw: tuple[int, int, int]
    compass_raw: tuple[int, int, int]

    def __post_init__(self) -> None:
        for name in ("acc_raw", "gyro_raw", "compass_raw"):
            values = getattr(self, name)
            if len(values) != 3 or any(not -32768 <= v <= 32767 for v in values):
                raise ConfigError(f"{name} must be 3 int16 values, got {values!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> RawMotion:
        if len(data) != _RAW.size:
            raise DecodeError(f"Thingy raw motion data must be {_RAW.size} bytes, got {len(data)}", data)
        v = _RAW.unpack(data)
        return cls(acc_raw=v[0:3], gyro_raw=v[3:6], compass_raw=v[6:9])

    def __bytes__(self) -> bytes:
        return _RAW.pack(*self.acc_raw, *self.gyro_raw, *self.compass_raw)

    @property
    def acc_ms2(self) -> np.ndarray:
        return np.asarray(self.acc_raw, dtype=np.float64) * (ACC_G_PER_LSB * STANDARD_GRAVITY_MS2)

    @property
    def gyro_dps(self) -> np.ndarray:
        return np.asarray(self.gyro_raw, dtype=np.float64) * GYRO_DPS_PER_LSB

    @property
    def compass_ut(self) -> np.ndarray:
        return np.asarray(self.compass_raw, dtype=np.float64) * COMPASS_UT_PER_LSB


class ThingyDecoder(StreamDecoder):
    """Raw-data notifications -> one-sample SampleBlocks timed by index / rate_hz."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._index = 0

    def feed(self, notification: Notification) -> DecodeOutput:
        if notification.char_uuid.lower() != RAW_UUID:
            return DecodeOutput()
        try:
            raw = RawMotion.from_bytes(notification.payload)
        except DecodeError:
            self._index += 1  # one notification is one sample: later ones keep their time
            raise
        block = SampleBlock(
            t_s=np.array([self._index / self.rate_hz]),
            acc_ms2=raw.acc_ms2[np.newaxis, :],
            gyro_dps=raw.gyro_dps[np.newaxis, :],
            t_host_s=np.array([notification.t_host_s]),
        )
        self._index += 1
        return DecodeOutput(blocks=[block])


class Thingy52Profile(DeviceProfile):
    key: ClassVar[str] = "thingy52"
    model: ClassVar[str] = "Nordic Thingy:52 (motion service, raw data)"
    service_uuid: ClassVar[str] = MOTION_SERVICE_UUID
    name_prefixes: ClassVar[tuple[str, ...]] = ("Thingy",)
    measures_force: ClassVar[bool] = False
    measures_imu: ClassVar[bool] = True
    index_timed: ClassVar[bool] = True

    def __init__(self, options: StreamOptions | None = None) -> None:
        super().__init__(options)
        self._config_to_restore: MotionConfig | None = None

    def requested_rate_hz(self) -> int:
        """The whole-Hz motion frequency to ask for, clamped to the firmware's 5..200 Hz."""
        wanted = self.options.sample_rate_hz or PREFERRED_RATE_HZ
        low, high = MOTION_FREQ_HZ
        return int(min(max(round(wanted), low), high))

    async def start(self, link: GattLink) -> StreamInfo:
        found = MotionConfig.from_bytes(await link.read(CONFIG_UUID))
        wanted = replace(found, motion_freq_hz=self.requested_rate_hz())
        if wanted != found:
            await _configure(link, wanted)
            self._config_to_restore = found
        battery_percent = await _read_battery_percent(link)
        await link.subscribe(RAW_UUID)
        log.info("Thingy:52 raw motion at %d Hz (was %d Hz)", wanted.motion_freq_hz, found.motion_freq_hz)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            sample_rate_hz=float(wanted.motion_freq_hz),
            channels=(*ACC_CHANNELS, *GYRO_CHANNELS),
            battery_percent=battery_percent,
            extra={"time_base": "sample index / motion frequency (no device timestamps)", "found_motion_freq_hz": str(found.motion_freq_hz)},
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return ThingyDecoder(info.sample_rate_hz or float(DEFAULT_CONFIG_FIELDS[3]))

    async def stop(self, link: GattLink) -> None:
        # Raw notifications stop only when unsubscribed or disconnected; what we can undo is our
        # configuration change, which the firmware persisted to flash.
        if self._config_to_restore is not None:
            await link.write(CONFIG_UUID, bytes(self._config_to_restore), response=True)
            self._config_to_restore = None


async def _configure(link: GattLink, wanted: MotionConfig) -> None:
    """Write the configuration and read it back: a unit that refused it (an error, or a write that
    left the old one) would otherwise stream at a rate other than the one its samples are timed by."""
    refused = (f"the Thingy:52 refused the motion configuration (motion {wanted.motion_freq_hz} Hz, compass "
               f"{wanted.compass_interval_ms} ms; firmware v2 accepts {MOTION_FREQ_HZ[0]}-{MOTION_FREQ_HZ[1]} Hz and "
               f"{COMPASS_INTERVAL_MS[0]}-{COMPASS_INTERVAL_MS[1]} ms)")
    try:
        await link.write(CONFIG_UUID, bytes(wanted), response=True)
        kept = await link.read(CONFIG_UUID)
    except ProtocolError as error:
        raise ProtocolError(f"{refused}: {error}") from error
    if kept != bytes(wanted):
        raise ProtocolError(f"{refused}: it kept {kept.hex(' ')}; try another --rate, or update its firmware")


async def _read_battery_percent(link: GattLink) -> float | None:
    """The standard Battery Level, or None when the link cannot read it."""
    try:
        level = await link.read(BATTERY_LEVEL_UUID)
    except ProtocolError as error:
        log.info("no battery level: %s", error)
        return None
    return float(level[0]) if len(level) == 1 and level[0] <= 100 else None


PROFILE = Thingy52Profile
