"""`bandlog sessions` keeps the exercise on a narrow terminal: abbreviated (never cut into 'active …'),
dropped only after everything else that may go; and when every session is one exercise, the title
names it and its column goes first."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "progress"))  # the fake rep logs of tests/progress
from progress_fakes import FakeBackend, write_fake_log
from test_table_width import as_terminal, parse_tables, read_out

from bandlog import cli
from bandlog.cli.commands._table_fit import TEXT, Column, fit
from bandlog.cli.commands.sessions import EXERCISE_SHORT, exercise_abbreviations
from bandlog.detect.exercises import PROFILES
from bandlog.progress import index

EXERCISES = ("reverse hamstring curl", "active runner's stretch", 'standing "L"', "reverse hamstring curl")


def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exercises: tuple[str, ...]) -> Path:
    backend = FakeBackend()
    monkeypatch.setattr(index, "_default_read", backend.read)
    monkeypatch.setattr(index, "_default_analyze", backend.analyze)
    for day, exercise in enumerate(exercises, start=5):
        write_fake_log(tmp_path / "recordings" / f"2026-01-{day:02d}T120000_left.csv", f"2026-01-{day:02d}T12:00:00+00:00",
                       "left", [4.0] * 8, peak_force_n=1234.5, band="theraband gold + black", exercise=exercise)
    backend.update(tmp_path)
    return tmp_path


def test_every_exercise_has_an_abbreviation_no_wider_than_the_header() -> None:
    assert set(EXERCISE_SHORT) == set(PROFILES)
    assert all(len(short) <= len("exercise") for short in EXERCISE_SHORT.values())
    assert len(set(EXERCISE_SHORT.values())) == len(EXERCISE_SHORT)


@pytest.mark.parametrize("width", [60, 80])
def test_a_narrow_terminal_keeps_the_exercise_abbreviated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    home = fake_home(tmp_path, monkeypatch, EXERCISES)
    as_terminal(monkeypatch, width)
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    out = read_out(capsys)
    headers, rows = parse_tables(out)[0]
    assert "exercise" in headers, out
    shown = [row[headers.index("exercise")] for row in rows]
    assert shown == [exercise_abbreviations()[name] for name in EXERCISES]
    assert out.splitlines()[0] == "4 sessions"
    assert max(len(line) for line in out.splitlines() if line.startswith(("┃", "│"))) <= width


def test_one_exercise_is_named_in_the_title_and_its_column_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = fake_home(tmp_path, monkeypatch, ('standing "L"',) * 3)
    as_terminal(monkeypatch, 60)
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    out = read_out(capsys)
    headers, _rows = parse_tables(out)[0]
    assert out.splitlines()[0] == '3 sessions of the standing "L"'
    assert "exercise" not in headers and "band" in headers  # with several exercises, the band would go first


def test_fit_shows_an_abbreviation_whole_and_gives_the_width_it_saves_to_the_others() -> None:
    columns = (Column("exercise", "exercise", TEXT, "left", short={"active runner's stretch": "runner's"}),
               Column("band", "band", TEXT, "left"))
    rows = [{"exercise": "active runner's stretch", "band": "theraband gold + black"}]
    fitted = fit(columns, rows, 30, drop_order=("band",))
    assert fitted.rows == (("runner's", "theraband gold…"),)
    assert fitted.widths == (8, 15) and fitted.shortened == ("exercise", "band")


def test_the_band_notes_wrap_between_words_on_a_narrow_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """They were printed whole, and the terminal broke them mid-word ('thei' / 'r 4 %')."""
    from bandlog.progress import band_advice

    note = "red: force at 26 to 97 deg down 8 % over 4 days (6 sessions; within the 9 % their 4 % session-to-session scatter explains)"
    monkeypatch.setattr(band_advice, "band_notes", lambda records, sessions_needed: [note])
    home = fake_home(tmp_path, monkeypatch, EXERCISES)
    as_terminal(monkeypatch, 80)
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    lines = read_out(capsys).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("red: "))
    assert all(len(line) <= 80 for line in lines[first:])
    assert " ".join(line.strip() for line in lines[first:]) == note
