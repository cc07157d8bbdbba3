"""Vernier Go Direct Force and Acceleration (GDX-FOR): the profile and its protocol conversation.

The conversation follows Vernier's own session sequence (protocols.md 2.9): commands out, replies
matched by id and counter, the sensor-info records read, then the chosen channels started. Which
channels and period to ask for is decided in gdx_channels.py; the stream it starts is decoded by
gdx_decoder.py; the bytes themselves are gdx_codec.py, gdx_records.py and gdx_stream.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import GattLink
from bandlog.core.samples import FORCE_CHANNEL, StreamInfo, force_range_extra
from bandlog.devices.base import DeviceProfile, StreamDecoder, StreamOptions
from bandlog.devices.gdx_channels import ChannelPlan, choose_period_us, plan_channels, requested_period_us
from bandlog.devices.gdx_codec import COMMAND_UUID as COMMAND_UUID  # re-exported: the profile's GATT layout
from bandlog.devices.gdx_codec import RESPONSE_UUID as RESPONSE_UUID
from bandlog.devices.gdx_codec import SERVICE_UUID as SERVICE_UUID
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
from bandlog.devices.gdx_decoder import GdxDecoder
from bandlog.devices.gdx_records import DeviceInfo, DeviceStatus, SensorInfo, SensorMask
from bandlog.devices.gdx_stream import Reassembler, decode_packet, fragments

log = logging.getLogger(__name__)

_Record = TypeVar("_Record", DeviceStatus, DeviceInfo, SensorInfo, SensorMask)

DEFAULT_RATE_HZ = 100.0
REPLY_TIMEOUT_S = 5.0
"""godirect-js waits 5 s for each reply."""


def _force_range(plan: ChannelPlan) -> dict[str, str]:
    """The force channel's range as its sensor record states it (where readings clip), for the log's metadata."""
    force = plan.sensors.get(FORCE_CHANNEL)
    if force is None or not force.min_value < force.max_value:
        return {}
    scale = plan.scales.get(FORCE_CHANNEL, 1.0)
    return force_range_extra(force.min_value * scale, force.max_value * scale)


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
        self._trimmed_replies = 0
        """Replies read while ignoring bytes (after a record, after a text field's NUL); the decoder reports them."""

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

    def _record(self, reply: Reply, kind: type[_Record], size: int, label: str) -> _Record:
        """Decode a reply payload; bytes after the record (newer firmware) or after a text field's
        NUL are ignored, as Vernier's parsers do, and counted."""
        try:
            record = kind.from_bytes(reply.payload[:size])
        except DecodeError as error:
            raise ProtocolError(f"GDX device sent a malformed {label} reply: {error}") from error
        tails = getattr(record, "text_tails", ())
        if len(reply.payload) > size or tails:
            self._trimmed_replies += 1
            log.info("GDX %s reply: ignored %d byte(s) after the record and text after a NUL in %s",
                     label, max(0, len(reply.payload) - size), [name for name, _ in tails] or "no field")
        return record

    async def start(self, link: GattLink) -> StreamInfo:
        requested_us = requested_period_us(self.options.sample_rate_hz or DEFAULT_RATE_HZ)
        await link.subscribe(RESPONSE_UUID)
        self._replies = Reassembler()
        self._counter = 0xFF  # INIT resets the rolling counter, so INIT itself carries 0xFE
        self._trimmed_replies = 0
        await self._command(link, Init)
        status = self._record(await self._command(link, GetStatus), DeviceStatus, 12, "GET_STATUS")
        info = self._record(await self._command(link, GetDeviceInfo), DeviceInfo, 152, "GET_DEVICE_INFO")
        available = self._record(await self._command(link, GetSensorAvailableMask), SensorMask, 4, "sensor mask")
        records: list[SensorInfo] = []
        for number in available.sensor_numbers:
            reply = await self._command(link, partial(GetSensorInfo, sensor_number=number))
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
                **_force_range(plan),
            },
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        if self._plan is None or self._period_us is None:
            raise ConfigError("GdxForProfile.new_decoder() needs a successful start() first")
        return GdxDecoder(self._plan, self._period_us * 1e-6, self._trimmed_replies)

    async def stop(self, link: GattLink) -> None:
        self._replies = Reassembler()
        reply = await self._command(link, StopMeasurements)
        if reply.payload[:1] not in (b"", b"\x00"):
            log.warning("GDX device reported status %d on STOP", reply.payload[0])


PROFILE = GdxForProfile
