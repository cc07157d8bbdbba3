"""A simulated set for the live-view tests: PeriodicMotion signals and a scripted detector.

The scripted analyzer stands in for the real detector (written elsewhere): it emits, for each rep of
the periodic motion, the events the detector would, each back-dated and released only once the
stream has reached its `detected_at_s`, exactly as a causal detector would.
Rep k spans [k T, (k+1) T); the knee flexes to its peak at k T + T/2 and straightens (the eccentric)
until (k+1) T.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.events import EccentricEnded, EccentricStarted, Event, RepCompleted, RepRejected, RepStarted
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import PeriodicMotion
from bandlog.core.pipeline import Kinematics, Pipeline, Sink
from bandlog.core.results import NO_TEMPO, RepMetrics, SetSummary, tempo_class
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus

LATENCY_S = 0.2


def rep_events(
    n_reps: int, period_s: float, target_ecc_s: float = 3.0, peak_force_n: float = 40.0, isometric: frozenset[int] = frozenset()
) -> list[Event]:
    """The events of `n_reps` reps; a rep numbered in `isometric` is a pull with no eccentric (ecc_* None)."""
    events: list[Event] = []
    for k in range(n_reps):
        start_s = k * period_s
        ecc_start_s = start_s + period_s / 2
        ecc_end_s = start_s + period_s
        duration_s = ecc_end_s - ecc_start_s
        if k + 1 in isometric:
            metrics = RepMetrics(
                rep=k + 1, start_s=start_s, end_s=ecc_end_s, ecc_start_s=None, ecc_end_s=None, ecc_duration_s=None,
                tut_tension_s=duration_s, peak_force_n=peak_force_n, mean_ecc_force_n=None, ecc_impulse_ns=None,
                rom_deg=5.0, mean_ecc_velocity_dps=None, peak_ecc_velocity_dps=None, tempo=NO_TEMPO, stalls=0,
                flags="isometric;no_eccentric", estimated=False,
            )
            events += [
                RepStarted(t_s=start_s + 0.1, detected_at_s=start_s + 0.1 + LATENCY_S),
                RepCompleted(metrics=metrics, detected_at_s=ecc_end_s + LATENCY_S),
            ]
            continue
        metrics = RepMetrics(
            rep=k + 1, start_s=start_s, end_s=ecc_end_s, ecc_start_s=ecc_start_s, ecc_end_s=ecc_end_s,
            ecc_duration_s=duration_s,
            tut_tension_s=duration_s, peak_force_n=peak_force_n, mean_ecc_force_n=peak_force_n / 2,
            ecc_impulse_ns=peak_force_n * duration_s / 2, rom_deg=100.0, mean_ecc_velocity_dps=100.0 / duration_s,
            peak_ecc_velocity_dps=150.0 / duration_s, tempo=tempo_class(duration_s, target_ecc_s), stalls=0,
            flags="", estimated=False,
        )
        events += [
            RepStarted(t_s=start_s + 0.1, detected_at_s=start_s + 0.1 + LATENCY_S),
            EccentricStarted(t_s=ecc_start_s, detected_at_s=ecc_start_s + LATENCY_S),
            EccentricEnded(t_s=ecc_end_s, ecc_start_s=ecc_start_s, detected_at_s=ecc_end_s + LATENCY_S),
            RepCompleted(metrics=metrics, detected_at_s=ecc_end_s + LATENCY_S),
        ]
    return events


def rejection(t_s: float, code: str = "small_range", reason: str = "range of motion 12 deg, under 30 deg") -> RepRejected:
    return RepRejected(t_s=t_s, reason=reason, detected_at_s=t_s + 1.0, code=code)


class ScriptedAnalyzer:
    """Implements the pipeline's Analyzer protocol from a list of events and the motion's own knee."""

    def __init__(self, events: list[Event], with_angle: bool = True) -> None:
        self._pending = sorted(events, key=lambda e: e.detected_at_s)
        self._emitted: list[Event] = []
        self._with_angle = with_angle
        self._kinematics: Kinematics | None = None

    def feed(self, block: SampleBlock) -> list[Event]:
        now_s = float(block.t_s[-1])
        out = [e for e in self._pending if e.detected_at_s <= now_s]
        self._pending = self._pending[len(out):]
        self._emitted += out
        angle = None
        if self._with_angle and block.acc_ms2 is not None:
            angle = np.degrees(np.arctan2(block.acc_ms2[:, 0], block.acc_ms2[:, 2]))
        rate = None if block.gyro_dps is None else block.gyro_dps[:, 1]
        self._kinematics = Kinematics(t_s=block.t_s, knee_angle_deg=angle, knee_rate_dps=rate)
        return out

    def finish(self) -> list[Event]:
        out, self._pending = self._pending, []
        self._emitted += out
        return out

    def last_kinematics(self) -> Kinematics | None:
        return self._kinematics

    def summary(self) -> SetSummary:
        reps = [e.metrics for e in self._emitted if isinstance(e, RepCompleted)]
        durations = [r.ecc_duration_s for r in reps if r.ecc_duration_s is not None]
        tut = sum(durations)
        return SetSummary(reps=len(reps), tut_ecc_s=tut, tut_tension_s=tut, mode="force+imu",
                          mean_ecc_duration_s=tut / len(durations) if durations else None,
                          peak_force_n=max((r.peak_force_n or 0.0) for r in reps) if reps else None,
                          eccentrics=len(durations),
                          rejected=sum(isinstance(e, RepRejected) for e in self._emitted))


def run_set(sinks: Sink | list[Sink], n_reps: int = 5, period_s: float = 6.0, rate_hz: float = 100.0, block_n: int = 10,
            with_angle: bool = True, finish: bool = True, until_s: float | None = None,
            isometric: frozenset[int] = frozenset(), extra_events: tuple[Event, ...] = ()) -> Pipeline:
    """Push a whole simulated set through a real Pipeline into the sink(s); returns the pipeline.

    `isometric`: rep numbers emitted without an eccentric; `extra_events`: e.g. rejections."""
    motion = PeriodicMotion(period_s=period_s, peak_force_n=40.0)
    sink_list = sinks if isinstance(sinks, list) else [sinks]
    events = rep_events(n_reps, period_s, isometric=isometric) + list(extra_events)
    pipeline = Pipeline(ScriptedAnalyzer(events, with_angle), sink_list)
    pipeline.push(RecordingMeta(start_utc="2026-11-28T22:00:00Z", leg="left", band="red"))
    pipeline.push(LinkStatus(LinkState.STREAMING, device="emulated", samples_per_s=rate_hz, battery_percent=81))
    end_s = n_reps * period_s + 0.5 if until_s is None else until_s
    n_total = int(round(end_s * rate_hz))
    for first in range(0, n_total, block_n):
        t_s = np.arange(first, min(first + block_n, n_total)) / rate_hz
        pipeline.push(motion.sample(t_s))
    if finish:
        pipeline.finish()
    return pipeline
