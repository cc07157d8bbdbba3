"""The live view's buffers take their memory when made, so a long recording's RSS does not creep up
as they fill (bench/memory.py measures the whole recording)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bandlog.live.ring import RingBuffer

STATUS = Path("/proc/self/status")


def _rss_mb() -> float:
    line = next(line for line in STATUS.read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not STATUS.exists(), reason="reads the resident memory from /proc (Linux)")
def test_filling_a_ring_buffer_does_not_grow_the_resident_memory() -> None:
    # its arrays were np.empty: pages the OS maps only when first written, so the overview buffers
    # (an hour at 25 Hz) grew the RSS by ~3 MB over a recording's first hour
    ring = RingBuffer(capacity=1_000_000, n_values=2)  # 24 MB
    t_s, values = np.arange(1000, dtype=np.float64), np.ones((1000, 2))
    before_mb = _rss_mb()
    for _ in range(1000):
        ring.extend(t_s, values)
    assert _rss_mb() - before_mb < 4.0
    assert len(ring) == 1_000_000
