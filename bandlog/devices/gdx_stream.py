"""The GDX device->host stream: measurement packets, and reassembly of <=20-byte notifications.

Replies and measurements share one notify characteristic and arrive split into fragments; the only
framing is the length byte, so one lost or corrupted fragment could shift every later packet. The
Reassembler therefore checks each packet header as it grows and resynchronises on the next
fragment that starts a packet, so a bad fragment costs at most the packet it hit.

A packet longer than its rows x channels (its length byte counting bytes after the rows) is read and
the extra bytes ignored, as Vernier's parsers do (protocols.md 10); shorter cannot be, and raises.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Self

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.devices.gdx_codec import COMMANDS, MEASUREMENT_LEAD, Reply, check_uint

log = logging.getLogger(__name__)

NORMAL_REAL32 = 0x06
WIDE_REAL32 = 0x07
SINGLE_CHANNEL_TYPES = (0x08, 0x09, 0x0A, 0x0B)
"""Single-channel real/int and aperiodic real/int packets: byte 6 sensor, byte 7 rows, values from 8."""
UNDOCUMENTED_TYPES = (0x0C, 0x0D, 0x0E)
"""START_TIME, DROPPED, PERIOD: layout not public; Vernier's libraries ignore them too."""

MAX_PACKET_LEN = 255
ATT_NOTIFY_MAX = 20
"""Largest notification value at the default ATT MTU of 23."""


RAD_S_TO_DPS = 180.0 / np.pi
"""GDX gyro channels report rad/s; bandlog speaks deg/s. Decoder and twin both multiply by this."""


def _header_len(wide: bool) -> int:
    return 11 if wide else 9


@dataclass(frozen=True, eq=False)
class MeasurementPacket:
    """A NORMAL_REAL32 (0x06) or WIDE_REAL32 (0x07) packet: rows x one float32 per set mask bit.

    values has shape (rows, channels), columns in ascending sensor-number order, dtype float32 so
    the exact bits survive a round trip (NaNs included). Bytes 2-3 and the byte after the row
    count are undocumented and kept as read, as are `trailing` bytes after the rows (no data: the
    decoder ignores and counts them).
    """

    channel_mask: int
    values: np.ndarray
    wide: bool = False
    reserved: bytes = b"\x00\x00"
    spare: int = 0
    trailing: bytes = b""

    def __post_init__(self) -> None:
        check_uint("channel_mask", self.channel_mask, 32 if self.wide else 16)
        check_uint("spare", self.spare, 8)
        if self.channel_mask == 0:
            raise ConfigError("a measurement packet needs at least one channel")
        if len(self.reserved) != 2:
            raise ConfigError("reserved must be 2 bytes")
        values = np.array(self.values, dtype="<f4", copy=True)
        n_channels = len(self.sensor_numbers)
        if values.ndim != 2 or values.shape[1] != n_channels:
            raise ConfigError(f"values must have shape (rows, {n_channels}), got {values.shape}")
        object.__setattr__(self, "trailing", bytes(self.trailing))
        if values.shape[0] > 255 or self.length > MAX_PACKET_LEN:
            raise ConfigError(f"{values.shape[0]} rows x {n_channels} channels do not fit one packet")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    @property
    def sensor_numbers(self) -> tuple[int, ...]:
        return tuple(n for n in range(32) if self.channel_mask >> n & 1)

    @property
    def rows(self) -> int:
        return int(np.shape(self.values)[0])

    @property
    def length(self) -> int:
        """The length byte: header, rows and any trailing bytes."""
        return _header_len(self.wide) + 4 * int(np.size(self.values)) + len(self.trailing)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MeasurementPacket):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None  # type: ignore[assignment]  # unhashable like any eq-only class; typeshed types __hash__ as a method

    def __bytes__(self) -> bytes:
        head = bytes([MEASUREMENT_LEAD, self.length]) + self.reserved
        if self.wide:
            head += bytes([WIDE_REAL32]) + struct.pack("<I", self.channel_mask)
        else:
            head += bytes([NORMAL_REAL32]) + struct.pack("<H", self.channel_mask)
        return head + bytes([self.rows, self.spare]) + self.values.tobytes() + self.trailing

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        if len(data) < 5 or data[0] != MEASUREMENT_LEAD or data[4] not in (NORMAL_REAL32, WIDE_REAL32):
            raise DecodeError("not a NORMAL_REAL32/WIDE_REAL32 measurement packet", data)
        wide = data[4] == WIDE_REAL32
        head = _header_len(wide)
        if len(data) < head:
            raise DecodeError("measurement packet shorter than its header", data)
        if data[1] != len(data):
            raise DecodeError(f"measurement length byte says {data[1]}, got {len(data)} bytes", data)
        mask = struct.unpack_from("<I" if wide else "<H", data, 5)[0]
        rows, spare = data[head - 2], data[head - 1]
        n_channels = mask.bit_count()
        if n_channels == 0:
            raise DecodeError("measurement packet with an empty channel mask", data)
        end = head + 4 * rows * n_channels
        if len(data) < end:
            raise DecodeError(f"{rows} rows x {n_channels} channels disagree with {len(data)} bytes (too few)", data)
        values = np.frombuffer(data, dtype="<f4", count=rows * n_channels, offset=head).reshape(rows, n_channels)
        return cls(mask, values, wide, data[2:4], spare, data[end:])


@dataclass(frozen=True)
class OtherMeasurement:
    """A measurement packet bandlog does not decode (single-channel, aperiodic, undocumented types)."""

    raw: bytes

    def __post_init__(self) -> None:
        problem = _header_problem(self.raw) if len(self.raw) >= 5 else "shorter than 5 bytes"
        if problem is None and self.raw[1] != len(self.raw):
            problem = "length byte disagrees with the data"
        if problem is None and self.raw[4] not in SINGLE_CHANNEL_TYPES + UNDOCUMENTED_TYPES:
            problem = f"type 0x{self.raw[4]:02x} is not an undecoded measurement type"
        if problem:
            raise DecodeError(f"bad measurement packet: {problem}", self.raw)

    @property
    def measurement_type(self) -> int:
        return self.raw[4]

    def __bytes__(self) -> bytes:
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls(bytes(data))


GdxPacket = Reply | MeasurementPacket | OtherMeasurement


def decode_packet(data: bytes) -> GdxPacket:
    """Any complete device->host packet: byte 0 = 0x20 marks a measurement, anything else a reply."""
    data = bytes(data)
    if not data:
        raise DecodeError("empty GDX packet", data)
    if data[0] != MEASUREMENT_LEAD:
        return Reply.from_bytes(data)
    if len(data) >= 5 and data[4] in (NORMAL_REAL32, WIDE_REAL32):
        return MeasurementPacket.from_bytes(data)
    return OtherMeasurement.from_bytes(data)


def _header_problem(buf: bytes | bytearray, exact: bool = False) -> str | None:
    """Why this (possibly partial) packet prefix cannot be the start of a real packet, or None.

    A length byte may exceed what the rows need (trailing bytes, ignored) unless `exact`."""
    if len(buf) < 2:
        return None
    length = buf[1]
    if buf[0] != MEASUREMENT_LEAD:
        if length < 6:
            return f"reply length {length} is below its 6-byte header"
        if len(buf) >= 5 and buf[4] not in COMMANDS:
            return f"reply to unknown command 0x{buf[4]:02x}"
        return None
    if length < 5:
        return f"measurement length {length} is below its header"
    if len(buf) < 5:
        return None
    kind = buf[4]
    if kind in (NORMAL_REAL32, WIDE_REAL32):
        wide = kind == WIDE_REAL32
        head = _header_len(wide)
        if len(buf) < head - 1:
            return None
        mask = struct.unpack_from("<I" if wide else "<H", buf, 5)[0]
        if mask == 0:
            return "empty channel mask"
        expected = head + 4 * buf[head - 2] * mask.bit_count()
    elif kind in SINGLE_CHANNEL_TYPES:
        if len(buf) < 8:
            return None
        expected = 8 + 4 * buf[7]
    elif kind in UNDOCUMENTED_TYPES:
        return None
    else:
        return f"unknown measurement type 0x{kind:02x}"
    if expected > length or (exact and expected != length):
        return f"length byte {length} disagrees with the rows and channels ({expected})"
    return None


def _starts_measurement(fragment: bytes) -> bool:
    """True when a fragment carries a complete, self-consistent measurement header.

    Used to resynchronise mid-packet: every real measurement start passes it, while a continuation
    fragment passes it by chance with odds of about one in a million (lead byte, type byte and a
    length byte that must agree with rows x channels). The length must agree exactly: allowing
    trailing bytes here would make those odds a few hundred times worse, so a packet with trailing
    bytes is not a resynchronisation point (after a loss it may be lost too, and counted).
    """
    if len(fragment) < 5 or fragment[0] != MEASUREMENT_LEAD:
        return False
    kind = fragment[4]
    needed = 10 if kind == WIDE_REAL32 else 8 if kind == NORMAL_REAL32 or kind in SINGLE_CHANNEL_TYPES else None
    if needed is None or len(fragment) < needed:
        return False
    return _header_problem(fragment, exact=True) is None and len(fragment) <= fragment[1]


def _header_rows(buf: bytes | bytearray) -> int:
    """Row count of a NORMAL/WIDE measurement packet from its (valid) header, 0 if not known."""
    if len(buf) < 5 or buf[0] != MEASUREMENT_LEAD or buf[4] not in (NORMAL_REAL32, WIDE_REAL32):
        return 0
    head = _header_len(buf[4] == WIDE_REAL32)
    return buf[head - 2] if len(buf) >= head - 1 else 0


_LOSS_PROBLEM = "abandoned an unfinished"


class Reassembler:
    """Joins notification fragments into packets by their length byte, resyncing after damage.

    feed() returns the packets a fragment completed. When a fragment cannot start a packet, or a
    partly received packet has to be abandoned, it raises DecodeError; packets that the same
    fragment completed are kept and returned by the next feed() (feed(b"") just collects them).

    A lost fragment must never let the next packet's bytes complete this one (that logged rows
    of 1.9e-38 and 9.1e-44). The device splits each packet on its own into fragments of the
    largest size, then the rest, as Vernier's parsers assume (they cannot read two packets in one
    notification). So a fragment that continues a packet is damaged evidence of a loss when it
    runs past the packet's end, or when it is shorter than the largest fragment seen yet does not
    end the packet: both the unfinished packet and that fragment are abandoned. The fragment size
    is learnt from packets that arrived whole in several fragments, so one over-long damaged
    notification cannot set it.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ready: list[bytes] = []
        self._lost_rows = 0
        self._lost_packets = 0
        self._fragment_size = 0
        """The device's full fragment length, from the last packet completed over several fragments."""
        self._start_len = 0
        """Length of the fragment that began the buffered packet (0 if it began mid-fragment)."""
        self.only_losses = False
        """The last feed() raised only because a fragment was lost (no damaged bytes seen): the
        abandoned packet is a loss, counted as such (take_lost() or the packet counter)."""

    def take_lost(self) -> tuple[int, int]:
        """(packets, rows) of abandoned measurement packets whose header had arrived, since the last call.

        GDX time is the sample index, so a decoder that cannot count losses otherwise adds these
        rows to keep later samples on time.
        """
        lost = (self._lost_packets, self._lost_rows)
        self._lost_packets = self._lost_rows = 0
        return lost

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished packet held back."""
        return len(self._buffer)

    def _abandon(self) -> None:
        rows = _header_rows(self._buffer)
        if rows:
            self._lost_rows += rows
            self._lost_packets += 1
        self._buffer.clear()

    def _continuation_problem(self, data: bytes) -> str | None:
        """Why this fragment cannot be the next piece of the buffered packet, or None."""
        if len(self._buffer) < 2 or not data:
            return None
        need = self._buffer[1] - len(self._buffer)
        if len(data) > need:
            return f"a {len(data)}-byte fragment overran the {need} bytes the packet still needed (a fragment was lost)"
        if len(data) < need and len(data) < self._fragment_size:
            return f"a short {len(data)}-byte last fragment left {need - len(data)} bytes missing (a fragment was lost)"
        return None

    def feed(self, fragment: bytes) -> list[bytes]:
        data = bytes(fragment)
        out, self._ready = self._ready, []
        problems: list[str] = []
        if self._buffer and _starts_measurement(data):
            problems.append(f"abandoned an unfinished {len(self._buffer)}-byte packet for a new one")
            self._abandon()
        elif self._buffer and (problem := self._continuation_problem(data)) is not None:
            problems.append(f"abandoned an unfinished {len(self._buffer)}-byte packet: {problem}")
            self._abandon()
            data = b""
        pos = 0
        origin: int | None = None if self._buffer else 0
        # origin: where the buffered packet began in this fragment; None if in an earlier one
        while pos < len(data):
            if not self._buffer:
                origin = pos
                self._start_len = len(data) if pos == 0 else 0
            need = 2 - len(self._buffer) if len(self._buffer) < 2 else self._buffer[1] - len(self._buffer)
            self._buffer += data[pos : pos + need]
            pos = min(pos + need, len(data))
            problem = _header_problem(self._buffer)
            if problem is not None:
                self._buffer.clear()
                if origin is None:
                    problems.append(f"abandoned a corrupt packet ({problem})")
                    pos = 0  # the fragment itself may start the next packet
                    continue
                problems.append(f"dropped {len(data) - origin} bytes that cannot start a packet ({problem})")
                break
            if len(self._buffer) >= 2 and len(self._buffer) == self._buffer[1]:
                if origin is None and self._start_len:
                    self._fragment_size = self._start_len
                out.append(bytes(self._buffer))
                self._buffer.clear()
        self.only_losses = bool(problems) and all(p.startswith(_LOSS_PROBLEM) for p in problems)
        if problems:
            self._ready = out
            raise DecodeError("GDX reassembly: " + "; ".join(problems), bytes(fragment))
        return out


def fragments(packet: bytes, max_len: int = ATT_NOTIFY_MAX) -> list[bytes]:
    """Split a packet into consecutive writes/notifications of at most max_len bytes."""
    if max_len < 1:
        raise ConfigError(f"max_len must be positive, got {max_len}")
    return [packet[i : i + max_len] for i in range(0, len(packet), max_len)]
