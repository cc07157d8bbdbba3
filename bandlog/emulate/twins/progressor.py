"""Emulated Tindeq Progressor: TLV control point, 80 Hz weight stream, hardware tare, sleep.

Sans-I/O and deterministic. Notifications carry one, then two samples in turn (both fit 20 bytes),
so decoders are exercised on both batch sizes. `start_counter_us` starts the microsecond counter
anywhere, e.g. just below 2^32 to test the wrap; `sent_samples` then holds the unwrapped times.
Two variants real units and clones send (protocols.md 10): `frame_size` pads every notification to
that many bytes (the length byte unchanged), and `nan_every` sends every n-th weight as NaN (left
out of `sent_samples`, counted in `nan_sent`). A real unit switches itself off after 10 minutes
without measuring (IDLE_POWER_OFF_S): the twin does too, and `press_button` wakes it.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.progressor import CONTROL_UUID, COUNTER_SPAN_US, DATA_UUID, SAMPLE_RATE_HZ, SERVICE_UUID
from bandlog.devices.progressor_codec import (
    BatteryVoltage,
    CommandResponse,
    ControlCommand,
    LowPowerWarning,
    Opcode,
    ProgressorId,
    TextReply,
    WeightPacket,
)
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

PERIOD_US = round(1e6 / SAMPLE_RATE_HZ)
IDLE_POWER_OFF_S = 600.0
"""Device seconds without measuring after which the unit switches itself off (protocols.md 1.1).
Tindeq's text says "after 10 min of inactivity when not connected"; whether a connected unit that
is not measuring also sleeps is unverified, so the twin is conservative and counts any time not
measuring (never started, or stopped with STOP_WEIGHT), connected or not: a session that keeps the
stream running must not meet it."""


class ProgressorTwin(PeripheralTwin):
    profile_key = "progressor"
    default_name = "Progressor_1234"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        zero_offset_kg: float = 0.65,
        start_counter_us: int = 0,
        battery_mv: int = 3930,
        firmware: str = "1.3.4",
        progressor_id: int = 0x00A1_B2C3_D4E5,
        error_info: str = "",
        frame_size: int = 0,
        nan_every: int = 0,
        idle_power_off_s: float = IDLE_POWER_OFF_S,
    ) -> None:
        super().__init__(motion, name=name)
        if not 0 <= start_counter_us < COUNTER_SPAN_US:
            raise ConfigError(f"start_counter_us must fit a uint32, got {start_counter_us}")
        if idle_power_off_s <= 0:
            raise ConfigError(f"idle_power_off_s must be positive, got {idle_power_off_s}")
        if not 0 <= frame_size <= 244 or nan_every < 0:  # 244: the largest notification (ATT MTU 247)
            raise ConfigError(f"frame_size must be 0-244 bytes and nan_every >= 0, got {frame_size}, {nan_every}")
        self.zero_offset_kg = zero_offset_kg
        self.start_counter_us = start_counter_us
        self.battery_mv = battery_mv
        self.firmware = firmware
        self.progressor_id = progressor_id
        self.error_info = error_info
        self.frame_size = frame_size
        self.nan_every = nan_every
        self.idle_power_off_s = idle_power_off_s
        """Device seconds without measuring before it switches off (shorter in tests)."""
        self.nan_sent = 0
        """Weights sent as NaN (nan_every)."""
        self.tare_kg = 0.0
        """What the last hardware tare subtracts (the raw reading at that moment)."""
        self.commands: list[ControlCommand] = []
        self._subscribed = False
        self._streaming = False
        self._asleep = False
        self._idle_since_s = 0.0
        """Device time the measuring last stopped (0: never started; the clock starts at first contact)."""
        self._button_pressed = False
        self.power_offs = 0
        """Times the unit switched itself off for want of measuring."""
        self._t0_s = 0.0
        self._next_index = 0
        self._notifications = 0

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (
            ServiceSpec(
                SERVICE_UUID,
                (
                    CharSpec(DATA_UUID, frozenset({NOTIFY})),
                    CharSpec(CONTROL_UUID, frozenset({WRITE, WRITE_WITHOUT_RESPONSE})),
                ),
            ),
        )

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return (SERVICE_UUID,)

    @property
    def streaming(self) -> bool:
        return self._streaming

    @property
    def asleep(self) -> bool:
        return self._asleep

    def powered_on(self, now_s: float) -> bool:
        """Whether the unit is on at device time now_s; after idle_power_off_s without measuring it
        switches off (and stays off until `press_button`). The peripheral asks this to drop the link
        and stop advertising, as a unit that switched itself off does."""
        if self._button_pressed:
            self._button_pressed, self._asleep, self._idle_since_s = False, False, now_s
        if not self._asleep and not self._streaming and now_s - self._idle_since_s >= self.idle_power_off_s:
            self._asleep = True
            self.power_offs += 1
            log.info("Progressor twin switched itself off after %.0f s without measuring", now_s - self._idle_since_s)
        return not self._asleep

    def press_button(self) -> None:
        """The user presses the button: a unit that is off wakes (at the next device time it is asked
        about), and the idle time starts again."""
        self._button_pressed = True

    def _stop_measuring(self, now_s: float) -> None:
        if self._streaming:
            self._streaming, self._idle_since_s = False, now_s

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if char_uuid.lower() == DATA_UUID:
            self._subscribed = enabled
        return []

    def on_disconnect(self, now_s: float) -> None:
        self._stop_measuring(now_s)
        self._subscribed = False

    def _raw_kg(self, t_s: np.ndarray) -> np.ndarray:
        """Load-cell reading before tare: the band force in kg plus the cell's zero offset."""
        force = self.motion.sample(t_s).force_n
        force_n = force if force is not None else np.zeros(len(t_s))
        return force_n / STANDARD_GRAVITY_MS2 + self.zero_offset_kg

    def _send(self, packet: bytes) -> list[Outgoing]:
        """Notify a frame, padded to frame_size when it is shorter (a clone's fixed-size frames)."""
        padded = packet.ljust(self.frame_size, b"\x00")
        return [Outgoing(DATA_UUID, padded)] if self._subscribed else []

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid.lower() != CONTROL_UUID or not self.powered_on(now_s):
            return []
        try:
            command = ControlCommand.from_bytes(data)
        except DecodeError as error:
            log.warning("Progressor twin ignored a bad command: %s", error)
            return []
        self.commands.append(command)
        op = command.opcode
        if op == Opcode.TARE:
            if self._streaming:
                self.tare_kg = float(self._raw_kg(np.array([now_s - self._t0_s]))[0])
            else:
                log.info("Progressor twin ignored TARE: the device tares only while streaming")
        elif op == Opcode.START_WEIGHT:
            self._streaming, self._t0_s, self._next_index = True, now_s, 0
        elif op == Opcode.STOP_WEIGHT:
            self._stop_measuring(now_s)
        elif op == Opcode.SLEEP:
            self._stop_measuring(now_s)
            self._asleep = True
        elif op == Opcode.GET_VERSION:
            return self._send(bytes(CommandResponse(bytes(TextReply(self.firmware)))))
        elif op == Opcode.GET_ERROR_INFO:
            return self._send(bytes(CommandResponse(bytes(TextReply(self.error_info)))))
        elif op == Opcode.GET_BATTERY_VOLTAGE:
            return self._send(bytes(CommandResponse(bytes(BatteryVoltage(self.battery_mv)))))
        elif op == Opcode.GET_ID:
            return self._send(bytes(CommandResponse(bytes(ProgressorId(self.progressor_id)))))
        return []

    def poll(self, now_s: float) -> list[Outgoing]:
        if not self.powered_on(now_s) or not self._streaming:
            return []
        due = round((now_s - self._t0_s) * 1e6) // PERIOD_US + 1
        sizes: list[int] = []
        count = 0
        while due - self._next_index - count >= (size := 1 + (self._notifications + len(sizes)) % 2):
            sizes.append(size)
            count += size
        if not sizes:
            return []
        counter_us = self.start_counter_us + (self._next_index + np.arange(count, dtype=np.int64)) * PERIOD_US
        # the motion sampled once for the whole tick, not once per notification: it is the costly part
        weight_kg = (self._raw_kg((counter_us - self.start_counter_us) * 1e-6) - self.tare_kg).astype(np.float32)
        if self.nan_every:
            weight_kg[(self._next_index + np.arange(count)) % self.nan_every == self.nan_every - 1] = np.nan
        self._next_index += count
        self._notifications += len(sizes)
        if not self._subscribed:
            return []
        out: list[Outgoing] = []
        for start, stop in itertools.pairwise([0, *itertools.accumulate(sizes)]):
            sent = np.isfinite(weight_kg[start:stop])
            self.nan_sent += int(np.count_nonzero(~sent))
            if sent.any():
                self.sent_samples.append(SampleBlock(
                    t_s=counter_us[start:stop][sent] * 1e-6,
                    force_n=weight_kg[start:stop][sent].astype(np.float64) * STANDARD_GRAVITY_MS2,
                ))
            out += self._send(bytes(WeightPacket(weight_kg[start:stop], counter_us[start:stop] % COUNTER_SPAN_US)))
        return out

    def low_battery_warning(self) -> list[Outgoing]:
        """The code-4 packet; a real unit switches itself off shortly after, which is the caller's to emulate."""
        return self._send(bytes(LowPowerWarning()))


TWIN = ProgressorTwin
