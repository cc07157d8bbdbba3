"""Vernier Go Direct Force and Acceleration (GDX-FOR): the protocol conversation and the stream decoder.

The conversation follows Vernier's own session sequence (protocols.md 2.9). Channels are found at
run time from the sensor-info records by description and units, never by assumed numbers, because
the GDX channel list is partly inferred (2.10) and differs between Go Direct models.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

import numpy as np

from bandlog.devices.base import DecodeOutput, DeviceProfile, StreamDecoder, StreamOptions
from bandlog.devices.gdx_codec import (
    Command,
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
    next_counter,
)
from bandlog.devices.gdx_records import DeviceInfo, DeviceStatus, SensorInfo, SensorMask
from bandlog.devices.gdx_stream import RAD_S_TO_DPS, MeasurementPacket, Reassembler, decode_packet, fragments
from bandlog.errors import ConfigError, DecodeError, ProtocolError
from bandlog.link import GattLink, Notification
from bandlog.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SAMPLE_CHANNELS, SampleBlock, StreamInfo

log = logging.getLogger(__name__)

_Record = TypeVar("_Record", DeviceStatus, DeviceInfo, SensorInfo, SensorMask)

SERVICE_UUID = "d91714ef-28b9-4f91-ba16-f0d9a604f112"
COMMAND_UUID = "f4bf14a6-c7d5-4b6d-8aa8-df1a7c83adcb"
RESPONSE_UUID = "b41e6675-a329-40e0-aa01-44d2f444babe"
DEFAULT_RATE_HZ = 100.0
REPLY_TIMEOUT_S = 5.0
"""godirect-js waits 5 s for each reply."""

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


class GdxDecoder(StreamDecoder):
    """Measurement packets -> SampleBlocks; t_s = sample index x period, since GDX sends no clock."""

    def __init__(self, plan: ChannelPlan, period_s: float) -> None:
        self._plan = plan
        self._period_s = period_s
        self._index = 0
        self._reassembler = Reassembler()
        self._pending = DecodeOutput()
        names = plan.channel_names
        infos = [plan.sensors[n] for n in names]
        spans = [max(i.max_value - i.min_value, 0.0) for i in infos]
        # Values beyond the sensor's range by more than its span are corruption, not physics.
        self._low = np.array([i.min_value - s if s > 0 else -np.inf for i, s in zip(infos, spans)])
        self._high = np.array([i.max_value + s if s > 0 else np.inf for i, s in zip(infos, spans)])
        self._scales = np.array([plan.scales[n] for n in names])
        self._columns: dict[int, np.ndarray] = {}
        """Packet column of each planned channel, per channel mask seen."""

    def feed(self, notification: Notification) -> DecodeOutput:
        out, self._pending = self._pending, DecodeOutput()
        if notification.char_uuid.lower() != RESPONSE_UUID:
            return out
        try:
            packets = self._reassembler.feed(notification.payload)
        except DecodeError:
            self._index += self._reassembler.take_lost_rows()
            self._pending = out
            raise
        errors: list[DecodeError] = []
        for raw in packets:
            try:
                packet = decode_packet(raw)
            except DecodeError as error:
                errors.append(error)
                continue
            if not isinstance(packet, MeasurementPacket):
                log.debug("ignoring %s in the GDX stream", type(packet).__name__)
                continue
            try:
                out.blocks.append(self._block(packet, notification.t_host_s, raw))
            except DecodeError as error:
                self._index += packet.rows  # the rows were sampled; keep later ones on time
                errors.append(error)
        if errors:
            self._pending = out
            raise errors[0]
        return out

    def _column_indices(self, packet: MeasurementPacket, raw: bytes) -> np.ndarray:
        columns = self._columns.get(packet.channel_mask)
        if columns is None:
            numbers = packet.sensor_numbers
            missing = [n for n, i in self._plan.sensors.items() if i.sensor_number not in numbers]
            if missing:
                raise DecodeError(f"measurement packet lacks {', '.join(missing)}", raw)
            columns = np.array([numbers.index(self._plan.sensors[n].sensor_number) for n in self._plan.channel_names])
            self._columns[packet.channel_mask] = columns
        return columns

    def _block(self, packet: MeasurementPacket, t_host_s: float, raw: bytes) -> SampleBlock:
        values = packet.values[:, self._column_indices(packet, raw)].astype(np.float64)
        if not (np.isfinite(values).all() and (values >= self._low).all() and (values <= self._high).all()):
            raise DecodeError(f"implausible values {values.tolist()} for {self._plan.channel_names}", raw)
        values *= self._scales
        columns = dict(zip(self._plan.channel_names, values.T))
        rows = packet.rows
        t_s = (self._index + np.arange(rows)) * self._period_s
        self._index += rows

        def triad(names: tuple[str, ...]) -> np.ndarray | None:
            return values[:, [self._plan.channel_names.index(n) for n in names]] if names[0] in columns else None

        return SampleBlock(
            t_s=t_s,
            force_n=columns.get(FORCE_CHANNEL),
            acc_ms2=triad(ACC_CHANNELS),
            gyro_dps=triad(GYRO_CHANNELS),
            t_host_s=np.full(rows, t_host_s),
        )


class GdxForProfile(DeviceProfile):
    key = "gdx-for"
    model = "Vernier Go Direct Force and Acceleration (GDX-FOR)"
    service_uuid = SERVICE_UUID
    name_prefixes = ("GDX",)
    measures_force = True
    measures_imu = True

    def __init__(self, options: StreamOptions | None = None, *, reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        super().__init__(options)
        self.reply_timeout_s = reply_timeout_s
        self._counter = 0xFF
        self._replies = Reassembler()
        self._plan: ChannelPlan | None = None
        self._period_us: int | None = None

    async def _command(self, link: GattLink, build: Callable[[int], Command]) -> Reply:
        """Write one command in <=20-byte chunks and wait for the reply echoing its id and counter."""
        self._counter = next_counter(self._counter)
        command = build(self._counter)
        for chunk in fragments(bytes(command)):
            await link.write(COMMAND_UUID, chunk, response=False)
        first_t_s: float | None = None
        while True:
            notification = await link.next_notification(self.reply_timeout_s)
            if first_t_s is None:
                first_t_s = notification.t_host_s
            elif notification.t_host_s - first_t_s > self.reply_timeout_s:
                raise ProtocolError(f"GDX device did not answer {command.label} within {self.reply_timeout_s} s")
            if notification.char_uuid.lower() != RESPONSE_UUID:
                continue
            try:
                packets = self._replies.feed(notification.payload)
            except DecodeError as error:
                log.debug("while waiting for %s: %s", command.label, error)
                continue
            for raw in packets:
                try:
                    packet = decode_packet(raw)
                except DecodeError as error:
                    log.debug("while waiting for %s: %s", command.label, error)
                    continue
                if isinstance(packet, Reply) and (packet.command_id, packet.counter) == (
                    command.command_id,
                    command.counter,
                ):
                    return packet

    @staticmethod
    def _record(reply: Reply, kind: type[_Record], size: int, label: str) -> _Record:
        """Decode a reply payload; extra trailing bytes (newer firmware) are ignored."""
        try:
            return kind.from_bytes(reply.payload[:size])
        except DecodeError as error:
            raise ProtocolError(f"GDX device sent a malformed {label} reply: {error}") from error

    async def start(self, link: GattLink) -> StreamInfo:
        requested_us = requested_period_us(self.options.sample_rate_hz or DEFAULT_RATE_HZ)
        await link.subscribe(RESPONSE_UUID)
        self._replies = Reassembler()
        self._counter = 0xFF  # INIT resets the rolling counter, so INIT itself carries 0xFE
        await self._command(link, Init)
        status = self._record(await self._command(link, GetStatus), DeviceStatus, 12, "GET_STATUS")
        info = self._record(await self._command(link, GetDeviceInfo), DeviceInfo, 152, "GET_DEVICE_INFO")
        available = self._record(await self._command(link, GetSensorAvailableMask), SensorMask, 4, "sensor mask")
        records: list[SensorInfo] = []
        for number in available.sensor_numbers:
            reply = await self._command(link, lambda c, n=number: GetSensorInfo(c, n))
            record = self._record(reply, SensorInfo, 148, f"sensor {number} info")
            if record.sensor_id == 0:
                log.info("GDX sensor %d reports id 0; ignored as Vernier's library does", number)
                continue
            records.append(record)
        default = self._record(await self._command(link, GetDefaultSensorsMask), SensorMask, 4, "default mask")
        plan = plan_channels(records)
        period_us = choose_period_us(requested_us, list(plan.sensors.values()))
        await self._command(link, lambda c: SetMeasurementPeriod(c, period_us))
        started = await self._command(link, lambda c: StartMeasurements(c, plan.mask))
        if started.payload[:1] not in (b"", b"\x00"):
            raise ProtocolError(f"GDX device refused to start channels {plan.channel_names} (status {started.payload[0]})")
        self._plan, self._period_us = plan, period_us
        log.info("GDX streaming %s at %d us", plan.channel_names, period_us)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            name=info.name or f"{info.order_code} {info.serial}".strip(),
            firmware=status.main_firmware,
            sample_rate_hz=1e6 / period_us,
            channels=plan.channel_names,
            battery_percent=float(status.battery_percent),
            extra={
                "serial": info.serial,
                "order_code": info.order_code,
                "ble_firmware": status.ble_firmware,
                "ble_address": info.address,
                "period_us": str(period_us),
                "sensors": ",".join(f"{n}={s.sensor_number}" for n, s in plan.sensors.items()),
                "default_sensor_mask": f"0x{default.mask:08x}",
            },
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        if self._plan is None or self._period_us is None:
            raise ConfigError("GdxForProfile.new_decoder() needs a successful start() first")
        return GdxDecoder(self._plan, self._period_us * 1e-6)

    async def stop(self, link: GattLink) -> None:
        self._replies = Reassembler()
        reply = await self._command(link, StopMeasurements)
        if reply.payload[:1] not in (b"", b"\x00"):
            log.warning("GDX device reported status %d on STOP", reply.payload[0])


PROFILE = GdxForProfile
