"""The one pipeline every recording goes through, live or replayed:

    source items -> Analyzer (detector + metrics) -> sinks (log, live view, ...)

A source is any async iterator of SourceItem: the BLE session, a replayed log, a simulation.
Sinks are taps: they observe and never feed back. The analyzer is pure computation; this module
only wires it and does no I/O of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterable, Iterable, Protocol, Sequence

import numpy as np

from bandlog.detect.events import Event
from bandlog.meta import RecordingMeta
from bandlog.results import RejectedCandidate, RepMetrics, SetSummary
from bandlog.samples import SampleBlock
from bandlog.status import LinkStatus


@dataclass(frozen=True)
class Gap:
    """A stretch of device time with no samples because the link was down."""

    start_s: float
    end_s: float
    reason: str = "link lost"


SourceItem = RecordingMeta | SampleBlock | LinkStatus | Gap


class Analyzer(Protocol):
    """Streaming detector + metrics; implemented by bandlog.analysis.Analyzer."""

    def feed(self, block: SampleBlock) -> list[Event]: ...

    def finish(self) -> list[Event]: ...

    def summary(self) -> SetSummary: ...

    def last_kinematics(self) -> "Kinematics | None":
        """Per-sample knee angle / angular velocity estimates for the block fed last, if any."""
        ...


@dataclass(frozen=True)
class Kinematics:
    """The detector's per-sample knee estimates for one block (for the live view; not logged)."""

    t_s: np.ndarray
    knee_angle_deg: np.ndarray | None
    knee_rate_dps: np.ndarray | None

    @staticmethod
    def concat(parts: "Sequence[Kinematics]") -> "Kinematics":
        """One Kinematics for consecutive parts (frames held while the detector started)."""
        if len(parts) == 1:
            return parts[0]

        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(k, name) for k in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)

        return Kinematics(np.concatenate([k.t_s for k in parts]), join("knee_angle_deg"), join("knee_rate_dps"))


class Sink:
    """A tap on the pipeline; override what you need. Must not block for long."""

    def on_start(self, meta: RecordingMeta) -> None:
        pass

    def on_samples(self, block: SampleBlock) -> None:
        pass

    def on_events(self, events: Sequence[Event]) -> None:
        pass

    def on_kinematics(self, kinematics: Kinematics) -> None:
        pass

    def on_status(self, status: LinkStatus) -> None:
        pass

    def on_gap(self, gap: Gap) -> None:
        pass

    def on_end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class PipelineResult:
    meta: RecordingMeta | None
    reps: tuple[RepMetrics, ...]
    summary: SetSummary
    gaps: tuple[Gap, ...]
    samples_total: int
    rejected: tuple[RejectedCandidate, ...] = ()
    """Candidates the detector saw and did not count as reps, in the order it decided."""


class Pipeline:
    """Routes source items through the analyzer to every sink; usable synchronously or async."""

    def __init__(self, analyzer: Analyzer, sinks: Iterable[Sink] = ()) -> None:
        self.analyzer = analyzer
        self.sinks = list(sinks)
        self.meta: RecordingMeta | None = None
        self.reps: list[RepMetrics] = []
        self.rejected: list[RejectedCandidate] = []
        self.gaps: list[Gap] = []
        self.samples_total = 0

    def push(self, item: SourceItem) -> None:
        if isinstance(item, SampleBlock):
            self.samples_total += len(item)
            for sink in self.sinks:
                sink.on_samples(item)
            events = self.analyzer.feed(item)
            kinematics = self.analyzer.last_kinematics()
            if kinematics is not None:
                for sink in self.sinks:
                    sink.on_kinematics(kinematics)
            self._dispatch(events)
        elif isinstance(item, LinkStatus):
            for sink in self.sinks:
                sink.on_status(item)
        elif isinstance(item, Gap):
            self.gaps.append(item)
            for sink in self.sinks:
                sink.on_gap(item)
        elif isinstance(item, RecordingMeta):
            self.meta = item
            for sink in self.sinks:
                sink.on_start(item)
        else:
            raise TypeError(f"not a pipeline item: {item!r}")

    def _dispatch(self, events: list[Event]) -> None:
        if not events:
            return
        from bandlog.detect.events import RepCompleted, RepRejected

        for event in events:
            if isinstance(event, RepCompleted):
                self.reps.append(event.metrics)
            elif isinstance(event, RepRejected):
                self.rejected.append(RejectedCandidate(event.t_s, event.detected_at_s, event.code, event.reason))
        for sink in self.sinks:
            sink.on_events(events)

    def finish(self) -> PipelineResult:
        """Flush the analyzer, tell sinks the set is over, close them (always, even on error)."""
        try:
            self._dispatch(self.analyzer.finish())
            summary = self.analyzer.summary()
            for sink in self.sinks:
                sink.on_end(summary, tuple(self.reps))
        finally:
            for sink in self.sinks:
                sink.close()
        return PipelineResult(
            self.meta, tuple(self.reps), summary, tuple(self.gaps), self.samples_total, tuple(self.rejected)
        )

    async def run(self, source: AsyncIterable[SourceItem]) -> PipelineResult:
        """Consume a whole source, then finish. Sinks are closed even if the source fails."""
        try:
            async for item in source:
                self.push(item)
        except BaseException:
            for sink in self.sinks:
                sink.close()
            raise
        return self.finish()
