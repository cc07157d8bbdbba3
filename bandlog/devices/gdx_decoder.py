"""GDX measurement packets to SampleBlocks: sample timing, and losses counted from the packet counter.

GDX sends no clock, so a sample's time is its index times the period, and a lost packet would shift
every later sample: this is where losses are found (byte 2 as a rolling counter once it behaves as
one, else the reassembler's abandoned rows) and reported. Kept apart from the conversation that
starts the stream (gdx_for.py): a decoder is pure, fed notifications, and never writes to the device.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bandlog.core.errors import DecodeError
from bandlog.core.link import Notification
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SampleBlock
from bandlog.devices.base import DROPPED_PACKETS, DecodeOutput, DeviceNotice, StreamDecoder
from bandlog.devices.gdx_channels import ChannelPlan
from bandlog.devices.gdx_codec import RESPONSE_UUID
from bandlog.devices.gdx_stream import MeasurementPacket, Reassembler, decode_packet

log = logging.getLogger(__name__)

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
    steps = [(b - a) % COUNTER_MODULO for a, b in itertools.pairwise(counters)]
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
    NaN or infinite value are skipped and counted; the packet's other rows are kept. Bytes after
    a packet's rows are ignored and counted (TRIMMED_PACKETS), as are `trimmed_replies`: replies the
    profile read before the stream while ignoring bytes in them (reported with the first output).
    The first packets wait (a few tens of ms) until byte 2 is judged.
    """

    counts_lost = True

    def __init__(self, plan: ChannelPlan, period_s: float, trimmed_replies: int = 0) -> None:
        self._plan = plan
        self._period_s = period_s
        self._index = 0
        self._reassembler = Reassembler()
        self._pending = DecodeOutput()
        self._pending.trimmed(trimmed_replies, "GDX replies with bytes after a text field's NUL or after the record")
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
            out.trimmed(int(bool(packet.trailing)), "a GDX packet had bytes after its rows")
            values: np.ndarray | None
            finite: np.ndarray | None
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
        finite = np.asarray(np.isfinite(values).all(axis=1))
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

