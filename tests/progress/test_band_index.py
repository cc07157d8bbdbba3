"""The band's curve and torque through the index, `sessions`, the report, and the benchmark's fixed subset."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from bench_loader import load_bench
from indexed_history import FIRST_DAY, indexed_week

from bandlog import cli
from bandlog.progress import history, index
from bandlog.progress.band_curve import BandCurve
from bandlog.progress.band_geometry import NO_ANCHOR, load_shank_cm, save_shank_cm


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_week(tmp_path_factory.mktemp("band"), sessions_per_week=2, seed=3)


def test_the_index_keeps_each_sessions_curve_and_torque_and_each_reps_torque(home: Path) -> None:
    sessions = index.load_sessions(home)
    assert len(sessions) == 4 and sessions["peak_torque_n_m"].gt(0).all()
    assert sessions["torque_note"].isna().all()  # the simulated history writes its anchor and shank: nothing assumed
    assert sessions["torque_shank_cm"].eq(load_shank_cm(home)).all() and sessions["rom_deg"].gt(60).all()
    curve = BandCurve.from_json(sessions["band_curve"].iloc[0])
    assert curve is not None and curve.extension is not None and curve.first_rep > 0
    reps = index.load_reps(home)
    assert reps["peak_torque_n_m"].notna().mean() > 0.8
    assert (reps["mean_torque_n_m"] <= reps["peak_torque_n_m"]).all()


def test_a_new_shank_length_has_the_index_compute_the_torque_again(tmp_path: Path, home: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    before = index.load_sessions(copy)["peak_torque_n_m"]
    save_shank_cm(copy, load_shank_cm(copy) + 5.0)
    report = index.update_index(copy)
    assert len(report.analysed) == 4
    after = index.load_sessions(copy)["peak_torque_n_m"]
    assert (after != before).all()
    assert index.update_index(copy).analysed == []  # and only once


def test_a_log_without_anchor_says_what_its_torque_assumed(tmp_path: Path) -> None:
    history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=3, first_day=FIRST_DAY, reps_per_set=3)
    log = sorted((tmp_path / "recordings").rglob("*.csv"))[0]
    text = log.read_text(encoding="utf-8")
    log.write_text("".join(line for line in text.splitlines(keepends=True) if "anchor_" not in line), encoding="utf-8")
    index.update_index(tmp_path)
    notes = dict(zip(index.load_sessions(tmp_path)["path"].str.rsplit("/", n=1).str[-1], index.load_sessions(tmp_path)["torque_note"],
                     strict=True))
    assert notes[log.name] == NO_ANCHOR


def test_an_unreadable_shank_file_costs_the_torque_its_shank_not_the_index(tmp_path: Path) -> None:
    history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=3, first_day=FIRST_DAY, reps_per_set=3)
    (tmp_path / "geometry.json").write_text("{broken", encoding="utf-8")
    report = index.update_index(tmp_path)
    assert any("give it again with --shank-cm" in notice for notice in report.notices)
    assert index.load_sessions(tmp_path)["torque_note"].str.contains("40 cm shank").all()


def test_the_schema_bump_rebuilds_an_older_index(tmp_path: Path) -> None:
    conn = sqlite3.connect(index.index_path(tmp_path))
    conn.executescript("CREATE TABLE sessions (id INTEGER PRIMARY KEY, path TEXT); PRAGMA user_version = 4;")
    conn.close()
    conn = index.connect(tmp_path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
    finally:
        conn.close()
    assert "band_curve" in columns and "peak_torque_n_m" in columns


def test_sessions_shows_torque_and_the_band_lines(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["--data-dir", str(home), "sessions", "--move-up-after", "1"]) == 0
    out = capsys.readouterr().out
    assert "peak torque (N m)" in out
    assert "band curve in 4 sessions, 5 needed to judge wear" in out  # red, the history's first band
    assert cli.main(["--data-dir", str(home), "sessions", "--move-up-after", "0"]) == cli.ExitStatus.USAGE
    assert "the move-up rule needs at least 1 session in a row, not 0" in capsys.readouterr().err


def test_the_report_has_the_band_section(home: Path, tmp_path: Path) -> None:
    from bandlog.progress.report import progress_report

    html = progress_report(index.load_sessions(home), reps=index.load_reps(home))
    assert "Band: torque, wear, moving up" in html and "Knee torque the band asked for" in html
    assert "the band&#x27;s curve, session by session" in html and "peak knee torque" in html
    assert "the curve of its latest session on 2026-01-" in html and "samples), extension" in html and "of first reps" in html


def test_an_anonymised_report_numbers_the_sessions_instead_of_dating_them(home: Path) -> None:
    from bandlog.progress.band_advice import band_report_parts
    from bandlog.progress.report import figure_png

    sessions = index.load_sessions(home)
    for anonymise, wanted in ((False, "2026-01-"), (True, "session 1")):
        _notes, figures = band_report_parts(sessions, anonymise=anonymise)
        curves = figures[-1].axes[0]
        labels = [text.get_text() for text in curves.get_legend().get_texts()]
        assert labels and all(label.startswith(wanted[:8]) for label in labels) and any(wanted in label for label in labels)
        figure_png(figures[0])  # drawn: the ticks are labelled
        ticks = [tick.get_text() for tick in figures[0].axes[0].get_xticklabels()]
        assert any(ticks) and anonymise != any("-0" in tick or "Jan" in tick for tick in ticks), ticks


def test_bench_subset_torque_within_the_floor_and_wear_flagged_only_when_worn() -> None:
    bench = load_bench("band_curve")
    errors = []
    for seed in (1, 4):
        errors += bench.run_session(bench.session_spec(seed)).torque_err
    assert sorted(errors)[len(errors) // 2] < bench.TORQUE_FLOOR
    # a thigh sloping 14 deg, which the detector assumes horizontal: the torque works from the shank's own pitch
    tilted = bench.run_session(bench.session_spec(4, thigh_pitch_deg=14.0)).torque_err
    assert sorted(tilted)[len(tilted) // 2] < bench.TORQUE_FLOOR
    worn, _ = bench.run_history(1000, wearing=True)
    kept, _ = bench.run_history(1000, wearing=False)
    assert worn.flagged and -0.25 < worn.drift < -0.08
    assert not kept.flagged


def test_the_index_reads_the_band_from_the_same_pass_that_found_the_reps(tmp_path: Path) -> None:
    """One detector pass per log: analyze(kinematics=True) finds the same reps as analyze(), and the
    band curve and torques built from the knee estimates it kept equal those of a separate run."""
    from bandlog.app.api import analyze, read_log
    from bandlog.progress import history
    from bandlog.progress.band_geometry import resolve_geometry
    from bandlog.progress.band_session import band_from_traces, block_trace, session_band

    history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1)
    path = sorted((tmp_path / "recordings").rglob("*.csv"))[0]
    log = read_log(path)
    plain, kept = analyze(log), analyze(log, kinematics=True)
    assert plain.kinematics == [] and len(kept.kinematics) == max(1, log.n_sets)
    assert plain.reps.equals(kept.reps)
    own_runs = [block_trace(block, float(log.meta.target_ecc_s), set_number=n)[0] for n, block in enumerate(log.sets(), start=1)]
    separate = band_from_traces([t for t in own_runs if t is not None], plain.reps, resolve_geometry(40.0, log.meta.extra))
    same_pass = session_band(log, kept.reps, 40.0, kept.kinematics)
    assert separate is not None and same_pass is not None
    assert same_pass.curve.to_json() == separate.curve.to_json()
    assert same_pass.peak_torque_n_m == separate.peak_torque_n_m and any(v is not None for v in same_pass.peak_torque_n_m)


def test_a_session_whose_absolute_angle_is_unsure_says_so_beside_its_torque(tmp_path: Path) -> None:
    """A sensor 1 cm from the knee axis pins the shank's direction down only loosely (tilt.py says the
    angle is unsure): the torque and curve built on that angle are kept, and the index's note says so."""
    from bandlog.core.meta import RecordingMeta
    from bandlog.io.csv_log import write_recording
    from bandlog.progress.band_session import ANGLE_UNSURE_NOTE
    from bandlog.sim import random_spec, simulate_session

    for name, radius_m in (("near_axis", 0.01), ("usual", 0.3)):
        block = simulate_session(random_spec(2, n_sets=1, reps_per_set=6, sensor_radius_m=radius_m)).record(rate_hz=100.0,
                                                                                                            channels="force+imu")
        write_recording(tmp_path / "recordings" / f"{name}.csv", RecordingMeta(leg="left", target_ecc_s=3.0), block)
    index.update_index(tmp_path)
    notes = dict(zip(index.load_sessions(tmp_path)["path"].str.rsplit("/", n=1).str[-1], index.load_sessions(tmp_path)["torque_note"],
                     strict=True))
    assert ANGLE_UNSURE_NOTE in notes["near_axis.csv"] and ANGLE_UNSURE_NOTE not in notes["usual.csv"]
