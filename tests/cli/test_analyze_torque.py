"""`analyze` gives each rep's knee torque and the band curve, the same numbers the session index keeps
(issue 17 point 1: one pipeline, the same figures wherever they are shown)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from indexed_history import indexed_week

from bandlog.cli import main
from bandlog.progress import index
from bandlog.progress.band_geometry import NO_SHANK


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_week(tmp_path_factory.mktemp("analyze_torque"), sessions_per_week=1, seed=5)


def analysed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_each_reps_torque_is_the_one_the_index_keeps(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reps = index.load_reps(home)
    path = sorted((home / "recordings").rglob("*.csv"))[0]
    kept = reps[reps["path"].str.endswith(path.name)].sort_values(["set", "rep"])
    document = analysed(capsys, "--data-dir", str(home), "analyze", str(path))
    got = [value for r in document["reps"] for value in (r["peak_torque_n_m"], r["mean_torque_n_m"])]
    assert len(got) == 2 * len(kept) >= 6
    assert got == pytest.approx([v for pair in zip(kept["peak_torque_n_m"], kept["mean_torque_n_m"], strict=True) for v in pair], rel=1e-9)
    band = document["band"]
    assert band["assumed"] == []  # the simulated history writes its anchor and remembers the shank
    assert band["peak_torque_n_m"] == pytest.approx(max(got[::2])) and band["curve"]["extension"] is not None


def test_a_shank_length_given_here_wins_and_a_missing_one_is_said(home: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = str(sorted((home / "recordings").rglob("*.csv"))[0])
    remembered = analysed(capsys, "--data-dir", str(home), "analyze", path)["band"]
    longer = analysed(capsys, "--data-dir", str(home), "analyze", path, "--shank-cm", str(remembered["shank_cm"] + 6))["band"]
    assert longer["shank_cm"] == pytest.approx(remembered["shank_cm"] + 6) and longer["peak_torque_n_m"] != remembered["peak_torque_n_m"]
    assert (tmp_path / "empty").exists() is False
    nowhere = analysed(capsys, "--data-dir", str(tmp_path / "empty"), "analyze", path)["band"]
    assert nowhere["assumed"] == [NO_SHANK] and nowhere["shank_cm"] == 40.0
    assert main(["--data-dir", str(tmp_path / "empty"), "analyze", path]) == 0
    out = capsys.readouterr().out
    assert "knee torque per rep, peak (N m):" in out and NO_SHANK in out and "band curve: flexion" in out
    assert not (tmp_path / "empty").exists()  # analysing a log writes nothing


def test_a_force_only_log_has_no_torque(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bandlog.core.meta import RecordingMeta
    from bandlog.io.csv_log import write_recording
    from bandlog.sim import random_spec, simulate_session

    spec = random_spec(7, n_sets=1, reps_per_set=3)
    path = tmp_path / "force_only.csv"
    write_recording(path, RecordingMeta(leg="left", target_ecc_s=3.0), simulate_session(spec).record(rate_hz=50.0, channels="force"))
    document = analysed(capsys, "--data-dir", str(tmp_path), "analyze", str(path))
    assert document["band"] is None and document["reps"] and all(r["peak_torque_n_m"] is None for r in document["reps"])
