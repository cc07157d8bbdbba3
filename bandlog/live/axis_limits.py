"""The live view's y ranges: round limits that stay still while the data moves within them.

A y range that changed every frame would force a full redraw of the blitted view (mpl_view.py) each
time; these rules change it rarely: limits on a round step, grown generously while the window
fills, shrunk only once it is full and the data uses under 70 % of the range. Pure arithmetic on an
axes' limits, kept apart from the drawing so it reads (and is tested) on its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FORCE_FLOOR_N = 10.0
KNEE_FLOOR = {"angle": 20.0, "rate": 50.0, None: 20.0}
"""Smallest y ranges shown (every view), so sensor noise at rest is not blown up to full height."""


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above value (value > 0)."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if mantissa * 10.0**exponent >= value:
            return mantissa * 10.0**exponent
    return 10.0 ** (exponent + 1)


def padded_limits(values: np.ndarray, floor_span: float) -> tuple[float, float] | None:
    """Limits on a round step with a quarter-step margin, at least floor_span wide."""
    finite = values[np.isfinite(values)]
    if finite.shape[0] == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    step = _nice_ceiling(max(high - low, floor_span)) / 10.0
    low_lim, high_lim = math.floor(low / step - 0.25) * step, math.ceil(high / step + 0.25) * step
    return low_lim, max(high_lim, low_lim + floor_span)


def fit_ylim(ax: Any, values: np.ndarray, floor_span: float, may_shrink: bool = True, room_below: bool = True) -> bool:
    """Rescale when data leaves the range (while the window fills, at least doubling it, so a rising
    signal costs few full redraws) or, once it is full, when the data's own range is under 70 % of
    it; True if changed. room_below=False for a signal that rests near zero and does not go far
    under it (a tared force, a knee angle): the doubling then only ever goes up (a knee angle
    falling to -2 deg had the axis reach down to -200 deg)."""
    limits = padded_limits(values, floor_span)
    if limits is None:
        return False
    low, high = ax.get_ylim()
    finite = values[np.isfinite(values)]
    if float(finite.min()) < low or float(finite.max()) > high:
        new_low, new_high = limits
        grow = 2.0 * (high - low) - (new_high - new_low)
        if grow > 0 and not may_shrink:  # still filling the window: the signal is rising, leave room
            if float(finite.max()) > high:
                new_high += grow
            elif room_below:
                new_low -= grow
        ax.set_ylim(new_low, new_high)
        return True
    if may_shrink and (limits[1] - limits[0]) < 0.7 * (high - low):
        ax.set_ylim(*limits)
        return True
    return False
