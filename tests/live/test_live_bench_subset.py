"""A small fixed slice of bench/live_view.py with asserted bounds, so a drawing regression fails CI.

Bounds are relative to a baseline measured in the same run (blitting vs full redraws), plus the
issue's 30 frames/s floor, which the full bench clears several times over on this machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from bench_loader import load_bench


def test_blitting_beats_full_redraws_and_clears_the_frame_rate_floor() -> None:
    blit_fps, full_fps, full_redraws_during_blitting = load_bench("live_view").draw_rates(30)
    assert blit_fps >= 30.0
    assert blit_fps >= 2.0 * full_fps
    assert full_redraws_during_blitting <= 3
