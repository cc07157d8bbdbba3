"""The audible tempo cue: one tick per second of the eccentric, like Metric's 1-second metronome.

Deliberately tiny: a terminal bell (BEL) where stdout is a terminal, nothing otherwise, nothing
with quiet=True. The counting is separate from the sound so it can be tested without a terminal.
Ticks are counted in device time; several due in one update (a fast replay) ring once.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TextIO

from bandlog.live.model import LiveModel

BEL = "\a"


class Metronome:
    """Counts whole seconds of the open eccentric that have not been ticked yet."""

    def __init__(self) -> None:
        self._span_start_s: float | None = None
        self._ticked = 0
        self.ticks_total = 0

    def due(self, model: LiveModel) -> int:
        """Ticks that became due since the last call (0 when no eccentric is open)."""
        span = model.open_span()
        if span is None or model.now_s is None:
            self._span_start_s = None
            return 0
        if span.start_s != self._span_start_s:
            self._span_start_s = span.start_s
            self._ticked = 0
        whole_s = int(math.floor(model.now_s - span.start_s))
        new = max(0, whole_s - self._ticked)
        self._ticked += new
        self.ticks_total += new
        return new


def terminal_bell(stream: TextIO | None = None) -> Callable[[], None] | None:
    """A function that rings the terminal bell, or None when the stream is not a terminal."""
    out = stream if stream is not None else sys.stdout
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return None

    def ring() -> None:
        out.write(BEL)
        out.flush()

    return ring


class TickCue:
    """Metronome + bell; `bell=None` (quiet, or no terminal) still counts ticks, silently."""

    def __init__(self, bell: Callable[[], None] | None) -> None:
        self.metronome = Metronome()
        self.bell = bell
        self.rings = 0

    def update(self, model: LiveModel) -> None:
        if self.metronome.due(model) and self.bell is not None:
            self.bell()
            self.rings += 1
