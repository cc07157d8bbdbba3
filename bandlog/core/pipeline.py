"""The one pipeline every recording goes through, live or replayed:

    source items -> Analyzer (detector + metrics) -> sinks (log, live view, ...)

A source is any async iterator of SourceItem: the BLE session, a replayed log, a simulation.
Sinks are taps: they observe and never feed back. The analyzer is pure computation; this module
only wires it and does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bandlog.core.events import Event
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import RejectedCandidate, RepMetrics, SetRating, SetSummary
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus


@dataclass(frozen=True)
class Gap:
    """A stretch of device time with no samples because the link was down."""

    start_s: float
    end_s: float
    reason: str = "link lost"


@dataclass(frozen=True)
class Tare:
    """The software tare, announced before its search (decided=False) and given when known.

    The samples taken during the search reach the sinks untared, as they arrive, so the log holds
    them from the first second (a crash loses at most a second); a sink that keeps them re-tares
    them when the offset comes. The analyzer is fed them tared, once the offset is known.
    """

    offset_n: float | None = None
    decided: bool = True


SourceItem = RecordingMeta | SampleBlock | LinkStatus | Gap | Tare | SetRating


def tared(block: SampleBlock, offset_n: float | None) -> SampleBlock:
    """The block with the tare offset subtracted from its force (unchanged without either)."""
    if offset_n is None or block.force_n is None:
        return block
    return replace(block, force_n=block.force_n - offset_n)


class Analyzer(Protocol):
    """Streaming detector + metrics; implemented by bandlog.detect.analysis.Analyzer."""

    def feed(self, block: SampleBlock) -> list[Event]: ...

    def finish(self) -> list[Event]: ...

    def summary(self) -> SetSummary: ...

    def last_kinematics(self) -> Kinematics | None:
        """Per-sample knee angle / angular velocity estimates for the block fed last, if any."""
        ...


@runtime_checkable
class ReadsMeta(Protocol):
    """An analyzer that also reads the recording's metadata (the force sensor's range, the tare offset);
    the pipeline hands it each RecordingMeta, and the meta again once a software tare is decided."""

    def on_meta(self, meta: RecordingMeta) -> None: ...


@dataclass(frozen=True)
class Kinematics:
    """The detector's per-sample knee estimates for one block (for the live view; not logged)."""

    t_s: np.ndarray
    knee_angle_deg: np.ndarray | None
    knee_rate_dps: np.ndarray | None
    angle_unsure: bool = False
    """The absolute angle rests on a shank direction the data pin down only loosely, as of this block
    (bandlog.detect.tilt.ShankTilt.unsure): figures built on it (knee torque, the band curve) say so."""
    whole_knee: bool = False
    """The angle is the knee's whole turn, a thigh sensor's taken from the shank's (bandlog.detect.thigh),
    as of this block's end (ExerciseProfile.with_thigh names it)."""

    @staticmethod
    def concat(parts: Sequence[Kinematics]) -> Kinematics:
        """One Kinematics for consecutive parts (frames held while the detector started)."""
        if len(parts) == 1:
            return parts[0]

        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(k, name) for k in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)

        last = parts[-1]
        return Kinematics(np.concatenate([k.t_s for k in parts]), join("knee_angle_deg"), join("knee_rate_dps"), last.angle_unsure,
                          last.whole_knee)


class Coach(Protocol):
    """What follows the detector's events through a plan (bandlog.coach.SetTracker): the pipeline
    feeds it each block's events with the block's last sample time, and passes on what it emits."""

    def feed(self, events: Sequence[Event], now_s: float | None) -> Sequence[Any]: ...

    def finish(self, last_t_s: float) -> Sequence[Any]: ...

    def view(self, now_s: float) -> Any:
        """What a live view shows at device time now_s (set and rep counters, the rest timer)."""
        ...

    @property
    def done(self) -> bool:
        """True once the plan is over: a live recording may stop there."""
        ...


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

    def on_tare(self, tare: Tare) -> None:
        pass

    def on_rating(self, rating: SetRating) -> None:
        """The user rated a set (RPE, pain): the log keeps it, a view confirms it."""

    def on_coach(self, events: Sequence[Any], view: Any) -> None:
        """After each block, with a plan: what the coach emitted (bandlog.coach.events: set started or
        ended, rest over, control lost; often none) and its view at the block's end (bandlog.coach.CoachView)."""

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
    link: LinkStatus | None = None
    """The source's last LinkStatus (losses, damage, reconnects); None for a source without one."""
    ratings: tuple[SetRating, ...] = ()
    """The user's set ratings (RPE, pain), in the order they came."""
    coach_events: tuple[Any, ...] = ()
    """What the coach emitted, in order (empty without a plan)."""
    last_sample_t_s: float | None = None
    """Device time of the newest sample (None without samples)."""


class Pipeline:
    """Routes source items through the analyzer to every sink; usable synchronously or async."""

    def __init__(self, analyzer: Analyzer, sinks: Iterable[Sink] = (), coach: Coach | None = None) -> None:
        self.analyzer = analyzer
        self.sinks = list(sinks)
        self.coach = coach
        self.coach_events: list[Any] = []
        self._last_t_s: float | None = None
        self.last_sample_t_s: float | None = None
        """Device time of the newest sample pushed (what a user's input is dated with)."""
        self.finished = False
        """True once finish() ran: the sinks are closed, nothing more may be pushed."""
        self.meta: RecordingMeta | None = None
        self.reps: list[RepMetrics] = []
        self.rejected: list[RejectedCandidate] = []
        self.gaps: list[Gap] = []
        self.samples_total = 0
        self.link: LinkStatus | None = None
        self.ratings: list[SetRating] = []
        self._untared: list[SampleBlock] | None = None
        """Blocks held from the analyzer while a software tare is searched for (None: no search)."""

    def push(self, item: SourceItem) -> None:
        if isinstance(item, SampleBlock):
            self.samples_total += len(item)
            if len(item):
                self.last_sample_t_s = float(item.t_s[-1])
            for sink in self.sinks:
                sink.on_samples(item)
            if self._untared is not None:
                self._untared.append(item)
                return
            self._analyze(item)
        elif isinstance(item, Tare):
            self._on_tare(item)
        elif isinstance(item, LinkStatus):
            self.link = item
            for sink in self.sinks:
                sink.on_status(item)
        elif isinstance(item, Gap):
            self.gaps.append(item)
            for sink in self.sinks:
                sink.on_gap(item)
        elif isinstance(item, RecordingMeta):
            self.meta = item
            self._tell_meta()
            for sink in self.sinks:
                sink.on_start(item)
        elif isinstance(item, SetRating):
            self.ratings.append(item)
            for sink in self.sinks:
                sink.on_rating(item)
        else:
            raise TypeError(f"not a pipeline item: {item!r}")

    def _analyze(self, block: SampleBlock) -> None:
        events = self.analyzer.feed(block)
        kinematics = self.analyzer.last_kinematics()
        if kinematics is not None:
            for sink in self.sinks:
                sink.on_kinematics(kinematics)
        self._dispatch(events)
        now_s = float(block.t_s[-1]) if len(block) else None
        if now_s is not None:
            self._last_t_s = now_s
        if self.coach is not None:
            self._coached(self.coach.feed(events, now_s))

    def _coached(self, coach_events: Sequence[Any]) -> None:
        assert self.coach is not None
        self.coach_events.extend(coach_events)
        view = self.coach.view(self._last_t_s) if self._last_t_s is not None else None
        for sink in self.sinks:
            sink.on_coach(coach_events, view)

    def _tell_meta(self) -> None:
        if self.meta is not None and isinstance(self.analyzer, ReadsMeta):
            self.analyzer.on_meta(self.meta)

    def _on_tare(self, tare: Tare) -> None:
        """Start holding the analyzer's input (search begins), or release it tared (offset known)."""
        if not tare.decided:
            self._untared = []
        else:
            if self.meta is not None:
                self.meta = replace(self.meta, tare_offset_n=tare.offset_n)
                self._tell_meta()
            held, self._untared = self._untared or [], None
            for block in held:
                self._analyze(tared(block, tare.offset_n))
        for sink in self.sinks:
            sink.on_tare(tare)

    def _dispatch(self, events: list[Event]) -> None:
        if not events:
            return
        from bandlog.core.events import RepCompleted, RepRejected

        for event in events:
            if isinstance(event, RepCompleted):
                self.reps.append(event.metrics)
            elif isinstance(event, RepRejected):
                self.rejected.append(RejectedCandidate(event.t_s, event.detected_at_s, event.code, event.reason))
        for sink in self.sinks:
            sink.on_events(events)

    def finish(self) -> PipelineResult:
        """Flush the analyzer, tell sinks the set is over, close them (always, even on error)."""
        self.finished = True
        try:
            if self._untared is not None:  # ended before the tare was decided: there is none
                self._on_tare(Tare(None))
            last_events = self.analyzer.finish()
            self._dispatch(last_events)
            if self.coach is not None:
                self._coached(self.coach.feed(last_events, None))
                if self._last_t_s is not None:
                    self._coached(self.coach.finish(self._last_t_s))
            summary = self.analyzer.summary()
            for sink in self.sinks:
                sink.on_end(summary, tuple(self.reps))
        finally:
            for sink in self.sinks:
                sink.close()
        return PipelineResult(
            self.meta, tuple(self.reps), summary, tuple(self.gaps), self.samples_total, tuple(self.rejected), self.link,
            tuple(self.ratings), tuple(self.coach_events), self.last_sample_t_s,
        )

    async def run(self, source: AsyncIterable[SourceItem], *, stop_when_coached: bool = False) -> PipelineResult:
        """Consume a whole source, then finish. Sinks are closed even if the source fails.
        `stop_when_coached`: end as soon as the coach says the plan is over (a hands-free live
        recording stops itself at the end of its plan; the source is closed, stopping the device)."""
        try:
            async for item in source:
                self.push(item)
                if stop_when_coached and self.coach is not None and self.coach.done:
                    aclose = getattr(source, "aclose", None)
                    if aclose is not None:
                        await aclose()
                    break
        except BaseException:
            for sink in self.sinks:
                sink.close()
            aclose = getattr(source, "aclose", None)
            if aclose is not None:  # stop the device now (a full disk), not at interpreter exit
                await aclose()
            raise
        return self.finish()
