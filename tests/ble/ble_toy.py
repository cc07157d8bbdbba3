"""A tiny sensor for the BLE tests: a twin and a profile speaking a made-up TLV protocol.

Built only on bandlog.devices.base and bandlog.emulate.twins.base, so the BLE path can be tested
without the real device modules. Protocol (all little-endian):

    control char (write, write-without-response):  0x01 start, 0x02 stop, 0x03 info query
    data char (notify):  [0x01, len, n x (float32 force_n, uint32 t_us)]   samples, 2 per packet
                         [0x00, len, ascii]                               info reply
                         [0x04, 1, percent]                               low battery
    info char (read):    b"toy-fw-1"
"""

from __future__ import annotations

import struct

import numpy as np

from bandlog.core.errors import DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.devices.base import DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder
from bandlog.emulate.twins.base import (
    NOTIFY,
    READ,
    WRITE,
    WRITE_WITHOUT_RESPONSE,
    CharSpec,
    Outgoing,
    PeripheralTwin,
    ServiceSpec,
)

SERVICE_UUID = "0000a000-7e57-4b1e-8a1e-000000000001"
CONTROL_UUID = "0000a001-7e57-4b1e-8a1e-000000000001"
DATA_UUID = "0000a002-7e57-4b1e-8a1e-000000000001"
INFO_UUID = "0000a003-7e57-4b1e-8a1e-000000000001"
RATE_HZ = 100.0
SAMPLES_PER_PACKET = 2
START, STOP, QUERY = 0x01, 0x02, 0x03


class ToyTwin(PeripheralTwin):
    profile_key = "toy"
    default_name = "Toy 0001"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.streaming = False
        self.start_s = 0.0
        self.next_index = 0
        self.commands: list[int] = []
        self.start_times_s: list[float] = []
        """Device-clock time of every START command (the truth for gap tests)."""

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (
            ServiceSpec(
                SERVICE_UUID,
                (
                    CharSpec(CONTROL_UUID, frozenset({WRITE, WRITE_WITHOUT_RESPONSE})),
                    CharSpec(DATA_UUID, frozenset({NOTIFY})),
                    CharSpec(INFO_UUID, frozenset({READ}), b"toy-fw-1"),
                ),
            ),
        )

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return (SERVICE_UUID,)

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid != CONTROL_UUID or not data:
            return []
        self.commands.append(data[0])
        if data[0] == START:
            self.streaming, self.start_s, self.next_index = True, now_s, 0
            self.start_times_s.append(now_s)
        elif data[0] == STOP:
            self.streaming = False
        elif data[0] == QUERY:
            text = self.name.encode()
            return [Outgoing(DATA_UUID, bytes([0x00, len(text)]) + text)]
        return []

    def poll(self, now_s: float) -> list[Outgoing]:
        if not self.streaming:
            return []
        due = int(np.floor((now_s - self.start_s) * RATE_HZ)) + 1
        due -= (due - self.next_index) % SAMPLES_PER_PACKET
        out = []
        while self.next_index + SAMPLES_PER_PACKET <= due:
            t_s = (self.next_index + np.arange(SAMPLES_PER_PACKET)) / RATE_HZ
            block = self.motion.sample(t_s)
            force = block.force_n.astype(np.float32)  # type: ignore[union-attr]
            self.sent_samples.append(SampleBlock(t_s=t_s, force_n=force.astype(np.float64)))
            payload = b"".join(struct.pack("<fI", f, int(round(t * 1e6))) for f, t in zip(force, t_s))
            out.append(Outgoing(DATA_UUID, bytes([0x01, len(payload)]) + payload))
            self.next_index += SAMPLES_PER_PACKET
        return out

    def low_battery_warning(self) -> list[Outgoing]:
        return [Outgoing(DATA_UUID, bytes([0x04, 1, 9]))]

    def on_disconnect(self, now_s: float) -> None:
        self.streaming = False


class ToyDecoder(StreamDecoder):
    def feed(self, notification: Notification) -> DecodeOutput:
        data = notification.payload
        if len(data) < 2 or len(data) != 2 + data[1]:
            raise DecodeError("toy packet length byte does not match its size", data)
        code, payload = data[0], data[2:]
        if code == 0x04:
            return DecodeOutput(notices=[DeviceNotice("low_battery", "battery low", float(payload[0]))])
        if code != 0x01 or len(payload) % 8:
            raise DecodeError("not a toy sample packet", data)
        values = [struct.unpack_from("<fI", payload, i) for i in range(0, len(payload), 8)]
        t_s = np.array([t_us / 1e6 for _, t_us in values])
        force = np.array([f for f, _ in values])
        return DecodeOutput(blocks=[SampleBlock(t_s=t_s, force_n=force, t_host_s=np.full(len(t_s), notification.t_host_s))])


class ToyProfile(DeviceProfile):
    key = "toy"
    model = "Toy force gauge (tests only)"
    service_uuid = SERVICE_UUID
    name_prefixes = ("Toy",)
    measures_force = True
    measures_imu = False

    async def start(self, link: GattLink) -> StreamInfo:
        firmware = (await link.read(INFO_UUID)).decode()
        await link.subscribe(DATA_UUID)
        await link.write(CONTROL_UUID, bytes([QUERY]), response=True)
        reply = await link.next_notification(2.0)
        if reply.payload[:1] != b"\x00":
            raise ProtocolError(f"unexpected reply {reply.payload.hex()}")
        await link.write(CONTROL_UUID, bytes([START]), response=True)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            name=reply.payload[2:].decode(),
            firmware=firmware,
            sample_rate_hz=RATE_HZ,
            channels=("force_n",),
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return ToyDecoder()

    async def stop(self, link: GattLink) -> None:
        await link.write(CONTROL_UUID, bytes([STOP]), response=True)


def sent_force(twin: PeripheralTwin) -> np.ndarray:
    return np.concatenate([b.force_n for b in twin.sent_samples]) if twin.sent_samples else np.empty(0)  # type: ignore[misc]


class StillThenPull:
    """Motion for tare tests: a constant preload while still, then a periodic pull on top."""

    def __init__(self, preload_n: float = 5.0, still_s: float = 2.0) -> None:
        self.preload_n = preload_n
        self.still_s = still_s

    @property
    def duration_s(self) -> float:
        return 3600.0

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        t = np.asarray(t_s, dtype=np.float64)
        moving = np.clip(t - self.still_s, 0.0, None)
        force = self.preload_n + 20.0 * (1 - np.cos(2 * np.pi * moving / 4.0))
        return SampleBlock(t_s=t, force_n=force)
