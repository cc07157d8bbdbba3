"""Hostile text typed into a log (band, leg, exercise) is data wherever bandlog writes it out again:
never a spreadsheet formula in a CSV, never a terminal escape in a table, never markup or math in a
report or chart."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "progress"))  # the fake rep logs of tests/progress
from progress_fakes import FakeBackend, write_fake_log

from bandlog import cli
from bandlog.core.text_safety import chart_text, csv_safe, csv_safe_frame, printable
from bandlog.progress import index

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "@SUM(1+1)", "-2+3", "=cmd|' /C calc'!A0", "+A1", "\t=1", "\r=1", " =1+1"]
ESCAPES = "\x1b[2J\x1b[31mred\x1b[0m\x1b]0;pwned\x07\x9b1m\x07\x00\x7f\u202egreen"


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_starting_with_a_formula_character_is_text(text: str) -> None:
    assert csv_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["red", "green x2", "-2.5", "+3", "1e3", "-.5", "", 3.5, -7, None, "2026-01-05"])
def test_plain_text_and_numbers_stay_as_they_are(value: object) -> None:
    assert csv_safe(value) == value


def test_a_frame_keeps_its_numbers_and_protects_its_text() -> None:
    frame = pd.DataFrame({"band": ["=1+1", "red"], "reps": [5, 6], "tut_ecc_s": [-2.5, 3.0]})
    safe = csv_safe_frame(frame)
    assert list(safe["band"]) == ["'=1+1", "red"]
    assert safe["reps"].dtype == frame["reps"].dtype and list(safe["tut_ecc_s"]) == [-2.5, 3.0]
    assert list(frame["band"]) == ["=1+1", "red"]  # a copy: the caller's table is untouched
    tidy = csv_safe_frame(pd.DataFrame({"band": ["\t=1", "\x1b[31mred", None]}), printable_text=True)
    assert list(tidy["band"][:2]) == ["' =1", "red"] and pd.isna(tidy["band"][2])


def test_printable_drops_escape_sequences_and_control_characters() -> None:
    assert printable(ESCAPES) == "redgreen"
    assert printable("line\none\ttab") == "line one tab"
    assert printable("grün ±20 % → 3 s") == "grün ±20 % → 3 s"


def test_chart_text_keeps_dollars_literal() -> None:
    assert chart_text("$\\frac{a$ \x1b[1mband") == "\\$\\frac{a\\$ band"


@pytest.fixture
def hostile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three sessions whose band and leg are formulas or terminal escapes, indexed by the fake backend."""
    backend = FakeBackend()
    monkeypatch.setattr(index, "_default_read", backend.read)
    monkeypatch.setattr(index, "_default_analyze", backend.analyze)
    recordings = tmp_path / "recordings"
    write_fake_log(recordings / "a.csv", "2026-01-05T12:00:00+00:00", "@SUM(1+1)", [3.0, 3.1], band=FORMULAS[0])
    write_fake_log(recordings / "b.csv", "2026-01-06T12:00:00+00:00", "left", [2.0], band="-2+3")
    write_fake_log(recordings / "c.csv", "2026-01-07T12:00:00+00:00", "right", [4.0], band=ESCAPES)
    backend.update(tmp_path)
    return tmp_path


def test_sessions_csv_protects_every_text_cell_and_keeps_numbers(hostile_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(hostile_home), "sessions", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["band"] for r in rows] == ["'" + FORMULAS[0], "'-2+3", "redgreen"]
    assert rows[0]["leg"] == "'@SUM(1+1)"
    assert [float(r["tut_ecc_s"]) for r in rows] == [pytest.approx(6.1), 2.0, 4.0]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_sessions_table_prints_no_terminal_escape(hostile_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(hostile_home), "sessions"]) == 0
    out = capsys.readouterr().out
    assert "redgreen" in out and "@SUM(1+1)" in out
    assert not any(ch in out for ch in "\x1b\x9b\x07\x00\x7f\u202e")


def test_progress_report_and_table_carry_no_control_characters(hostile_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = hostile_home / "report.html"
    assert cli.main(["--data-dir", str(hostile_home), "progress", "--out", str(out)]) == 0
    assert not any(ch in capsys.readouterr().out for ch in "\x1b\x9b\x07")
    html = out.read_text(encoding="utf-8")
    assert "redgreen" in html and not any(ch in html for ch in "\x1b\x9b\x07\x00\u202e")


def test_a_chart_titled_with_hostile_text_draws_it_as_typed(tmp_path: Path) -> None:
    from bandlog.progress.plots import session_figure

    samples = pd.DataFrame({"t_s": [0.0, 1.0, 2.0], "force_n": [0.0, 5.0, 0.0]})
    reps = pd.DataFrame(columns=["rep", "start_s", "end_s", "ecc_start_s", "ecc_end_s", "ecc_duration_s", "tempo", "flags"])
    fig = session_figure(samples, reps, 3.0, title="s.csv, $\\frac{a$ \x1b[31mband")
    fig.savefig(tmp_path / "t.png")  # with warnings as errors: no missing-glyph warning either
    assert fig.get_suptitle() == "s.csv, \\$\\frac{a\\$ band"
