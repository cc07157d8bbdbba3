"""Emulated PASCO Wireless Force Acceleration Sensor (PS-3202): answers one-shot reads, as the public protocol does.

Sans-I/O and deterministic. Each read request is processed in turn by one simulated MCU: the
answer is due `reply_latency_s` after the device is free, carries the motion sampled at that
moment as raw counts (force clipped at the PS-3202's +-50 N range, as the unit reads), and goes out on the
channel's own reply characteristic, or on the device service 0 with `replies_on_device_service`
(some PASCO sensors do that). `sent_samples` holds one single-channel block per answer sent, on
the device clock, with the values exactly as a decoder recovers them.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.motion import MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.pasco import NAME_MARK
from bandlog.devices.pasco_codec import (
    ACC_MS2_PER_COUNT,
    DEVICE_SERVICE,
    FORCE_RANGE_N,
    GYRO_DPS_PER_COUNT,
    READ_ONE_SAMPLE,
    RECEIVE_REPLY_CHAR,
    SEND_ACK_CHAR,
    SEND_COMMAND_CHAR,
    Channel,
    ForceRaw,
    GenericResponse,
    ReadOneSample,
    TriadRaw,
    char_uuid,
    parse_uuid,
    service_uuid,
)
from bandlog.emulate.twins.base import NOTIFY, WRITE, WRITE_WITHOUT_RESPONSE, CharSpec, Outgoing, PeripheralTwin, ServiceSpec

log = logging.getLogger(__name__)

STATUS_ERROR = 0x01
_WRITABLE = frozenset({WRITE, WRITE_WITHOUT_RESPONSE})


@dataclass(frozen=True)
class _Pending:
    due_s: float
    channel: Channel
    ok: bool


KEEP_REQUESTS = 20_000
"""Read requests a twin remembers for tests (~90 s of three reads a round at 74 rounds/s)."""


class PascoTwin(PeripheralTwin):
    profile_key = "pasco-force-accel"
    default_name = f"{NAME_MARK} 123-456>4"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        reply_latency_s: float = 0.003,
        replies_on_device_service: bool = False,
        zero_offset_n: float = 0.4,
    ) -> None:
        super().__init__(motion, name=name)
        if reply_latency_s < 0:
            raise ConfigError(f"reply latency must not be negative, got {reply_latency_s!r}")
        self.reply_latency_s = reply_latency_s
        self.replies_on_device_service = replies_on_device_service
        self.zero_offset_n = zero_offset_n
        self.requests: deque[tuple[float, Channel]] = deque(maxlen=KEEP_REQUESTS)
        """The last KEEP_REQUESTS read requests received: (device time, channel); a list of every one
        grew without bound in a long emulated recording."""
        self._pending: deque[_Pending] = deque()
        self._busy_until_s = 0.0
        self._subscribed: set[str] = set()

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        device = ServiceSpec(
            service_uuid(DEVICE_SERVICE),
            (
                CharSpec(char_uuid(DEVICE_SERVICE, SEND_COMMAND_CHAR), _WRITABLE),
                CharSpec(char_uuid(DEVICE_SERVICE, RECEIVE_REPLY_CHAR), frozenset({NOTIFY})),
            ),
        )
        sensors = tuple(
            ServiceSpec(
                service_uuid(c.service),
                (
                    CharSpec(char_uuid(c.service, SEND_COMMAND_CHAR), _WRITABLE),
                    CharSpec(char_uuid(c.service, RECEIVE_REPLY_CHAR), frozenset({NOTIFY})),
                    CharSpec(char_uuid(c.service, SEND_ACK_CHAR), _WRITABLE),
                ),
            )
            for c in Channel
        )
        return (device, *sensors)

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if enabled:
            self._subscribed.add(char_uuid.lower())
        else:
            self._subscribed.discard(char_uuid.lower())
        return []

    def on_disconnect(self, now_s: float) -> None:
        self._pending.clear()
        self._subscribed.clear()

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        where = parse_uuid(char_uuid)
        if where is None or where[1] != SEND_COMMAND_CHAR or where[0] == DEVICE_SERVICE:
            return []  # keep-alive on service 0 and packet ACKs need no answer
        channel = Channel(where[0] - 1)
        try:
            command = ReadOneSample.from_bytes(data)
        except DecodeError as error:
            log.warning("PASCO twin ignored a command it does not know: %s", error)
            return []
        self.requests.append((now_s, channel))
        self._busy_until_s = max(self._busy_until_s, now_s) + self.reply_latency_s
        self._pending.append(_Pending(self._busy_until_s, channel, command.packet_size == channel.packet_size))
        return []

    def poll(self, now_s: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        while self._pending and self._pending[0].due_s <= now_s:
            out += self._answer(self._pending.popleft())
        return out

    def _answer(self, pending: _Pending) -> list[Outgoing]:
        service = DEVICE_SERVICE if self.replies_on_device_service else pending.channel.service
        target = char_uuid(service, RECEIVE_REPLY_CHAR)
        if target not in self._subscribed:
            return []
        if not pending.ok:
            return [Outgoing(target, bytes(GenericResponse(STATUS_ERROR, READ_ONE_SAMPLE)))]
        raw, block = self._measure(pending.channel, pending.due_s)
        self.sent_samples.append(block)
        return [Outgoing(target, bytes(GenericResponse(0, READ_ONE_SAMPLE, bytes(raw))))]

    def _measure(self, channel: Channel, t_s: float) -> tuple[ForceRaw | TriadRaw, SampleBlock]:
        """The raw counts the sensor reports at device time t_s, and the block a decoder recovers."""
        truth = self.motion.sample(np.array([t_s]))
        t = np.array([t_s])
        if channel is Channel.FORCE:
            force_n = 0.0 if truth.force_n is None else float(truth.force_n[0])
            force = ForceRaw.from_force_n(min(max(force_n + self.zero_offset_n, -FORCE_RANGE_N), FORCE_RANGE_N))
            return force, SampleBlock(t_s=t, force_n=np.array([force.force_n]))
        values = truth.acc_ms2 if channel is Channel.ACCEL else truth.gyro_dps
        per_count = ACC_MS2_PER_COUNT if channel is Channel.ACCEL else GYRO_DPS_PER_COUNT
        triad = TriadRaw.from_values([0.0, 0.0, 0.0] if values is None else values[0].tolist(), per_count)
        block_values = np.array([triad.scaled(per_count)])
        if channel is Channel.ACCEL:
            return triad, SampleBlock(t_s=t, acc_ms2=block_values)
        return triad, SampleBlock(t_s=t, gyro_dps=block_values)


TWIN = PascoTwin
