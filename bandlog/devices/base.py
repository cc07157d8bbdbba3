"""What every supported sensor module provides: identity, a start/stop conversation, and a decoder.

A device module holds pure byte codecs (encode/decode twins) plus one DeviceProfile subclass that
drives the protocol conversation over a GattLink. It does no I/O of its own and never imports bleak.
Each module exposes its profile class as the module attribute PROFILE; the registry finds it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

from bandlog.link import GattLink, Notification
from bandlog.samples import SampleBlock, StreamInfo


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


class StreamDecoder(abc.ABC):
    """Sans-I/O decoder for one connection's notification stream (keeps reassembly/clock state).

    feed() raises bandlog.errors.DecodeError for a bad packet and stays usable for the next one.
    """

    @abc.abstractmethod
    def feed(self, notification: Notification) -> DecodeOutput: ...


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

    def __init__(self, options: StreamOptions | None = None) -> None:
        self.options = options or StreamOptions()

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
