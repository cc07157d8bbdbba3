"""How exactly the cue track follows the cue events, and when the live cues are decided.

    python bench/cue_timing.py [--sessions 4] [--reps 6]

Simulated sets (force + IMU, 100 Hz, target 4 s) run through the real detector and the live sink,
in 0.1 s blocks (as `bandlog replay` feeds them) and again in 0.02 s blocks. For each:
1. The cue track is written to a WAV, each sound's onset found in it (first sample above 2.5 LSB
   after 5 ms of silence) and compared with its event's time: median and max error, in ms
   (the issue's bound: 10 ms).
2. When each beat was decided, as device time after the beat (`emitted_at_s - t_s`): LiveCue
   decides a beat once the detector has read past it (one block later); the baseline, measured in
   the same run, is the old metronome's rule (a beat as soon as its sample arrives, before the
   detector has read it). Live BLE notifications carry 12-50 ms of samples: the 0.02 s blocks.
3. Whether the event list depends on the block size (it must not: a replay gives the recording's
   list), for LiveCue and for the baseline rule.
4. Beats per eccentric against the rep table's whole seconds (the table's end is refined after the
   live cue, so they can differ by one).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Pipeline, Sink
from bandlog.core.samples import SampleBlock
from bandlog.detect.analysis import Analyzer
from bandlog.live.cue import CueSchedule, LiveCue
from bandlog.live.cue_track import read_wav
from bandlog.live.model import LiveModel
from bandlog.live.sink import LiveSink
from bandlog.sim import random_spec, simulate_session

TARGET_S = 4.0
RATE_HZ = 100.0


class PromptSchedule(Sink):
    """The baseline: the old metronome's rule, a beat decided as soon as its sample reaches the model."""

    def __init__(self, model: LiveModel) -> None:
        self.model = model
        self.schedule = CueSchedule()

    def on_samples(self, block: SampleBlock) -> None:
        self.schedule.update(self.model)

    def on_events(self, events: object) -> None:
        self.schedule.update(self.model)


def run(block: SampleBlock, block_n: int, wav: Path) -> tuple[LiveCue, CueSchedule, LiveModel, list]:  # type: ignore[type-arg]
    model = LiveModel(target_ecc_s=TARGET_S)
    cue = LiveCue(wav_path=wav)
    prompt = PromptSchedule(model)
    pipeline = Pipeline(Analyzer(target_ecc_s=TARGET_S), [LiveSink(model, [], cue=cue), prompt])
    pipeline.push(RecordingMeta(target_ecc_s=TARGET_S))
    for first in range(0, len(block), block_n):
        pipeline.push(block.slice(first, min(first + block_n, len(block))))
    result = pipeline.finish()
    prompt.schedule.finish()
    return cue, prompt.schedule, model, list(result.reps)


def onsets(x: np.ndarray, rate_hz: int) -> np.ndarray:
    active = np.flatnonzero(np.abs(x) > 2.5 / 32767)
    return active[np.r_[True, np.diff(active) > 0.005 * rate_hz]] if active.size else active


def kinds_times(schedule: CueSchedule) -> list[tuple[str, float]]:
    return [(e.kind, round(e.t_s, 9)) for e in schedule.events]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--reps", type=int, default=6)
    args = parser.parse_args()

    errors_ms: list[float] = []
    lags_s: dict[str, list[float]] = {}
    differ_new = differ_old = events_total = after_end = 0
    rep_agree = rep_total = 0
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.sessions):
            spec = random_spec(seed, n_sets=1, reps_per_set=args.reps, target_ecc_s=TARGET_S)
            block = simulate_session(spec).record(rate_hz=RATE_HZ)
            wav = Path(folder) / f"s{seed}.wav"
            cue, old, model, reps = run(block, 10, wav)
            fine, old_fine, _, _ = run(block, 2, Path(folder) / f"s{seed}f.wav")
            x, rate_hz = read_wav(wav)
            origin_s, _ = cue.track_span()
            events = sorted(cue.schedule.events, key=lambda e: e.t_s)
            found = onsets(x, rate_hz)
            if found.size != len(events):
                print(f"session {seed}: {found.size} onsets for {len(events)} events")
                return 1
            errors_ms += list(1000 * np.abs(found / rate_hz - np.array([e.t_s - origin_s for e in events])))
            for name, schedule in (("LiveCue, 0.1 s blocks", cue.schedule), ("baseline, 0.1 s blocks", old),
                                   ("LiveCue, 0.02 s blocks", fine.schedule), ("baseline, 0.02 s blocks", old_fine)):
                lags_s.setdefault(name, []).extend(e.emitted_at_s - e.t_s for e in schedule.events)
            differ_new += kinds_times(cue.schedule) != kinds_times(fine.schedule)
            differ_old += kinds_times(old) != kinds_times(old_fine)
            events_total += len(events)
            after_end += cue.schedule.after_end
            for rep in reps:
                if rep.ecc_start_s is None or rep.ecc_duration_s is None:
                    continue
                span = next((s for s in model.spans if abs(s.start_s - rep.ecc_start_s) < 0.5), None)
                beats = 0 if span is None or span.end_s is None else sum(
                    e.kind in ("tick", "target") and span.start_s < e.t_s <= span.end_s for e in cue.schedule.events)
                rep_total += 1
                rep_agree += beats == math.floor(rep.ecc_duration_s)

    err = np.array(errors_ms)
    print(f"{args.sessions} simulated sets x {args.reps} reps, target {TARGET_S:.0f} s, {RATE_HZ:.0f} Hz, "
          f"{events_total} cue events (ticks and target chimes)")
    print(f"  WAV onset error        median {np.median(err):.3f} ms, max {err.max():.3f} ms   (bound 10 ms: "
          f"{'PASS' if err.max() <= 10.0 else 'FAIL'})")
    print("  when a beat is decided (and played live): device time of the newest sample then, after the beat")
    for name, lags in lags_s.items():
        lag = 1000 * np.array(lags)
        print(f"    {name:24s} median {np.median(lag):6.1f} ms, max {lag.max():6.1f} ms")
    print(f"  event list changed by the block size (0.1 s vs 0.02 s): LiveCue {differ_new} of {args.sessions} sets, "
          f"baseline {differ_old} of {args.sessions}")
    print(f"  beats just after an eccentric's end (its end detected later): {after_end}")
    print(f"  beats = whole seconds of the rep table's eccentric: {rep_agree} of {rep_total} reps")
    return 0 if err.max() <= 10.0 and differ_new == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
