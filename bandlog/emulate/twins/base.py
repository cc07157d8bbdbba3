"""The interface every emulated sensor implements: a GATT layout plus reactions, all pure.

Time is the emulated device clock in seconds (`now_s`), handed in by whoever runs the twin, so a
twin can run faster than real time and tests are deterministic. A twin never sleeps or does I/O.
"""

from __future__ import annotations

import abc
import collections
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.motion import MotionSource, PeriodicMotion
from bandlog.core.samples import SampleBlock
from bandlog.emulate.faults import damage_length_byte

READ = "read"
WRITE = "write"
WRITE_WITHOUT_RESPONSE = "write-without-response"
NOTIFY = "notify"


@dataclass(frozen=True)
class CharSpec:
    uuid: str
    properties: frozenset[str]
    initial_value: bytes = b""


@dataclass(frozen=True)
class ServiceSpec:
    uuid: str
    characteristics: tuple[CharSpec, ...]


KEEP_SAMPLES = 10_000
"""Samples a twin keeps for tests to compare against (100 s at 100 Hz, 10 s at 1 kHz); older ones are
counted only. A block of one notification costs ~450 bytes per sample (a SampleBlock and its small
arrays): 100,000 kept grew every 100 Hz emulated recording by ~45 MB over its first 17 minutes,
~19 MB of it after the 10th (bench/memory.py); 10,000 cover every test's stream."""


class SentSamples:
    """What a twin streamed: the most recent blocks (bounded) plus running totals.

    Keeping every block made a long emulated recording grow by ~27 MB per 20 minutes, so only the
    last `keep_samples` are kept; `listeners` see every block as it is appended, for a check that
    must cover a whole soak (bench/soak.py streams them to disk).
    """

    def __init__(self, keep_samples: int = KEEP_SAMPLES) -> None:
        self.keep_samples = keep_samples
        self.total = 0
        """Samples appended since the twin was made."""
        self.forgotten = 0
        """Samples no longer kept (total - forgotten are in the blocks)."""
        self.listeners: list[Callable[[SampleBlock], None]] = []
        self._blocks: collections.deque[SampleBlock] = collections.deque()

    def append(self, block: SampleBlock) -> None:
        self._blocks.append(block)
        self.total += len(block)
        for listener in self.listeners:
            listener(block)
        while self.total - self.forgotten - len(self._blocks[0]) >= self.keep_samples:
            self.forgotten += len(self._blocks.popleft())

    def __iter__(self) -> Iterator[SampleBlock]:
        return iter(self._blocks)

    def __len__(self) -> int:
        return len(self._blocks)

    def __getitem__(self, index: int) -> SampleBlock:
        return self._blocks[index]


class _ForceGain:
    """A MotionSource whose force is another's times a gain (what a miscalibrated sensor reads)."""

    def __init__(self, motion: MotionSource, gain: float) -> None:
        self.motion = motion
        self.gain = gain

    @property
    def duration_s(self) -> float:
        return self.motion.duration_s

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        block = self.motion.sample(t_s)
        return block if block.force_n is None else replace(block, force_n=block.force_n * self.gain)


@dataclass(frozen=True)
class Outgoing:
    """A notification the twin wants sent on a characteristic."""

    char_uuid: str
    payload: bytes


class PeripheralTwin(abc.ABC):
    """One emulated sensor. Subclasses set profile_key and implement the protocol reactions."""

    profile_key: ClassVar[str]
    default_name: ClassVar[str]

    def __init__(self, motion: MotionSource | None = None, *, name: str | None = None) -> None:
        self.motion: MotionSource = motion or PeriodicMotion()
        self.name = name or self.default_name
        self.sent_samples = SentSamples()
        """The samples streamed, exactly as encoded (the truth tests compare against); bounded."""

    def misread_force(self, gain: float) -> None:
        """From now on read force as the true force times `gain` (a wrong sign or gain, as a real
        unit may have: `bandlog check` must find it); 1.0 changes nothing."""
        if gain != 1.0:
            self.motion = _ForceGain(self.motion, gain)

    def sample_imu(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(acc_ms2, gyro_dps) of the motion at device times t_s, for a twin that measures nothing else:
        a motion source without them cannot drive it."""
        truth = self.motion.sample(t_s)
        if truth.acc_ms2 is None or truth.gyro_dps is None:
            raise ConfigError(f"the {self.default_name} twin needs a motion source that produces acceleration and rotation")
        return truth.acc_ms2, truth.gyro_dps

    @property
    @abc.abstractmethod
    def services(self) -> tuple[ServiceSpec, ...]:
        """The GATT services and characteristics the real device exposes."""

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        """Service UUIDs carried in the advertisement / scan response."""
        return ()

    def read(self, char_uuid: str) -> bytes:
        """Value returned for a GATT read of char_uuid."""
        for service in self.services:
            for char in service.characteristics:
                if char.uuid == char_uuid:
                    return char.initial_value
        raise KeyError(char_uuid)

    @abc.abstractmethod
    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        """React to a write from the central; return notifications to send at once."""

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        """React to the central enabling or disabling notifications."""
        return []

    @abc.abstractmethod
    def poll(self, now_s: float) -> list[Outgoing]:
        """Streaming notifications that are due by device time now_s (called every few ms)."""

    def damage(self, payload: bytes) -> bytes:
        """A streaming notification malformed the way the corruption fault damages it: by default the
        length byte of a [code, length, ...] packet (faults.damage_length_byte)."""
        return damage_length_byte(payload)

    def low_battery_warning(self) -> list[Outgoing]:
        """Notifications a real device sends when its battery runs low (none if it has none)."""
        return []

    def on_disconnect(self, now_s: float) -> None:  # noqa: B027 (a hook: most twins have nothing to forget)
        """The link dropped: a real device stops streaming and forgets subscriptions."""
