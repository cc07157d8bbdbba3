"""The Python API for notebooks and scripts: read any log, analyse it.

`analyze` is not a second implementation of the detector: it replays every set through
`bandlog.core.pipeline.Pipeline(Analyzer(...))` with `replay_source(..., speed=None)`, the very path
`bandlog replay` and live recording use, so all three give the same reps for the same samples.

    >>> import bandlog
    >>> result = bandlog.analyze("recordings/2026-11-28T221530_gdx-for.csv")  # doctest: +SKIP
    >>> result.reps[["rep", "ecc_duration_s", "tempo"]]                       # doctest: +SKIP
    >>> result.rejected[["set", "start_s", "code"]]                           # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bandlog.app.coaching import tracker_for
from bandlog.coach import PlanReport
from bandlog.core.pipeline import Coach, Kinematics, Pipeline, PipelineResult, Sink
from bandlog.core.results import REJECTED_COLUMNS, REP_COLUMNS, RejectedCandidate, RepMetrics, SetSummary
from bandlog.io.logdata import LogData
from bandlog.io.read import read_log as _read_log
from bandlog.io.schema import SET_COLUMN
from bandlog.sources.replay import replay_source

PathLike = str | os.PathLike[str]

REPLAY_BLOCK_S = 0.1
"""Device time per replayed block: a live view redraws smoothly."""
BATCH_BLOCK_S = 60.0
"""Device time per block when nothing watches (analyze, the index): the detector's fixed costs per
block vanish, while a block stays a few MB."""


@dataclass
class AnalysisResult:
    """Reps and summaries of one log. `reps` has REP_COLUMNS plus `set` (numbered from 1, like `rep`)."""

    log: LogData
    reps: pd.DataFrame
    summary: dict[str, Any]
    """SetSummary fields for the whole log (all sets together)."""
    sets: list[dict[str, Any]] = field(default_factory=list)
    """One SetSummary dict per set, each with its `set` index."""
    rejected: pd.DataFrame = field(default_factory=lambda: rejected_frame([]))
    """Candidates not counted as reps: REJECTED_COLUMNS plus `set`, so none is dropped silently."""
    plan_reports: list[PlanReport] = field(default_factory=list)
    """For a recording that followed a plan (`record --plan`): each log set against it, as the
    coach followed it live (sets, reps on tempo, eccentric TUT against the prescription)."""
    kinematics: list[Kinematics | None] = field(default_factory=list)
    """With analyze(kinematics=True): per set, the detector's per-sample knee estimates from the same
    pass that found the reps (None for a set without IMU); empty otherwise."""

    @property
    def repairs(self) -> dict[str, int]:
        """What reading the log repaired (LogData.repairs), e.g. {'out-of-order rows dropped': 2}."""
        return dict(self.log.repairs)


def read_log(path: PathLike) -> LogData:
    """Read a bandlog log or a supported export (Tindeq, Vernier, generic CSV); see bandlog.io.read."""
    return _read_log(path)


def analyze(
    log_or_path: LogData | PathLike, target_ecc_s: float | None = None, exercise: str | None = None,
    kinematics: bool = False,
) -> AnalysisResult:
    """Detect reps in every set of a log; `target_ecc_s` defaults to the log's own target tempo.

    `exercise` is a bandlog.detect.exercises profile key ('reverse-curl', its old alias 'knee',
    'runners-stretch', 'standing-l', or 'other': another band exercise, the gates learned from the
    set itself); None picks the profile the log's header names (an unknown one: the reverse curl,
    said in the summary's notes). `kinematics`: also keep each set's per-sample knee estimates
    (AnalysisResult.kinematics). Works inside a running event loop too (Jupyter): the replay then
    runs on a worker thread.
    """
    coroutine = analyze_async(log_or_path, target_ecc_s, exercise, kinematics)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class _KeptKinematics(Sink):
    """Collects a set's per-sample knee estimates as the pipeline hands them on."""

    def __init__(self) -> None:
        self.parts: list[Kinematics] = []

    def on_kinematics(self, kinematics: Kinematics) -> None:
        self.parts.append(kinematics)

    def joined(self) -> Kinematics | None:
        return Kinematics.concat(self.parts) if self.parts else None


async def analyze_async(
    log_or_path: LogData | PathLike, target_ecc_s: float | None = None, exercise: str | None = None,
    kinematics: bool = False,
) -> AnalysisResult:
    """`analyze` for callers already inside an event loop; `kinematics`: also keep each set's per-sample
    knee estimates (AnalysisResult.kinematics), from the same pass (the session index's band curve)."""
    log = log_or_path if isinstance(log_or_path, LogData) else read_log(log_or_path)
    target = log.meta.target_ecc_s if target_ecc_s is None else target_ecc_s
    results, plan_reports, kept = [], [], []
    for index in range(max(1, log.n_sets)):
        coach = tracker_for(log.meta)
        sink = _KeptKinematics() if kinematics else None
        results.append(await run_set(log, index, target, sinks=(sink,) if sink else (), exercise=exercise,
                                     block_s=BATCH_BLOCK_S, coach=coach))
        if sink is not None:
            kept.append(sink.joined())
        if coach is not None:
            plan_reports.append(coach.report())
    return AnalysisResult(
        log=log,
        reps=reps_frame([r.reps for r in results]),
        summary=combine_summaries([r.summary for r in results], [rep for r in results for rep in r.reps]),
        sets=[{**r.summary.to_dict(), SET_COLUMN: number} for number, r in enumerate(results, start=1)],
        rejected=rejected_frame([r.rejected for r in results]),
        plan_reports=plan_reports,
        kinematics=kept,
    )


async def run_set(
    log: LogData,
    set_index: int,
    target_ecc_s: float,
    speed: float | None = None,
    sinks: Sequence[Sink] = (),
    exercise: str | None = None,
    block_s: float = REPLAY_BLOCK_S,
    coach: Coach | None = None,
) -> PipelineResult:
    """One set of `log` through the pipeline: the shared path of `analyze` and `bandlog replay`.
    `block_s`: device time per block fed to the detector (its results do not depend on it).
    `coach`: what follows the recording's plan (bandlog.app.coaching.tracker_for), if it had one.
    `exercise`: a profile key, or None for the one the log's header names."""
    from bandlog.detect.analysis import Analyzer

    analyzer = Analyzer(target_ecc_s=target_ecc_s, exercise=exercise, kinematics=bool(sinks))
    pipeline = Pipeline(analyzer, sinks, coach=coach)
    return await pipeline.run(replay_source(log, set_index, speed=speed, block_s=block_s))


def reps_frame(reps_by_set: Sequence[Sequence[RepMetrics]]) -> pd.DataFrame:
    """The reps table: one row per rep, REP_COLUMNS then `set`."""
    rows = [{**rep.to_dict(), SET_COLUMN: number} for number, reps in enumerate(reps_by_set, start=1) for rep in reps]
    return pd.DataFrame(rows, columns=[*REP_COLUMNS, SET_COLUMN])


def rejected_frame(rejected_by_set: Sequence[Sequence[RejectedCandidate]]) -> pd.DataFrame:
    """The rejected-candidates table: one row per candidate, REJECTED_COLUMNS then `set`."""
    rows = [{**c.to_dict(), SET_COLUMN: number} for number, rejected in enumerate(rejected_by_set, start=1) for c in rejected]
    return pd.DataFrame(rows, columns=[*REJECTED_COLUMNS, SET_COLUMN])


def combine_summaries(summaries: Sequence[SetSummary], reps: Sequence[RepMetrics]) -> dict[str, Any]:
    """SetSummary fields for several sets together; a single set's summary is returned as it is.

    Eccentric means are over the rows with a timed eccentric only; notes are kept once each.
    """
    if len(summaries) == 1:
        return summaries[0].to_dict()

    def present(values: Sequence[float | None]) -> list[float]:
        return [v for v in values if v is not None]

    tension = present([s.tut_tension_s for s in summaries])
    peaks = present([s.peak_force_n for s in summaries])
    durations = present([r.ecc_duration_s for r in reps])
    modes = list(dict.fromkeys(s.mode for s in summaries))
    notes = dict.fromkeys(n.strip() for s in summaries for n in s.notes.split(";") if n.strip())
    return {
        "reps": sum(s.reps for s in summaries),
        "tut_ecc_s": sum(s.tut_ecc_s for s in summaries),
        "tut_tension_s": sum(tension) if tension else None,
        "mean_ecc_duration_s": sum(durations) / len(durations) if durations else None,
        "peak_force_n": max(peaks) if peaks else None,
        "mode": modes[0] if len(modes) == 1 else ",".join(modes),
        "eccentrics": sum(s.eccentrics for s in summaries),
        "rejected": sum(s.rejected for s in summaries),
        "notes": "; ".join(notes),
        "samples_filled": sum(s.samples_filled for s in summaries),
        "samples_dropped": sum(s.samples_dropped for s in summaries),
    }
