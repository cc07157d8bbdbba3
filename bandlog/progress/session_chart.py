"""One session, ready to chart: its samples and reps on one time line, plus the knee trace.

This is the glue between a log and `plots.session_figure`, shared by `bandlog plot` and the
notebooks. The reps come from `bandlog.app.api.analyze`; the knee angle (or rate) is the detector's own
estimate, `Analyzer.last_kinematics()` after feeding each whole set, so the chart shows exactly what
detection saw rather than a second estimate. The plots module itself never runs the detector.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bandlog.core.meta import RecordingMeta
from bandlog.detect.explain import reps_phrase
from bandlog.progress.plots import estimated_timings, session_figure, set_offsets_s, stitch_sets


class KneeTrace(NamedTuple):
    """The detector's knee estimate over a whole session (knee_trace)."""

    t_s: np.ndarray
    values: np.ndarray
    kind: str
    """'angle' or 'rate'."""
    whole_knee: bool = False
    """The angle is the knee's own turn (a thigh sensor's taken out), not the exercise's usual angle."""


@dataclass(frozen=True)
class SessionChart:
    """Tables for one session's figure; times of later sets are shifted to follow earlier ones."""

    name: str
    meta: RecordingMeta
    samples: pd.DataFrame
    reps: pd.DataFrame
    target_ecc_s: float
    knee: KneeTrace | None
    """The detector's knee angle or rate, or None when the log has no IMU."""
    exercise: str | None = None
    """The profile key the log was analysed with (None: the one its header names)."""

    @property
    def title(self) -> str:
        leg = f", {self.meta.leg} leg" if self.meta.leg else ""
        band = f", {self.meta.band} band" if self.meta.band else ""
        durations = pd.to_numeric(self.reps["ecc_duration_s"], errors="coerce").dropna() if len(self.reps) else pd.Series(dtype=float)
        reps = reps_phrase(len(self.reps), len(durations))
        estimated = " (estimated from force alone)" if estimated_timings(self.reps) else ""
        return f"{self.name}{leg}{band}: {reps}, eccentric TUT {float(durations.sum()):.1f} s{estimated}"

    def figure(self) -> Figure:
        from bandlog.detect.exercises import exercise_profile, profile_for_header

        profile = exercise_profile(self.exercise) if self.exercise else profile_for_header(self.meta.exercise)[0]
        if self.knee is not None and self.knee.whole_knee:
            profile = profile.with_thigh()
        knee = None if self.knee is None else (self.knee.t_s, self.knee.values, self.knee.kind)
        return session_figure(self.samples, self.reps, self.target_ecc_s, knee=knee, title=self.title, profile=profile)


def knee_trace(log: Any, target_ecc_s: float, exercise: str | None = None) -> KneeTrace | None:
    """The detector's knee angle (or rate) over each whole set, stitched like the samples; None without IMU.
    `exercise`: a profile key, or None for the one the log's header names."""
    from bandlog.detect.analysis import Analyzer

    offsets = set_offsets_s(log.samples)
    times, values, kinds, whole = [], [], set(), []
    for set_number, block in enumerate(log.sets(), start=1):
        if len(block) == 0 or block.gyro_dps is None:
            return None
        analyzer = Analyzer(target_ecc_s=target_ecc_s, exercise=exercise)
        analyzer.on_meta(log.meta)
        analyzer.feed(block)
        kinematics = analyzer.last_kinematics()
        analyzer.finish()
        if kinematics is None:
            return None
        whole.append(kinematics.whole_knee)
        if kinematics.knee_angle_deg is not None:
            values.append(kinematics.knee_angle_deg)
            kinds.add("angle")
        elif kinematics.knee_rate_dps is not None:
            values.append(kinematics.knee_rate_dps)
            kinds.add("rate")
        else:
            return None
        times.append(kinematics.t_s + offsets.get(set_number, 0.0))
    if len(kinds) != 1:
        return None
    return KneeTrace(np.concatenate(times), np.concatenate(values), kinds.pop(), all(whole))


def load_session_chart(log_or_path: Any, target_ecc_s: float | None = None, exercise: str | None = None) -> SessionChart:
    """Read (if given a path) and analyse a log, and gather what its session figure needs.

    `exercise` (a profile key; None: the log's own) picks the detector's profile, as in `bandlog.app.api.analyze`."""
    from bandlog.app.api import analyze, read_log

    log = log_or_path if hasattr(log_or_path, "samples") else read_log(os.fspath(log_or_path))
    target = log.meta.target_ecc_s if target_ecc_s is None else target_ecc_s
    result = analyze(log, target_ecc_s=target, exercise=exercise)
    samples, reps = stitch_sets(log.samples, result.reps)
    return SessionChart(log.path.name, log.meta, samples, reps, target, knee_trace(log, target, exercise), exercise)
