"""A fixed ten-session slice of bench/accuracy.py covering every class of the wider model (anchor
below, at and above the knee; recordings that start mid-rep and never hold still; recordings cut
inside the last eccentric; square isometric pulls; the runner's stretch and the standing "L", two
sessions each, with the shin sensor alone and with a second one on the thigh; two both-leg sessions with the sensor moved between sets), so a detector regression
fails CI in seconds.
The full benchmark (240 sessions) is what the issue's floors are judged on; with two or three
sessions a class, the standing exercises' figures here get a little more room than the floors."""

from __future__ import annotations

import math

from bench_loader import load_bench

SUBSET = [2, 3, 4, 5, 6, 7, 9, 13, 19, 27]
"""Below: 3, 6, 19 (19 cut at the end); at: 4, 27; above: 5, 9, 13; no still start: 9, 13, 27;
isometric pulls: 2 (cut at both ends), 7."""
EXERCISE_SUBSET = [3, 4]
"""One set of eight reps each of the runner's stretch and the standing "L"."""
REMOUNT_SUBSET = [3, 26]
"""Both-leg sessions with the sensor moved between sets: in 26 the second leg's knee axis is the first's
turned round (gravity cannot tell), in 3 force-only sees the band slack and taken up again."""


def test_fixed_subset_covers_every_class_and_meets_the_floors() -> None:
    bench = load_bench("accuracy")
    report = bench.evaluate(SUBSET, workers=1, exercise_seeds=EXERCISE_SUBSET, remount_seeds=REMOUNT_SUBSET)
    classes = set(report["force"]) | set(report["imu"])
    assert classes == set(bench.CLASSES), f"the subset misses {set(bench.CLASSES) - classes}"
    for name in bench.EXERCISE_CLASSES:  # two sessions: more room than the floors (60 / 250 ms, 3 %)
        fig = report["imu"][name]
        assert fig["f1"] >= 0.98 and fig["inverted"] == 0, (name, fig)
        assert fig["onset_med_ms"] <= 90 and fig["offset_med_ms"] <= 90, (name, fig)
        assert fig["onset_p95_ms"] <= 350 and fig["offset_p95_ms"] <= 350 and fig["tut_ecc_err_pct"] <= 6.0, (name, fig)
        fig = report[bench.THIGH_MODE][name]  # with the thigh sensor (60 / 150 ms, 3 %); 5-9 and 25-145 ms here
        assert fig["f1"] >= 0.98 and fig["inverted"] == 0, (name, fig)
        assert fig["onset_med_ms"] <= 30 and fig["offset_med_ms"] <= 30, (name, fig)
        assert fig["onset_p95_ms"] <= 200 and fig["offset_p95_ms"] <= 200 and fig["tut_ecc_err_pct"] <= 3.0, (name, fig)
    for mode in ("force+imu", "imu"):
        for name, fig in report[mode].items():
            if name in bench.EXERCISE_CLASSES:
                continue
            assert fig["f1"] >= 0.99 and fig["inverted"] == 0, (mode, name, fig)
            assert fig["onset_med_ms"] <= 40 and fig["offset_med_ms"] <= 40, (mode, name, fig)
            assert fig["onset_p95_ms"] <= 150 and fig["offset_p95_ms"] <= 150, (mode, name, fig)
            assert fig["tut_ecc_err_pct"] <= 3.0 and fig["latency_p95_ms"] <= 250, (mode, name, fig)
            assert fig["truncated_flagged"] == 1.0 or math.isnan(fig["truncated_flagged"]), (mode, name, fig)
    force = report["force"]
    for name, fig in force.items():
        if name == "isometric":
            assert fig["counted"] == 1.0 and fig["iso_tut_tension_err_pct"] <= 5.0, fig
            continue
        assert fig["f1"] >= 0.98 and fig["inverted"] == 0, (name, fig)
        assert fig["tut_tension_err_pct"] <= 3.0 and fig["tut_ecc_err_pct"] <= 8.0, (name, fig)
    # the naive force-slope detector is clearly worse on the same recordings
    base, both = report[bench.BASELINE]["all"], report["force+imu"]["all"]
    assert base["f1"] < both["f1"] - 0.2 and base["onset_med_ms"] > 3 * both["onset_med_ms"]


def _figures(**values: float) -> dict[str, float]:
    base = {"f1": 1.0, "onset_med_ms": 0.0, "onset_p95_ms": 0.0, "offset_med_ms": 0.0, "offset_p95_ms": 0.0,
            "tut_ecc_err_pct": 0.0, "tut_tension_err_pct": 0.0, "latency_p95_ms": 0.0, "inverted": 0.0,
            "counted": 1.0, "iso_tut_tension_err_pct": 0.0}
    return {**base, **values}


def test_floors_are_checked_per_class() -> None:
    bench = load_bench("accuracy")
    good = {mode: {"all": _figures(), "anchor below": _figures()} for mode in bench.MODES}
    good["force"]["isometric"] = _figures()
    good["imu"]["standing-l"] = _figures(onset_med_ms=55.0, f1=0.985, onset_p95_ms=240.0)  # within the shin-only floors
    good[bench.THIGH_MODE] = {"standing-l": _figures(onset_p95_ms=140.0)}  # within the floors with a thigh sensor
    assert bench.missed_floors(good) == []
    # the shin alone over the curl's 150 ms is said in the report, though within its own guard
    assert bench.shin_only_shortfalls(good) == ["imu [standing-l]: onset_p95_ms 240 > 150 (met with a thigh sensor, imu+thigh)"]
    good["imu"]["anchor below"]["f1"] = 0.5
    good["force+imu"]["all"]["inverted"] = 1.0
    good["force"]["isometric"]["counted"] = 0.9
    good["imu"]["standing-l"]["offset_med_ms"] = 61.0
    good[bench.THIGH_MODE]["standing-l"]["onset_p95_ms"] = 160.0
    missed = bench.missed_floors(good)
    assert len(missed) == 5
    assert any("imu [anchor below]: f1" in m for m in missed) and any("isometric]: counted" in m for m in missed)
    assert any("imu [standing-l]: offset_med_ms" in m for m in missed)
    assert any("imu+thigh [standing-l]: onset_p95_ms" in m for m in missed)


def test_matching_needs_half_overlap() -> None:
    bench = load_bench("accuracy")
    truth = [(0.0, 4.0), (10.0, 14.0)]
    assert bench.match([(0.1, 4.1), (12.5, 20.0)], truth) == [(0, 0)]
