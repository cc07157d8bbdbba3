"""The phone page's frames: what changed in the LiveModel since the last frame, as JSON-ready dicts.

A frame carries the samples that arrived since the previous one (force, and knee angle or
velocity), `now_s`, and under "state" only the fields that changed (counters, timer, shaded spans,
last rep, link, notes, rest, coach, ratings, the end-of-set summary). FrameBuilder reads the model on
the pipeline's thread; PageMirror, on the server's thread, folds the frames into the last 20 s so a
page that connects (or reconnects) gets one full frame and then the same deltas as everyone.
Times are device seconds as in the model; `arrived_ms` is the host wall clock (ms since the epoch)
at which the frame's samples reached the sink, so the page can measure sample-to-screen latency.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from bandlog.live.axis_limits import FORCE_FLOOR_N, KNEE_FLOOR
from bandlog.live.model import LiveModel, TimerState
from bandlog.live.mpl_view import SPAN_COLOURS, TIMER_COLOURS
from bandlog.live.ring import RingBuffer
from bandlog.live.web_protocol import NO_COACH, CoachFrame

Frame = dict[str, Any]
PALETTE = {
    "spans": {outcome.value: colour for outcome, colour in SPAN_COLOURS.items()},
    "timer": {state.value: colour for state, colour in TIMER_COLOURS.items()},
}
"""The window view's colours, sent once in the state, so the page shades and colours as it does."""
FLOORS = {"force": FORCE_FLOOR_N, "angle": KNEE_FLOOR["angle"], "rate": KNEE_FLOOR["rate"]}
"""The smallest y span of each line (axis_limits), sent once, so the page does not blow noise up either."""
MIRROR_POINTS = 1 << 16
"""At most this many points per line for a late page (20 s at over 3 kHz): bounded whatever arrives."""


def _rounded(values: np.ndarray, digits: int) -> list[float | None]:
    """JSON-safe numbers: NaN (a gap, a knee not estimated) becomes null, which breaks the page's line."""
    return [x if math.isfinite(x) else None for x in np.round(values.astype(np.float64), digits).tolist()]


def _series(t_s: np.ndarray, values: np.ndarray, reset: bool = False) -> Frame:
    series: Frame = {"t": _rounded(t_s, 3), "v": _rounded(values, 2)}
    if reset:
        series["reset"] = True
    return series


def _num(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


class _Cursor:
    """Which rows of a model ring buffer a page already has, by count (a gap's NaN row repeats a time)."""

    def __init__(self) -> None:
        self.rows_sent = 0
        self.last_t_s = -math.inf

    def new_rows(self, ring: RingBuffer) -> tuple[np.ndarray, np.ndarray]:
        """The rows appended since the last call (at most the ring's capacity)."""
        n_new = ring.rows_total - self.rows_sent
        t_s, values = ring.since(self.last_t_s if n_new > 0 else math.inf)  # every new row is at or after the last time sent
        self.skip_to(ring)
        return (t_s[-n_new:], values[-n_new:]) if n_new > 0 else (t_s, values)

    def skip_to(self, ring: RingBuffer) -> None:
        self.rows_sent = ring.rows_total
        last_t_s = ring.last_t_s()
        if last_t_s is not None and math.isfinite(last_t_s):
            self.last_t_s = last_t_s


class FrameBuilder:
    """Turns the model's changes into delta frames; call next_frame() at most ~20 times a second."""

    def __init__(self, model: LiveModel) -> None:
        self.model = model
        self.seq = 0
        self._force = _Cursor()
        self._knee = _Cursor()
        self._knee_kind: str | None = None
        self._state: dict[str, Any] = {}

    def next_frame(self, coach: CoachFrame | None = None, ratings: Mapping[int, Mapping[str, int | None]] = {},
                   arrived_ms: tuple[float, float] | None = None, sent_ms: float | None = None) -> Frame:
        """The samples since the previous frame and the state fields that changed (all of them the first time)."""
        model = self.model
        self.seq += 1
        t_s, force_n = self._force.new_rows(model.force)
        kind = model.knee_kind()
        if kind != self._knee_kind:  # another signal on the knee axis: the page starts that line again
            self._knee_kind = kind
            knee_t_s, knee_v = model.knee_window(kind) if kind else (np.empty(0), np.empty(0))
            self._knee.skip_to(model.knee)
            knee = _series(knee_t_s, knee_v, reset=True)
        else:
            knee_t_s, values = self._knee.new_rows(model.knee)
            knee = _series(knee_t_s, values[:, 0 if kind == "angle" else 1]) if kind else _series(np.empty(0), np.empty(0))
        frame: Frame = {
            "type": "frame",
            "seq": self.seq,
            "now_s": _num(model.now_s, 3),
            "window_s": model.window_s,
            "force": _series(t_s, force_n[:, 0]),
            "knee": knee,
            "arrived_ms": None if arrived_ms is None else [round(arrived_ms[0], 1), round(arrived_ms[1], 1)],
            "sent_ms": None if sent_ms is None else round(sent_ms, 1),
            "state": self._changed(self.state(coach, ratings)),
        }
        return frame

    def state(self, coach: CoachFrame | None, ratings: Mapping[int, Mapping[str, int | None]]) -> dict[str, Any]:
        """Everything the page shows besides the lines, in plain JSON values."""
        model = self.model
        timer = model.timer()
        rep = model.last_rep()
        since_rep_s = None
        if rep is not None and not model.rep_in_progress and model.open_span() is None and model.now_s is not None:
            since_rep_s = _num(max(0.0, model.now_s - rep.end_s), 0)
        notes = [model.saturation_label()] if model.saturated_reps else []
        if model.rejected:
            notes.append(f"rejected {model.rejected} ({model.last_rejection})")
        summary = None
        if model.summary is not None:
            s = model.summary
            notes += [n.strip() for n in s.notes.split(";") if n.strip()]
            summary = {"reps": s.reps, "eccentrics": s.eccentrics, "tut_ecc_s": _num(s.tut_ecc_s, 1),
                       "tut_tension_s": _num(s.tut_tension_s, 1), "rejected": s.rejected}
        return {
            "palette": PALETTE,
            "floors": FLOORS,
            "reps": model.rep_count,
            "eccentrics": model.eccentrics_detected,
            "timer": {"state": timer.state.value, "elapsed_s": _num(timer.elapsed_s, 1), "target_s": _num(timer.target_s, 1),
                      "label": timer.label(), "past_target": timer.past_target and timer.state is not TimerState.IDLE},
            "last_rep": model.last_rep_label(),
            "link": model.link_label(),
            "link_state": model.status.state.value if model.status is not None else None,
            "knee_kind": self._knee_kind,
            "angle_label": model.angle_label(self._knee_kind),
            "angle_note": model.no_angle_label() if self._knee_kind is None else "",
            "force_note": model.no_band_label(),
            "spans": [[_num(s.start_s, 3), _num(s.end_s, 3), s.outcome.value] for s in model.spans_in_window()],
            "notes": notes,
            "rest": {"since_rep_s": since_rep_s},
            "coach": dict(coach if coach is not None else NO_COACH),
            "ratings": {str(k): dict(v) for k, v in sorted(ratings.items())},
            "ended": model.ended,
            "summary": summary,
        }

    def _changed(self, state: dict[str, Any]) -> dict[str, Any]:
        changed = {k: v for k, v in state.items() if self._state.get(k, object()) != v}
        self._state.update(changed)
        return changed


class PageMirror:
    """The last window of what the page shows, folded from the frames, for a page that connects late."""

    def __init__(self) -> None:
        self.now_s: float | None = None
        self.window_s = 20.0
        self.seq = 0
        self.force: deque[tuple[float, float | None]] = deque(maxlen=MIRROR_POINTS)
        self.knee: deque[tuple[float, float | None]] = deque(maxlen=MIRROR_POINTS)
        self.state: dict[str, Any] = {}

    def apply(self, frame: Frame) -> None:
        self.seq = frame["seq"]
        self.window_s = frame["window_s"]
        if frame["now_s"] is not None:
            self.now_s = frame["now_s"]
        self.force.extend(zip(frame["force"]["t"], frame["force"]["v"]))
        if frame["knee"].get("reset"):
            self.knee.clear()
        self.knee.extend(zip(frame["knee"]["t"], frame["knee"]["v"]))
        self.state.update(frame["state"])
        if self.now_s is not None:
            oldest_s = self.now_s - self.window_s
            for points in (self.force, self.knee):
                while points and points[0][0] < oldest_s:
                    points.popleft()

    def full_frame(self) -> Frame:
        """One frame that brings a new page to where the others are."""

        def series(points: Iterable[tuple[float, float | None]]) -> Frame:
            pairs = list(points)
            return {"t": [p[0] for p in pairs], "v": [p[1] for p in pairs], "reset": True}

        return {"type": "frame", "full": True, "seq": self.seq, "now_s": self.now_s, "window_s": self.window_s,
                "force": series(self.force), "knee": series(self.knee), "arrived_ms": None, "sent_ms": None,
                "state": dict(self.state)}
