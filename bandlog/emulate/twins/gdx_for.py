"""Emulated Vernier GDX-FOR: answers every Go Direct command and streams 0x06/0x07 packets.

Sans-I/O and deterministic: commands arrive as <=20-byte writes, replies and measurements leave as
<=20-byte notifications (ATT MTU 23), and samples are taken from the motion source at exact sample
times. The sensor table is a constructor argument so tests can renumber channels or add mutual
exclusions and prove the profile assumes nothing. `text_after_nul` and `trailing_bytes` make it send
what Vernier's parsers tolerate (protocols.md 10): stale bytes after a text field's NUL, and bytes
after a measurement packet's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SAMPLE_CHANNELS, SampleBlock
from bandlog.devices.gdx_codec import (
    COMMAND_HEADER,
    Command,
    Disconnect,
    GetDefaultSensorsMask,
    GetDeviceInfo,
    GetSensorAvailableMask,
    GetSensorInfo,
    GetStatus,
    Init,
    Reply,
    SetMeasurementPeriod,
    StartMeasurements,
    StopMeasurements,
)
from bandlog.devices.gdx_for import COMMAND_UUID, RESPONSE_UUID, SERVICE_UUID
from bandlog.devices.gdx_records import DeviceInfo, DeviceStatus, SensorInfo, SensorMask
from bandlog.devices.gdx_stream import RAD_S_TO_DPS, MeasurementPacket, fragments
from bandlog.emulate.twins.base import (
    NOTIFY,
    WRITE,
    WRITE_WITHOUT_RESPONSE,
    CharSpec,
    Outgoing,
    PeripheralTwin,
    ServiceSpec,
)

log = logging.getLogger(__name__)

FORCE_RANGE_N = 50.0
"""The GDX-FOR's force range, +- this (its sensor record says so, and readings clip there)."""

STALE_TEXT = b"\xffold"
"""What `text_after_nul` leaves after a text field's NUL: not UTF-8, so only a decoder that stops at
the NUL reads the field."""
TRAILING_BYTE = 0xA5
"""What `trailing_bytes` appends after a measurement packet's rows (not zero, so it cannot pass as padding)."""

DEFAULT_NUMBERING: Mapping[str, int] = {name: i + 1 for i, name in enumerate(SAMPLE_CHANNELS)}
"""Vernier's numbering: 1 force, 2-4 acceleration X/Y/Z, 5-7 gyro X/Y/Z (protocols.md 2.10)."""


@dataclass(frozen=True)
class TwinSensor:
    """One emulated channel: the bandlog quantity it streams and the record the device reports."""

    channel: str
    info: SensorInfo

    @property
    def rad_per_s(self) -> bool:
        return self.info.units == "rad/s"


def default_sensors(numbering: Mapping[str, int] = DEFAULT_NUMBERING) -> tuple[TwinSensor, ...]:
    """Realistic 148-byte sensor records for the seven GDX-FOR channels, numbered as given."""
    acc_max = 16 * STANDARD_GRAVITY_MS2
    gyro_max = 2000.0 / RAD_S_TO_DPS
    specs: dict[str, tuple[str, str, float, float]] = {
        # The real GDX-FOR reads +-50 N (protocols.md 10, confirmed by Vernier's Scratch extension):
        # band forces beyond it clip, on the twin as on the unit (see _reading).
        FORCE_CHANNEL: ("Force", "N", FORCE_RANGE_N, 0.1),
        **{n: (f"{a}-axis acceleration", "m/s²", acc_max, 0.05) for n, a in zip(ACC_CHANNELS, "XYZ")},
        **{n: (f"{a}-axis gyro", "rad/s", gyro_max, 0.01) for n, a in zip(GYRO_CHANNELS, "XYZ")},
    }
    sensors = []
    for channel, number in sorted(numbering.items(), key=lambda item: item[1]):
        description, units, limit, uncertainty = specs[channel]
        info = SensorInfo(
            sensor_number=number,
            description=description,
            units=units,
            sensor_id=0x1B50 + SAMPLE_CHANNELS.index(channel),
            uncertainty=uncertainty,
            min_value=-limit,
            max_value=limit,
            min_period_us=1_000,
            max_period_us=100_000_000,
            typical_period_us=100_000 if channel == FORCE_CHANNEL else 10_000,
            granularity_us=1_000,
        )
        sensors.append(TwinSensor(channel, info))
    return tuple(sensors)


class GdxForTwin(PeripheralTwin):
    profile_key = "gdx-for"
    default_name = "GDX-FOR 071000U9"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        sensors: Sequence[TwinSensor] | None = None,
        wide_packets: bool = False,
        rows_per_packet: int = 3,
        battery_percent: int = 87,
        text_after_nul: bool = False,
        trailing_bytes: int = 0,
    ) -> None:
        super().__init__(motion, name=name)
        if rows_per_packet < 1:
            raise ConfigError(f"rows_per_packet must be at least 1, got {rows_per_packet}")
        if not 0 <= trailing_bytes <= 64:
            raise ConfigError(f"trailing_bytes must be 0-64, got {trailing_bytes}")
        self.sensors = tuple(sensors) if sensors is not None else default_sensors()
        self.wide_packets = wide_packets
        self.rows_per_packet = rows_per_packet
        self.battery_percent = battery_percent
        self.text_after_nul = text_after_nul
        self.trailing_bytes = trailing_bytes
        if text_after_nul:  # the stale bytes must fit the fields (raises ConfigError now, not mid-conversation)
            DeviceInfo(name=self.name[:32], text_tails=self._stale_text("name"))
            for sensor in self.sensors:
                replace(sensor.info, text_tails=self._stale_text("description", "units"))
        self.commands: list[Command] = []
        """Every command received, decoded (tests check counters and order)."""
        self._inbox = bytearray()
        self._subscribed = False
        self._streaming = False
        self._period_us = 10_000
        self._enabled: tuple[TwinSensor, ...] = ()
        self._t0_s = 0.0
        self._next_index = 0

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (
            ServiceSpec(
                SERVICE_UUID,
                (
                    CharSpec(COMMAND_UUID, frozenset({WRITE, WRITE_WITHOUT_RESPONSE})),
                    CharSpec(RESPONSE_UUID, frozenset({NOTIFY})),
                ),
            ),
        )

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return (SERVICE_UUID,)

    @property
    def streaming(self) -> bool:
        return self._streaming

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if char_uuid.lower() == RESPONSE_UUID:
            self._subscribed = enabled
        return []

    def on_disconnect(self, now_s: float) -> None:
        self._streaming = False
        self._subscribed = False
        self._inbox.clear()

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid.lower() != COMMAND_UUID:
            return []
        self._inbox += data
        if self._inbox[0] != COMMAND_HEADER:
            log.warning("GDX twin dropped %d bytes that are not a command", len(self._inbox))
            self._inbox.clear()
            return []
        if len(self._inbox) < 2 or len(self._inbox) < self._inbox[1]:
            return []
        packet, self._inbox = bytes(self._inbox[: self._inbox[1]]), self._inbox[self._inbox[1] :]
        try:
            command = Command.from_bytes(packet)
        except DecodeError as error:
            log.warning("GDX twin ignored a bad command: %s", error)
            return []
        self.commands.append(command)
        reply = Reply(command.command_id, command.counter, self._answer(command, now_s))
        return self._notify(bytes(reply))

    def _notify(self, packet: bytes) -> list[Outgoing]:
        if not self._subscribed:
            return []
        return [Outgoing(RESPONSE_UUID, chunk) for chunk in fragments(packet)]

    def _answer(self, command: Command, now_s: float) -> bytes:
        """The reply payload, as the device would compute it."""
        available = sum(1 << s.info.sensor_number for s in self.sensors)
        if isinstance(command, (Init, StopMeasurements, Disconnect)):
            self._streaming = False
            return b"\x00"
        if isinstance(command, GetStatus):
            return bytes(DeviceStatus(main_fw_major=1, main_fw_minor=6, main_fw_build=38, ble_fw_major=2,
                                      ble_fw_minor=3, ble_fw_build=5, battery_percent=self.battery_percent))
        if isinstance(command, GetDeviceInfo):
            order_code, _, serial = self.name.partition(" ")
            return bytes(DeviceInfo(order_code=order_code[:16], serial=serial[:16], name=self.name[:32],
                                    manufacturer_id=0x08F7, mfg_year=2021, mfg_month=3, mfg_day=14,
                                    main_fw_major=1, main_fw_minor=6, main_fw_build=38, ble_fw_major=2,
                                    ble_fw_minor=3, ble_fw_build=5, ble_address=bytes.fromhex("c9e8a1b2c3d4"),
                                    nv_memory_size=4096, description="Go Direct Force and Acceleration",
                                    text_tails=self._stale_text("name")))
        if isinstance(command, GetSensorAvailableMask):
            return bytes(SensorMask(available))
        if isinstance(command, GetDefaultSensorsMask):
            force = [s for s in self.sensors if s.channel == FORCE_CHANNEL]
            return bytes(SensorMask(1 << force[0].info.sensor_number if force else 0))
        if isinstance(command, GetSensorInfo):
            for sensor in self.sensors:
                if sensor.info.sensor_number == command.sensor_number:
                    return bytes(replace(sensor.info, text_tails=self._stale_text("description", "units")))
            return bytes(SensorInfo(sensor_number=command.sensor_number % 128, description="", units="", sensor_id=0))
        if isinstance(command, SetMeasurementPeriod):
            self._period_us = command.period_us
            return b"\x00"
        if isinstance(command, StartMeasurements):
            return self._start(command.channel_mask, now_s)
        return b"\x01"

    def _stale_text(self, *fields: str) -> tuple[tuple[str, bytes], ...]:
        return tuple((name, STALE_TEXT) for name in fields) if self.text_after_nul else ()

    def _start(self, mask: int, now_s: float) -> bytes:
        enabled = tuple(s for s in self.sensors if mask >> s.info.sensor_number & 1)
        clash = any(a.info.exclusion_mask >> b.info.sensor_number & 1 for a in enabled for b in enabled)
        enabled_mask = sum(1 << s.info.sensor_number for s in enabled)
        if not enabled or enabled_mask != mask or clash:
            log.warning("GDX twin refused START for mask 0x%x", mask)
            return b"\x01"
        if self._period_us < max(s.info.min_period_us for s in enabled):
            log.warning("GDX twin refused START: period %d us below a sensor minimum", self._period_us)
            return b"\x01"
        self._enabled = enabled
        self._streaming, self._t0_s, self._next_index = True, now_s, 0
        return b"\x00"

    def poll(self, now_s: float) -> list[Outgoing]:
        if not self._streaming:
            return []
        wide = self.wide_packets or any(s.info.sensor_number >= 16 for s in self._enabled)
        room = (255 - (11 if wide else 9) - self.trailing_bytes) // (4 * len(self._enabled))
        rows = min(self.rows_per_packet, room)
        due = round((now_s - self._t0_s) * 1e6) // self._period_us + 1
        out: list[Outgoing] = []
        while due - self._next_index >= rows:
            out += self._packet(self._next_index, rows, wide)
            self._next_index += rows
        return out

    def _packet(self, start: int, rows: int, wide: bool) -> list[Outgoing]:
        t_s = (start + np.arange(rows)) * (self._period_us * 1e-6)
        truth = self.motion.sample(t_s)
        columns: dict[str, np.ndarray] = {}
        for sensor in self._enabled:
            columns[sensor.channel] = self._reading(truth, sensor).astype(np.float32)
        values = np.stack([columns[s.channel] for s in self._enabled], axis=1)
        mask = sum(1 << s.info.sensor_number for s in self._enabled)
        # byte 2: a rolling packet counter, as the command header's byte 2 (start // rows counts packets)
        trailing = bytes([TRAILING_BYTE]) * self.trailing_bytes
        packet = MeasurementPacket(mask, values, wide=wide, reserved=bytes([start // rows % 256, 0]), trailing=trailing)
        if not self._subscribed:
            return []
        sent = {name: v.astype(np.float64) for name, v in columns.items()}
        for sensor in self._enabled:
            if sensor.rad_per_s:
                sent[sensor.channel] = sent[sensor.channel] * RAD_S_TO_DPS

        def triad(names: tuple[str, ...]) -> np.ndarray | None:
            return np.stack([sent[n] for n in names], axis=1) if all(n in sent for n in names) else None

        self.sent_samples.append(
            SampleBlock(t_s=t_s, force_n=sent.get(FORCE_CHANNEL), acc_ms2=triad(ACC_CHANNELS), gyro_dps=triad(GYRO_CHANNELS))
        )
        return self._notify(bytes(packet))

    @staticmethod
    def _reading(truth: SampleBlock, sensor: TwinSensor) -> np.ndarray:
        """What the sensor measures at those times, in its own units; force clips at the range its record states."""
        n = len(truth)
        if sensor.channel == FORCE_CHANNEL:
            force_n = truth.force_n if truth.force_n is not None else np.zeros(n)
            low, high = sensor.info.min_value, sensor.info.max_value
            return np.clip(force_n, low, high) if low < high else force_n
        if sensor.channel in ACC_CHANNELS:
            acc = truth.acc_ms2 if truth.acc_ms2 is not None else np.zeros((n, 3))
            return acc[:, ACC_CHANNELS.index(sensor.channel)]
        gyro = truth.gyro_dps if truth.gyro_dps is not None else np.zeros((n, 3))
        dps = gyro[:, GYRO_CHANNELS.index(sensor.channel)]
        return dps / RAD_S_TO_DPS if sensor.rad_per_s else dps


TWIN = GdxForTwin
