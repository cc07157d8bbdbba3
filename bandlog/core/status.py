"""Link state as the live view and the log see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LinkState(enum.Enum):
    SCANNING = "scanning"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    REPLAYING = "replaying"
    ENDED = "ended"


LOSS_COUNTING = ("counted", "estimated", "unknown")


def losses_phrase(status: LinkStatus) -> str:
    """'3 notifications lost', '~3 notifications lost (estimated from arrival times)', or that the
    sensor's losses cannot be counted: the words the live view and the end of a recording use."""
    n = status.dropped_packets
    if status.losses == "unknown":
        return "lost notifications: not countable (the sensor sends no counter or clock)"
    noun = "notification" if n == 1 else "notifications"
    if status.losses == "estimated":
        return f"~{n} {noun} lost (estimated from arrival times)"
    return f"{n} {noun} lost"


def link_summary(status: LinkStatus) -> str:
    """One line on what the link lost on the way, for the end of a recording."""
    parts = [losses_phrase(status)]
    if status.corrupted_packets:
        parts.append(f"{status.corrupted_packets} damaged")
    if status.skipped_samples:
        parts.append(f"{status.skipped_samples} samples skipped (impossible time or value)")
    if status.trimmed_packets:
        parts.append(f"{status.trimmed_packets} packets with extra bytes ignored")
    if status.reconnects:
        parts.append(f"{status.reconnects} reconnect{'' if status.reconnects == 1 else 's'}")
    return ", ".join(parts)


@dataclass(frozen=True)
class LinkStatus:
    """A snapshot of the link; sources emit one whenever something changes, and about once a second."""

    state: LinkState
    device: str = ""
    samples_per_s: float | None = None
    samples_total: int = 0
    dropped_packets: int = 0
    losses: str = "counted"
    """How dropped_packets is known (LOSS_COUNTING): 'counted' from a counter or clock, 'estimated'
    from arrival times (a sensor with neither), 'unknown' (host-timed: a lost notification leaves
    no trace, so 0 means nothing)."""
    corrupted_packets: int = 0
    skipped_samples: int = 0
    """Samples that arrived but were dropped: an impossible device timestamp or a NaN/inf value."""
    trimmed_packets: int = 0
    """Packets read after ignoring bytes that carry no data (text after a NUL, padding, bytes after
    the rows), as the vendors' parsers do: not damage, but shown, since a real unit differs from the spec."""
    reconnects: int = 0
    battery_percent: float | None = None
    message: str = ""
