"""What every supported sensor module provides: identity, a start/stop conversation, and a decoder.

A device module holds pure byte codecs (encode/decode twins) plus one DeviceProfile subclass that
drives the protocol conversation over a GattLink. It does no I/O of its own and never imports bleak.
Each module exposes its profile class as the module attribute PROFILE; the registry finds it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from bandlog.core.link import GattLink, Notification
from bandlog.core.samples import SampleBlock, StreamInfo

DROPPED_PACKETS = "dropped_packets"
"""Notice kind: value = packets the device sent that never arrived (the session counts them)."""
SKIPPED_SAMPLES = "skipped_samples"
"""Notice kind: value = samples that arrived but were dropped (impossible time, non-finite value)."""
DAMAGED_PACKETS = "damaged_packets"
"""Notice kind: value = malformed packets the decoder threw away while keeping its place (counted)."""
TRIMMED_PACKETS = "trimmed_packets"
"""Notice kind: value = packets read after ignoring bytes that carry no data (text after a NUL, bytes
after a packet's rows, a frame's padding), as the vendors' own parsers do (counted, not an error)."""
CLOCK_RESTARTED = "clock_restarted"
"""Notice kind: the device clock stepped back and stayed there; time was continued, not rewound."""


@dataclass(frozen=True)
class DeviceNotice:
    """Something the device said that is not a sample: low battery, a reply, a status change."""

    kind: str
    message: str = ""
    value: float | None = None


@dataclass
class DecodeOutput:
    blocks: list[SampleBlock] = field(default_factory=list)
    notices: list[DeviceNotice] = field(default_factory=list)

    def skipped(self, count: int, why: str) -> None:
        """Report samples dropped by the decoder, so the link status counts them."""
        if count > 0:
            self.notices.append(DeviceNotice(SKIPPED_SAMPLES, f"{count} sample(s) skipped: {why}", float(count)))

    def trimmed(self, count: int, why: str) -> None:
        """Report packets whose extra bytes were ignored, so the link status counts them."""
        if count > 0:
            self.notices.append(DeviceNotice(TRIMMED_PACKETS, f"{count} packet(s) read without their extra bytes: {why}", float(count)))

    def clock_restarted(self, count: int, device: str) -> None:
        """Report a device clock that went back and stayed back: later samples were re-placed."""
        if count > 0:
            message = f"the {device} clock went back and stayed back ({count}x); its samples continue one period on"
            self.notices.append(DeviceNotice(CLOCK_RESTARTED, message, float(count)))


class StreamDecoder(abc.ABC):
    """Sans-I/O decoder for one connection's notification stream (keeps reassembly/clock state).

    feed() raises bandlog.core.errors.DecodeError for a bad packet and stays usable for the next one.
    Blocks never carry a non-finite value and t_s never goes back within one decoder's stream;
    samples dropped to keep that promise are reported with a SKIPPED_SAMPLES notice.
    """

    counts_lost: ClassVar[bool] = False
    """True when the decoder reports every lost packet itself (a sample counter or clock shows it):
    the session then does not also count the time line's jumps, which would count each loss twice."""

    @abc.abstractmethod
    def feed(self, notification: Notification) -> DecodeOutput: ...

    def flush(self) -> DecodeOutput:
        """The link ended: the samples still held (awaiting a later packet), so none vanish unseen."""
        return DecodeOutput()


@dataclass(frozen=True)
class StreamOptions:
    """What the user asked of the stream; a profile honours what its device allows."""

    sample_rate_hz: float | None = None


class DeviceProfile(abc.ABC):
    """One supported sensor model."""

    key: ClassVar[str]
    """Short id used on the command line and in logs, e.g. 'gdx-for'."""
    model: ClassVar[str]
    """Human name, e.g. 'Vernier Go Direct Force and Acceleration (GDX-FOR)'."""
    service_uuid: ClassVar[str]
    name_prefixes: ClassVar[tuple[str, ...]]
    measures_force: ClassVar[bool]
    measures_imu: ClassVar[bool]
    index_timed: ClassVar[bool] = False
    """True when samples carry no counter or clock (time = index / rate): the session then finds lost
    notifications from their arrival times (bandlog.sources.timeline.ArrivalLossFinder)."""
    host_timed: ClassVar[bool] = False
    """True when samples are dated by host arrival (no counter, clock or known rate): a lost
    notification leaves no trace, so the link status says losses cannot be counted."""
    wake_hint: ClassVar[str] = ""
    """For a device that switches itself off: one clause on why it may not be found and what to do,
    added to the not-found and could-not-reconnect errors; empty for one that stays on."""
    reads_host_clock: ClassVar[bool] = False
    """True when the profile dates its own requests by a host clock (a `clock=` argument): the session
    hands it the link's clock, so a raw capture records each reading and its replay serves them."""

    def __init__(self, options: StreamOptions | None = None) -> None:
        self.options = options or StreamOptions()

    @classmethod
    def dated_by_host(cls) -> bool:
        """Whether its samples' times are this computer's (host_timed or reads_host_clock): an emulated
        twin of it must then run in real time, as the host's clock cannot be sped up with the device's."""
        return cls.host_timed or cls.reads_host_clock

    @classmethod
    def matches(cls, name: str | None, service_uuids: Sequence[str] = ()) -> bool:
        """True when an advertisement looks like this device (name prefix or service UUID)."""
        if name and any(name.startswith(prefix) for prefix in cls.name_prefixes):
            return True
        wanted = cls.service_uuid.lower()
        return any(uuid.lower() == wanted for uuid in service_uuids)

    @abc.abstractmethod
    async def start(self, link: GattLink) -> StreamInfo:
        """Subscribe, query what the device is, and start streaming; returns what was learned."""

    @abc.abstractmethod
    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        """A fresh decoder for the stream start() just began."""

    async def tare(self, link: GattLink) -> bool:
        """Zero the force on the device if it can; False means the caller must tare in software."""
        return False

    @abc.abstractmethod
    async def stop(self, link: GattLink) -> None:
        """Stop streaming and leave the device idle (the link stays up)."""
