"""Tindeq Progressor: the protocol conversation and the weight-stream decoder.

Force only, fixed ~80 Hz, device microsecond timestamps (protocols.md section 1). The unit switches
itself off after 10 minutes without measuring (protocols.md 1.1): a session keeps it measuring from
start() to stop() (start's queries pause the stream only between STOP and START, a few replies long),
and `wake_hint` tells the user what to do when it is gone. Replies carry no
opcode, so queries go one at a time and the next code-0 response is taken as the answer. The
uint32 us counter wraps after about 71.6 minutes; the decoder unwraps it so t_s stays continuous,
and skips (and counts) a sample whose timestamp the samples around it contradict. As tolerant as the
vendors' parsers (protocols.md section 10): NaN weights are skipped and a clone's frame padding is
ignored, both counted for the link status.
"""

from __future__ import annotations

import logging

import numpy as np

from bandlog.core.errors import DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import FORCE_CHANNEL, SampleBlock, StreamInfo
from bandlog.devices.base import DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder, StreamOptions
from bandlog.devices.device_clock import COUNTER_SPAN_US as COUNTER_SPAN_US
from bandlog.devices.device_clock import DeviceClock, Timed
from bandlog.devices.progressor_codec import (
    BatteryVoltage,
    CommandResponse,
    ControlCommand,
    LowPowerWarning,
    Opcode,
    TextReply,
    WeightPacket,
    decode_response,
)

log = logging.getLogger(__name__)

SERVICE_UUID = "7e4e1701-1ea6-40c9-9dcc-13d34ffead57"
DATA_UUID = "7e4e1702-1ea6-40c9-9dcc-13d34ffead57"
CONTROL_UUID = "7e4e1703-1ea6-40c9-9dcc-13d34ffead57"
SAMPLE_RATE_HZ = 80.0
"""Fixed by firmware; there is no rate command."""
REPLY_TIMEOUT_S = 3.0


class ProgressorDecoder(StreamDecoder):
    """Weight packets -> force blocks in newtons on the unwrapped device clock.

    Timestamps go through a DeviceClock, so a stale or corrupted one is skipped instead of being
    taken for a counter wrap; NaN/inf weights are missing samples (skipped, counted). Padded frames
    are counted (TRIMMED_PACKETS), with `trimmed_replies` the profile read before the stream.
    """

    def __init__(self, trimmed_replies: int = 0) -> None:
        self._clock: DeviceClock[tuple[float, float]] = DeviceClock(1.0 / SAMPLE_RATE_HZ)
        self._pending = DecodeOutput()
        self._pending.trimmed(trimmed_replies, "Progressor replies were padded past their length byte")

    def feed(self, notification: Notification) -> DecodeOutput:
        if notification.char_uuid.lower() != DATA_UUID:
            return DecodeOutput()
        packet = decode_response(notification.payload)  # a bad packet raises before the held notices are taken
        out, self._pending = self._pending, DecodeOutput()
        out.trimmed(int(bool(packet.padding)), "a Progressor frame was padded past its length byte")
        if isinstance(packet, LowPowerWarning):
            out.notices.append(DeviceNotice("low_battery", "Progressor battery low; it switches itself off soon"))
        elif isinstance(packet, WeightPacket) and len(packet):
            self._decode_weights(packet, notification.t_host_s, out)
        elif not isinstance(packet, WeightPacket):
            log.debug("ignoring %s in the Progressor stream", type(packet).__name__)
        return out

    def flush(self) -> DecodeOutput:
        out, self._pending = self._pending, DecodeOutput()
        out.skipped(self._clock.flush(), "the last Progressor timestamp had no later sample to confirm it")
        return out

    def _decode_weights(self, packet: WeightPacket, t_host_s: float, out: DecodeOutput) -> None:
        with np.errstate(invalid="ignore"):  # a signalling-NaN bit pattern warns when widened
            weight_kg = packet.weight_kg.astype(np.float64)
        finite = np.isfinite(weight_kg)
        accepted: list[Timed[tuple[float, float]]] = []
        for raw_us, kg in zip(packet.t_us[finite].tolist(), weight_kg[finite].tolist()):
            accepted += self._clock.push(raw_us, (kg, t_host_s))
        out.skipped(int(np.count_nonzero(~finite)), "the Progressor sent a NaN or infinite weight")
        out.skipped(self._clock.take_skipped(), "a Progressor timestamp disagreed with the samples around it")
        out.clock_restarted(self._clock.take_restarts(), "Progressor")
        if accepted:
            out.blocks.append(
                SampleBlock(
                    t_s=np.array([a.t_us for a in accepted], dtype=np.float64) * 1e-6,
                    force_n=np.array([a.item[0] for a in accepted]) * STANDARD_GRAVITY_MS2,
                    t_host_s=np.array([a.item[1] for a in accepted]),
                )
            )


class ProgressorProfile(DeviceProfile):
    key = "progressor"
    model = "Tindeq Progressor"
    service_uuid = SERVICE_UUID
    name_prefixes = ("Progressor",)
    measures_force = True
    measures_imu = False
    wake_hint = (
        "a Tindeq Progressor switches itself off after 10 minutes without measuring: "
        "press its button to wake it, then record again"
    )

    def __init__(self, options: StreamOptions | None = None, *, reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        super().__init__(options)
        self.reply_timeout_s = reply_timeout_s
        self._trimmed_replies = 0
        """Padded replies read by start(); the decoder reports them."""

    async def _send(self, link: GattLink, opcode: Opcode) -> None:
        await link.write(CONTROL_UUID, bytes(ControlCommand(opcode)), response=True)

    async def _query(self, link: GattLink, opcode: Opcode) -> bytes:
        """Send one query and return the payload of the next command response."""
        await self._send(link, opcode)
        first_t_s: float | None = None
        while True:
            notification = await link.next_notification(self.reply_timeout_s)
            if first_t_s is None:
                first_t_s = notification.t_host_s
            elif notification.t_host_s - first_t_s > self.reply_timeout_s:
                raise ProtocolError(f"Progressor did not answer {opcode.name} within {self.reply_timeout_s} s")
            if notification.char_uuid.lower() != DATA_UUID:
                continue
            try:
                packet = decode_response(notification.payload)
            except DecodeError as error:
                log.debug("while waiting for %s: %s", opcode.name, error)
                continue
            if isinstance(packet, CommandResponse):
                self._trimmed_replies += bool(packet.padding)
                return packet.payload

    async def start(self, link: GattLink) -> StreamInfo:
        requested = self.options.sample_rate_hz
        if requested is not None and requested != SAMPLE_RATE_HZ:
            log.info("the Progressor samples at a fixed %.0f Hz; %.1f Hz cannot be honoured", SAMPLE_RATE_HZ, requested)
        await link.subscribe(DATA_UUID)
        self._trimmed_replies = 0
        await self._send(link, Opcode.STOP_WEIGHT)  # queries are answered reliably only while stopped
        try:
            version = TextReply.from_bytes(await self._query(link, Opcode.GET_VERSION)).text
            battery_mv = BatteryVoltage.from_bytes(await self._query(link, Opcode.GET_BATTERY_VOLTAGE)).mv
        except DecodeError as error:
            raise ProtocolError(f"Progressor sent a malformed reply: {error}") from error
        await self._send(link, Opcode.START_WEIGHT)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            firmware=version,
            sample_rate_hz=SAMPLE_RATE_HZ,
            channels=(FORCE_CHANNEL,),
            battery_mv=float(battery_mv),
            hardware_tare=True,
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return ProgressorDecoder(self._trimmed_replies)

    async def tare(self, link: GattLink) -> bool:
        """Hardware tare; the device only honours it while streaming, which is when bandlog calls it."""
        await self._send(link, Opcode.TARE)
        return True

    async def stop(self, link: GattLink) -> None:
        await self._send(link, Opcode.STOP_WEIGHT)


PROFILE = ProgressorProfile
