"""A fixed six-session slice of bench/accuracy.py, so a detector regression fails CI in seconds."""

from __future__ import annotations
from bench_loader import load_bench



def test_fixed_subset_meets_bounds() -> None:
    bench = load_bench("accuracy")
    report = bench.evaluate(list(range(6)), workers=1)
    both, force, imu, base = report["force+imu"], report["force"], report["imu"], report[bench.BASELINE]
    assert both["f1"] >= 0.99 and imu["f1"] >= 0.99 and force["f1"] >= 0.99
    assert both["onset_med_ms"] <= 40 and both["offset_med_ms"] <= 40
    assert both["onset_p95_ms"] <= 150 and both["offset_p95_ms"] <= 200
    assert both["tut_ecc_err_pct"] <= 2.0 and both["latency_p95_ms"] <= 250
    assert force["tut_tension_err_pct"] <= 2.0 and force["tut_ecc_err_pct"] <= 4.0
    assert force["onset_med_ms"] <= 100 and force["onset_p95_ms"] <= 400
    assert force["offset_med_ms"] <= 120 and force["offset_p95_ms"] <= 600
    assert imu["onset_med_ms"] <= 40 and imu["offset_med_ms"] <= 40 and imu["offset_p95_ms"] <= 200
    assert both["fast_recall"] == 1.0 and force["fast_recall"] == 1.0 and imu["fast_recall"] == 1.0
    # the naive force-slope detector is clearly worse on the same recordings
    assert base["f1"] < both["f1"] - 0.2 and base["onset_med_ms"] > 3 * both["onset_med_ms"]


def test_floors_are_checked() -> None:
    bench = load_bench("accuracy")
    good = {mode: {"f1": 1.0, "onset_med_ms": 0.0, "onset_p95_ms": 0.0, "offset_med_ms": 0.0, "offset_p95_ms": 0.0,
                   "tut_ecc_err_pct": 0.0, "tut_tension_err_pct": 0.0, "latency_p95_ms": 0.0} for mode in bench.MODES}
    assert bench.missed_floors(good) == []
    good["imu"]["f1"] = 0.5
    good["force+imu"]["latency_p95_ms"] = 400.0
    missed = bench.missed_floors(good)
    assert len(missed) == 2 and any("imu: f1" in m for m in missed)


def test_matching_needs_half_overlap() -> None:
    bench = load_bench("accuracy")
    truth = [(0.0, 4.0), (10.0, 14.0)]
    assert bench.match([(0.1, 4.1), (12.5, 20.0)], truth) == [(0, 0)]
