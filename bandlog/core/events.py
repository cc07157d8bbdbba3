"""Events the detector emits. Times are device-clock seconds (`t_s`), back-dated to when the thing
happened; `detected_at_s` is the sample time at which the detector became sure of it (latency)."""

from __future__ import annotations

from dataclasses import dataclass

from bandlog.core.results import RepMetrics


@dataclass(frozen=True)
class RepStarted:
    t_s: float
    detected_at_s: float


@dataclass(frozen=True)
class EccentricStarted:
    t_s: float
    detected_at_s: float


@dataclass(frozen=True)
class EccentricEnded:
    t_s: float
    ecc_start_s: float
    detected_at_s: float


@dataclass(frozen=True)
class RepCompleted:
    """A rep passed every validity gate; `metrics` is its row of the analyze table."""

    metrics: RepMetrics
    detected_at_s: float


@dataclass(frozen=True)
class RepRejected:
    """A candidate that was not a rep; `code` is a bandlog.core.results.REJECT_REASONS key."""

    t_s: float
    reason: str
    detected_at_s: float
    code: str = "small_range"


Event = RepStarted | EccentricStarted | EccentricEnded | RepCompleted | RepRejected
