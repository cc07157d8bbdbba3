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


@dataclass(frozen=True)
class LinkStatus:
    """A snapshot of the link; sources emit one whenever something changes, and about once a second."""

    state: LinkState
    device: str = ""
    samples_per_s: float | None = None
    samples_total: int = 0
    dropped_packets: int = 0
    corrupted_packets: int = 0
    skipped_samples: int = 0
    """Samples that arrived but were dropped: an impossible device timestamp or a NaN/inf value."""
    reconnects: int = 0
    battery_percent: float | None = None
    message: str = ""
