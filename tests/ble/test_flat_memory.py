"""Long recordings hold flat memory: what grows with each sample or rep is bounded (bench/memory.py
measures the whole recording; these pin each bound that was found growing)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np

from bandlog.core.samples import SampleBlock
from bandlog.emulate.twins.gdx_for import GdxForTwin


def _growth_mb(warm_up: Callable[[], None], more: Callable[[], None]) -> float:
    """How much more memory is held after more() than after warm_up(), MB (tracemalloc)."""
    tracemalloc.start()
    try:
        warm_up()
        held = tracemalloc.get_traced_memory()[0]
        more()
        return (tracemalloc.get_traced_memory()[0] - held) / 2**20
    finally:
        tracemalloc.stop()


def test_an_emulated_sensor_holds_flat_memory_after_its_first_minutes() -> None:
    # a twin kept its last 100,000 samples, 400-700 bytes each as one block per notification: a 100 Hz
    # recording grew by ~9 MB from its 2nd to its 4th minute (and on to its 17th)
    sent = GdxForTwin().sent_samples
    rate_hz, start = 100, 0

    def notify(minutes: float) -> None:
        nonlocal start
        for i in range(start, start + int(minutes * 60 * rate_hz)):
            sent.append(SampleBlock(t_s=np.array([i / rate_hz]), force_n=np.zeros(1), acc_ms2=np.zeros((1, 3)),
                                    gyro_dps=np.zeros((1, 3))))
        start = i + 1

    assert _growth_mb(lambda: notify(2), lambda: notify(2)) < 0.5
    assert sent.total == 24_000 and sent.forgotten >= 14_000  # the rest is counted, not kept
