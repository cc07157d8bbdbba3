"""Vernier Go Direct Force and Acceleration (GDX-FOR): the protocol conversation and the stream decoder.

The conversation follows Vernier's own session sequence (protocols.md 2.9). Channels are found at
run time from the sensor-info records by description and units, never by assumed numbers, because
the GDX channel list is partly inferred (2.10) and differs between Go Direct models.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SAMPLE_CHANNELS, SampleBlock, StreamInfo
from bandlog.devices.base import DROPPED_PACKETS, DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder, StreamOptions
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


COUNTER_MODULO = 256
STALE = -1
COUNTER_TRUST_STEPS = 2
"""Byte 2 of a measurement packet is read as a rolling packet counter only once it has stepped by
exactly one, always the same way, this many times: the byte is undocumented (protocols.md 2.7), and
a device that leaves it constant (or fills it otherwise) is decoded as before."""
LEARN_PACKETS = 8
"""The first packets of a stream are held (at most this many) until byte 2 is judged, so that a
packet lost right after the start is dated by the counter too."""


@dataclass(frozen=True)
class _Received:
    """A measurement packet as it came out of reassembly, with what was abandoned just before it."""

    packet: MeasurementPacket
    values: np.ndarray | None
    """Scaled values of the finite rows; None when the packet could not be decoded."""
    finite: np.ndarray | None
    t_host_s: float
    abandoned: tuple[int, int]
    """(packets, rows) the reassembler abandoned since the previous packet."""
    clean: bool
    """No reassembly trouble since the previous packet."""


def judge_counter(counters: Sequence[int]) -> int | None:
    """+1 or -1 when these byte-2 values step as a rolling counter, 0 when they cannot be one,
    None while undecided (every step forward the same way, but fewer exact steps than needed)."""
    steps = [(b - a) % COUNTER_MODULO for a, b in zip(counters, counters[1:])]
    half = COUNTER_MODULO // 2
    if any(step in (0, half) for step in steps):
        return 0
    signs = {1 if step < half else -1 for step in steps}
    if len(signs) > 1:
        return 0
    if not signs:
        return None
    sign = signs.pop()
    exact = sum(1 for step in steps if step * sign % COUNTER_MODULO == 1)
    return sign if exact >= COUNTER_TRUST_STEPS else None


class GdxDecoder(StreamDecoder):
    """Measurement packets -> SampleBlocks; t_s = sample index x period, since GDX sends no clock.

    A lost packet would shift every later sample by its rows, so losses are counted: by the rolling
    packet counter in byte 2 when it behaves as one (every lost packet, whether no fragment of it
    arrived or only some), otherwise by the rows of packets the reassembler had to abandon. The
    lost rows advance the sample index, and a DROPPED_PACKETS notice reports them. Rows with a
    NaN or infinite value are skipped and counted; the packet's other rows are kept. The first
    packets wait (a few tens of ms) until byte 2 is judged.
    """

    counts_lost = True

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
        self._held: list[_Received] | None = []
        """The stream's first packets while byte 2 is judged; None once it is."""
        self._last_counter: int | None = None
        self._counter_sign = 0
        """+1 or -1 while byte 2 is trusted as a rolling counter; 0 otherwise."""
        self._steps_seen = (0, 0)
        """(sign, clean steps of one in that direction in a row) while learning later in the stream."""
        self._suspect: int | None = None
        """Counter of a packet skipped as stale, in case the next one continues from it."""
        self._last_rows = 0
        self._troubled = False
        """The reassembler abandoned something since the last measurement packet."""

    def feed(self, notification: Notification) -> DecodeOutput:
        out, self._pending = self._pending, DecodeOutput()
        if notification.char_uuid.lower() != RESPONSE_UUID:
            return out
        try:
            packets = self._reassembler.feed(notification.payload)
        except DecodeError as error:
            self._troubled = True
            if not self._reassembler.only_losses:
                self._pending = out
                raise
            # a lost fragment, not damage: its packet is counted as dropped when the next is placed
            log.debug("%s", error)
            packets = self._reassembler.feed(b"")
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
                values, finite = self._values(packet, raw, out)
            except DecodeError as error:
                errors.append(error)  # its rows were sampled all the same: placed, not output
                values = finite = None
            received = _Received(packet, values, finite, notification.t_host_s, self._reassembler.take_lost(), not self._troubled)
            self._troubled = False
            for ready in self._release(received):
                self._place(ready, out)
        if errors:
            self._pending = out
            raise errors[0]
        return out

    def flush(self) -> DecodeOutput:
        """The link ended: the packets held while byte 2 was judged are placed (losses among them
        can then only be counted by abandoned packets), and any output an error held back."""
        out, self._pending = self._pending, DecodeOutput()
        held, self._held = self._held or [], None
        for received in held:
            self._place(received, out)
        return out

    def _release(self, received: _Received) -> list[_Received]:
        """The packets that can be placed now: all once byte 2 is judged, none while it is not."""
        if self._held is None:
            return [received]
        self._held.append(received)
        sign = judge_counter([r.packet.reserved[0] for r in self._held])
        if sign is None and len(self._held) < LEARN_PACKETS:
            return []
        held, self._held = self._held, None
        self._counter_sign = sign or 0
        if self._counter_sign:
            log.info("GDX measurement packets carry a rolling counter; losses are counted by it")
        return held

    def _place(self, received: _Received, out: DecodeOutput) -> None:
        """Date a packet's rows by its true sample index (after any lost packets) and decode them."""
        packet = received.packet
        gap = self._counter_gap(packet.reserved[0], received.clean)
        if gap == STALE:
            out.skipped(packet.rows, "a GDX packet repeated an earlier packet's counter")
            return
        if gap is not None:
            lost_packets, lost_rows = gap, gap * (self._last_rows or packet.rows)
        else:
            lost_packets, lost_rows = received.abandoned
        self._last_rows = packet.rows
        if lost_rows:
            self._index += lost_rows
            message = f"{lost_packets} GDX packet(s) lost ({lost_rows} samples, {lost_rows * self._period_s:.3f} s)"
            out.notices.append(DeviceNotice(DROPPED_PACKETS, message, float(lost_packets)))
        t_s = (self._index + np.arange(packet.rows)) * self._period_s
        self._index += packet.rows
        if received.values is not None and received.finite is not None and len(received.values):
            out.blocks.append(self._block(received.values, t_s[received.finite], received.t_host_s))

    def _counter_gap(self, counter: int, clean: bool) -> int | None:
        """Packets missing before this one by the rolling counter; None while it is not trusted,
        STALE when the counter did not move forward (by less than half its range)."""
        last, self._last_counter = self._last_counter, counter
        if last is None:
            return None
        step = (counter - last) % COUNTER_MODULO
        if self._counter_sign:
            ahead = step * self._counter_sign % COUNTER_MODULO
            if ahead > COUNTER_MODULO // 2:
                # a stale packet, or the first after a very long loss: the next packet tells
                suspect, self._suspect = self._suspect, counter
                if suspect is not None and (counter - suspect) * self._counter_sign % COUNTER_MODULO == 1:
                    self._suspect = None
                    return ahead - 1
            if ahead == 0 or ahead > COUNTER_MODULO // 2:
                self._last_counter = last
                return STALE
            self._suspect = None
            return ahead - 1
        sign = {1: 1, COUNTER_MODULO - 1: -1}.get(step, 0) if clean else 0
        seen = self._steps_seen[1] + 1 if sign and sign == self._steps_seen[0] else 1 if sign else 0
        self._steps_seen = (sign, seen)
        if seen >= COUNTER_TRUST_STEPS:
            self._counter_sign = sign
            log.info("GDX measurement packets carry a rolling counter; losses are counted by it")
        return None

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

    def _values(self, packet: MeasurementPacket, raw: bytes, out: DecodeOutput) -> tuple[np.ndarray, np.ndarray]:
        """The planned channels' values in bandlog units for the finite rows, and which rows those are."""
        with np.errstate(invalid="ignore"):  # a signalling-NaN bit pattern warns when widened
            values = packet.values[:, self._column_indices(packet, raw)].astype(np.float64)
        finite = np.isfinite(values).all(axis=1)
        if not ((values[finite] >= self._low).all() and (values[finite] <= self._high).all()):
            raise DecodeError(f"implausible values {values.tolist()} for {self._plan.channel_names}", raw)
        out.skipped(int(np.count_nonzero(~finite)), "the GDX device sent a NaN or infinite value")
        return values[finite] * self._scales, finite

    def _block(self, values: np.ndarray, t_s: np.ndarray, t_host_s: float) -> SampleBlock:
        rows = len(t_s)
        columns = dict(zip(self._plan.channel_names, values.T))

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
