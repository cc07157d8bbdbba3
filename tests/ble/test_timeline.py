"""The session time line on plain numbers: offsets, gaps, clock ratio, lost-notification jumps."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.sources.timeline import Timeline


def test_first_connection_keeps_device_time() -> None:
    timeline = Timeline()
    timeline.new_connection(100.0)
    placed = timeline.place(np.arange(5) / 100.0, 0.01, 0.05)
    np.testing.assert_array_equal(placed.t_s, np.arange(5) / 100.0)
    assert placed.gap is None and placed.jumps == 0


def test_reconnect_continues_after_the_host_measured_gap() -> None:
    timeline = Timeline()
    timeline.new_connection(100.0)
    timeline.place(np.arange(300) / 100.0, 0.0, 2.99)  # 3 s of device time in 2.99 host s: ratio ~1
    timeline.new_connection(100.0)
    placed = timeline.place(np.arange(3) / 100.0, 4.49, 4.51)  # first new sample 1.5 host-s later
    assert placed.gap == pytest.approx((2.99, 2.99 + 1.5), abs=0.01)
    assert placed.t_s[0] == pytest.approx(4.49, abs=0.01) and np.all(np.diff(placed.t_s) > 0)
    assert placed.jumps == 0  # the gap itself is not a lost notification


def test_a_faster_device_clock_scales_the_gap() -> None:
    timeline = Timeline()
    timeline.new_connection(100.0)
    timeline.place(np.arange(400) / 100.0, 0.0, 0.2)  # 4 device-s in 0.2 host-s: 20x
    timeline.new_connection(100.0)
    placed = timeline.place(np.array([0.0]), 0.25, 0.25)
    assert timeline.ratio == pytest.approx(19.95, rel=0.01)
    assert placed.gap is not None and placed.gap[1] - placed.gap[0] == pytest.approx(0.05 * 19.95, rel=0.02)


def test_jumps_count_lost_notifications_across_blocks() -> None:
    timeline = Timeline()
    timeline.new_connection(80.0)
    timeline.place(np.arange(4) * 0.0125, 0.0, 0.05)
    placed = timeline.place(np.array([6, 7, 9, 10]) * 0.0125, 0.1, 0.13)  # index 4-5 and 8 missing
    assert placed.jumps == 2
