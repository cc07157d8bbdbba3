"""One log's band curve and per-rep knee torque: the detector's shank pitch and rate beside the force.

The glue between a log and the pure functions of band_curve (the fit) and band_torque (the
geometry): each set runs through the detector with its per-sample knee estimates kept
(Analyzer(kinematics=True), as session_chart.knee_trace does), with the thigh pitch left at 0 so the
"knee angle" it reports is the shank's own world pitch (band_torque says why that matters). The force
is read at the same instants. The reps are the ones the caller already has (the index's analysis),
so their eccentric windows are the ones every other figure uses. Each set's samples up to the start
of its second rep are left out of the curve (and counted): the knee estimate is still settling then
(on the bench its absolute angle was off by 5-40 deg in half the sessions until the second flexion
had begun: the first flexion shows the shank's direction, the rest after the first rep is still read
with the old one), and a band's first stretch of a session reads high (Mullins, science.md 1.3).
The curve is fitted with the samples' times since the session's first sample (taken as the load
cell's tare), so its zero drift is estimated with it (bandlog.progress.band_curve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bandlog.detect.exercises import DEFAULT_KEY, exercise_profile
from bandlog.progress.band_curve import BandCurve, fit_band_curve
from bandlog.progress.band_geometry import Geometry, resolve_geometry
from bandlog.progress.band_torque import equivalent_load_kg, rep_torques
from bandlog.progress.index_rows import exercise_key, sql_value

if TYPE_CHECKING:
    from bandlog.core.pipeline import Kinematics


@dataclass(frozen=True)
class SessionTrace:
    """Per-sample shank pitch (deg), knee rate (deg/s, flexion positive) and force (N) of one set."""

    set_number: int
    t_s: np.ndarray
    pitch_deg: np.ndarray
    rate_dps: np.ndarray
    force_n: np.ndarray
    settled_s: float = -np.inf
    """Start of the set's second rep (end of its first without one): the curve uses the samples after
    it only (module docstring)."""
    angle_unsure: bool = False
    """The detector's absolute angle was unsure by the set's end (Kinematics.angle_unsure)."""


ANGLE_UNSURE_NOTE = "the absolute knee angle was unsure (the shank's direction in the sensor loosely pinned down): torque and band curve may be off"


@dataclass(frozen=True)
class SessionBand:
    """What a session says about its band: the curve, the geometry used, and each rep's torque."""

    curve: BandCurve
    geometry: Geometry
    peak_torque_n_m: list[float | None]
    mean_torque_n_m: list[float | None]
    """Per row of the reps table given, in its order."""
    angle_unsure: bool = False
    """Some set's absolute angle was unsure (SessionTrace.angle_unsure)."""

    @property
    def notes(self) -> tuple[str, ...]:
        """What the torque and curve rest on that is not measured or not sure: the geometry assumed, an
        unsure angle (the index's torque_note, analyze's lines)."""
        return (*self.geometry.assumed, *((ANGLE_UNSURE_NOTE,) if self.angle_unsure else ()))

    @property
    def session_peak_torque_n_m(self) -> float | None:
        values = [v for v in self.peak_torque_n_m if v is not None]
        return max(values) if values else None

    @property
    def session_mean_torque_n_m(self) -> float | None:
        values = [v for v in self.mean_torque_n_m if v is not None]
        return sum(values) / len(values) if values else None

    @property
    def equivalent_load_kg(self) -> float | None:
        peak = self.session_peak_torque_n_m
        return None if peak is None else equivalent_load_kg(peak, self.geometry.shank_m)


def block_trace(block: Any, target_ecc_s: float, exercise: str = DEFAULT_KEY, set_number: int = 1) -> tuple[SessionTrace | None, list[Any]]:
    """One set's trace (None without force, IMU or a knee estimate) and the detector's reps of it."""
    from bandlog.detect.analysis import Analyzer
    from bandlog.detect.params import DetectorParams

    if len(block) < 2 or block.gyro_dps is None or block.force_n is None:
        return None, []
    analyzer = Analyzer(target_ecc_s=target_ecc_s, params=DetectorParams(thigh_pitch_deg=0.0), exercise=exercise, kinematics=True)
    analyzer.feed(block)
    kinematics = analyzer.last_kinematics()
    analyzer.finish()
    if kinematics is None or kinematics.knee_angle_deg is None or kinematics.knee_rate_dps is None:
        return None, list(analyzer.reps)
    force = np.interp(kinematics.t_s, block.t_s, block.force_n)
    settled_s = settled_after([(r.start_s, r.end_s) for r in analyzer.reps])
    trace = SessionTrace(set_number, kinematics.t_s, kinematics.knee_angle_deg, kinematics.knee_rate_dps, force, settled_s,
                         kinematics.angle_unsure)
    return trace, list(analyzer.reps)


def kept_traces(log: Any, kinematics: Sequence[Kinematics | None], reps: Any) -> list[SessionTrace]:
    """Each set with force and IMU, from the knee estimates the analysis that found `reps` already kept
    (its AnalysisResult.kinematics, one per set), so the detector runs once: the shank's pitch is its
    knee angle less the thigh pitch it assumed (tilt.py: knee = inclination + thigh pitch); block_trace
    gives the same from a run of its own (a simulated block, bench/band_curve.py)."""
    thigh_pitch_deg = exercise_profile(DEFAULT_KEY).params().thigh_pitch_deg
    traces = []
    for number, (block, kept) in enumerate(zip(log.sets(), kinematics, strict=False), start=1):
        if kept is None or kept.knee_angle_deg is None or kept.knee_rate_dps is None or block.force_n is None or len(block) < 2:
            continue
        force = np.interp(kept.t_s, block.t_s, block.force_n)
        rows = reps.loc[reps["set"] == number] if len(reps) else reps
        settled_s = settled_after(list(zip((sql_value(v) for v in rows.get("start_s", [])), (sql_value(v) for v in rows.get("end_s", [])),
                                           strict=True)))
        traces.append(SessionTrace(number, kept.t_s, kept.knee_angle_deg - thigh_pitch_deg, kept.knee_rate_dps, force, settled_s,
                                   kept.angle_unsure))
    return traces


def settled_after(reps: Sequence[tuple[float | None, float | None]]) -> float:
    """Where a set's samples start counting for the curve, given its reps' (start s, end s) in order:
    the second rep's start, the first's end without a second (module docstring)."""
    if len(reps) > 1 and reps[1][0] is not None:
        return float(reps[1][0])
    return next((float(end) for _, end in reps if end is not None), -np.inf)


def traces_curve(traces: list[SessionTrace]) -> BandCurve:
    """The band curve over the sets' samples after each one's settled_s (those before counted in
    first_rep), with the times since the session's first sample (the load cell's tare) for its zero drift."""
    keep = [t.t_s > t.settled_s for t in traces]
    t0_s = tare_s(traces)
    angle, rate, force, t_s = (np.concatenate([getattr(t, name)[k] for t, k in zip(traces, keep, strict=True)])
                               for name in ("pitch_deg", "rate_dps", "force_n", "t_s"))
    curve = fit_band_curve(angle, rate, force, t_s - t0_s)
    return replace(curve, first_rep=sum(int((~k).sum()) for k in keep))


def tare_s(traces: Sequence[SessionTrace]) -> float:
    """The session's first sample time, taken as the load cell's tare (the drift's zero)."""
    return min((float(t.t_s[0]) for t in traces if t.t_s.size), default=0.0)


def without_drift(trace: SessionTrace, curve: BandCurve, t0_s: float) -> SessionTrace:
    """The trace with the zero drift the curve took out (BandCurve.drift_taken_n_per_min) taken out of its
    force too, so torque and curve rest on the same force; unchanged when none was taken out."""
    if not curve.drift_taken_n_per_min:
        return trace
    return replace(trace, force_n=trace.force_n - curve.drift_taken_n_per_min / 60.0 * (trace.t_s - t0_s))


def band_from_traces(traces: list[SessionTrace], reps: Any, geometry: Geometry) -> SessionBand | None:
    """The curve over every set's samples and the torque of each row of `reps` (a table with set,
    ecc_start_s and ecc_end_s); None without any force+IMU set."""
    if not traces:
        return None
    curve = traces_curve(traces)
    t0_s = tare_s(traces)
    by_set = {t.set_number: without_drift(t, curve, t0_s) for t in traces}
    peaks: list[float | None] = []
    means: list[float | None] = []
    for row in reps.to_dict("records") if len(reps) else []:
        trace = by_set.get(int(row.get("set", 1) or 1))
        window = (sql_value(row.get("ecc_start_s")), sql_value(row.get("ecc_end_s")))
        peak, mean = rep_torques(trace.t_s, trace.pitch_deg, trace.force_n, [window], geometry)[0] if trace else (None, None)
        peaks.append(peak)
        means.append(mean)
    return SessionBand(curve, geometry, peaks, means, any(t.angle_unsure for t in traces))


def session_band(
    log: Any, reps: Any, shank_cm: float | None, kinematics: Sequence[Kinematics | None],
    within: Sequence[tuple[int, float, float]] | None = None,
) -> SessionBand | None:
    """A log's band curve and rep torques, given its reps table, the knee estimates the analysis that
    found them kept (analyze(kinematics=True)) and the person's shank length (cm); None for another
    exercise than the seated reverse curl, whose geometry (the shank's pitch, an anchor in front) the
    torque assumes, or without any force+IMU set. `within`: only the samples of these (log set,
    start s, end s) spans, one leg's sets of a log of both legs (bandlog.progress.leg_split)."""
    if exercise_key(log.meta.exercise) != DEFAULT_KEY:
        return None
    traces = kept_traces(log, kinematics, reps)
    if within is not None:
        traces = traces_within(traces, within)
    return band_from_traces(traces, reps, resolve_geometry(shank_cm, log.meta.extra))


def traces_within(traces: list[SessionTrace], spans: Sequence[tuple[int, float, float]]) -> list[SessionTrace]:
    """Each trace cut to its samples inside `spans` ((log set, start s, end s), widened by
    leg_split.SPAN_MARGIN_S); a trace left with none is dropped."""
    from bandlog.progress.leg_split import SPAN_MARGIN_S

    kept = []
    for trace in traces:
        inside = np.zeros(trace.t_s.shape, dtype=bool)
        for number, start_s, end_s in spans:
            if number == trace.set_number:
                inside |= (trace.t_s >= start_s - SPAN_MARGIN_S) & (trace.t_s <= end_s + SPAN_MARGIN_S)
        if inside.any():
            kept.append(replace(trace, t_s=trace.t_s[inside], pitch_deg=trace.pitch_deg[inside], rate_dps=trace.rate_dps[inside],
                                force_n=trace.force_n[inside]))
    return kept


BAND_SESSION_COLUMNS = ("peak_torque_n_m", "mean_torque_n_m", "equivalent_load_kg", "band_curve", "torque_note", "torque_shank_cm",
                        "rom_deg")
"""What the index keeps of a session's band (sessions table), after the columns of index_rows.session_row."""
BAND_REP_COLUMNS = ("peak_torque_n_m", "mean_torque_n_m")
"""... and of each rep (reps table), after REP_COLUMNS."""


def band_row(band: SessionBand | None, shank_cm: float | None, reps: Any) -> dict[str, Any]:
    """A session's BAND_SESSION_COLUMNS; `torque_shank_cm` is the shank length the torque used as given
    (None: none was), so a changed --shank-cm has the index compute it again; `rom_deg` the median
    range of motion of its reps (the move-up rule's "full range", bandlog.progress.band_move_up)."""
    roms = [v for v in (sql_value(x) for x in reps.get("rom_deg", [])) if v is not None]
    rom = {"torque_shank_cm": shank_cm, "rom_deg": float(np.median(roms)) if roms else None}
    if band is None:
        return dict.fromkeys(BAND_SESSION_COLUMNS) | rom
    return rom | {
        "peak_torque_n_m": band.session_peak_torque_n_m,
        "mean_torque_n_m": band.session_mean_torque_n_m,
        "equivalent_load_kg": band.equivalent_load_kg,
        "band_curve": band.curve.to_json(),
        "torque_note": "; ".join(band.notes) or None,
    }
