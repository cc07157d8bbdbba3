"""Frame pacing: draw at most `fps` times a second, skip frames (never samples) when drawing is slow.

Data updates arrive far more often than anyone can see them (a 200 Hz device sends a block every
few ms); a front end asks the pacer whether a frame is due, and the pacer counts what it drew and
what it had to skip because a draw overran its slot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class FramePacer:
    """Elapsed-time gate for one front end; `clock` is injectable so tests can make drawing 'slow'."""

    def __init__(self, fps: float, clock: Callable[[], float] = time.perf_counter) -> None:
        if not fps > 0:
            raise ValueError(f"frame rate must be positive, got {fps!r}")
        self.fps = fps
        self.interval_s = 1.0 / fps
        self._clock = clock
        self._next_s = -math.inf
        self.frames_drawn = 0
        self.frames_skipped = 0
        """Frame slots lost because a draw took longer than one frame interval."""
        self.draw_time_s = 0.0

    def offer(self, draw: Callable[[], None]) -> bool:
        """Run `draw` if a frame is due; returns whether it drew."""
        start_s = self._clock()
        if start_s < self._next_s:
            return False
        draw()
        self.record(start_s, self._clock())
        return True

    def record(self, start_s: float, end_s: float) -> None:
        """Account for a frame drawn from start_s to end_s and schedule the next one.

        Frames stay on a fixed grid of slots while updates keep coming (so 20 ms blocks still give
        30 fps, not 25); a draw longer than a slot loses the slots it overran, counted as skipped.
        """
        duration_s = max(0.0, end_s - start_s)
        self.frames_drawn += 1
        self.frames_skipped += int(duration_s // self.interval_s)
        self.draw_time_s += duration_s
        on_time = start_s - self._next_s < self.interval_s
        base_s = self._next_s if on_time else start_s
        self._next_s = base_s + (int((end_s - base_s) // self.interval_s) + 1) * self.interval_s

    def now(self) -> float:
        return self._clock()

    def stats(self) -> dict[str, float]:
        mean_ms = 1000.0 * self.draw_time_s / self.frames_drawn if self.frames_drawn else 0.0
        return {
            "fps_target": self.fps,
            "frames_drawn": self.frames_drawn,
            "frames_skipped": self.frames_skipped,
            "mean_draw_ms": round(mean_ms, 3),
        }
