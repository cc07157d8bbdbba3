"""Terminal tables never cut a number: `sessions`, the rep tables (analyze/replay/record/demo) and
`progress`'s table, at 60, 80 and 120 columns, with 3-digit ROM and TUT, 4-digit forces, long band
names and long file paths. Each cell is read back and compared with the data: numbers, dates and legs
whole; only band names, flags and file names may be shortened; no line wider than the terminal; and
every column left out is named under the table."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.cells import cell_len

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "progress"))  # the fake rep logs of tests/progress
from progress_fakes import FakeBackend, rep_table, write_fake_log

from bandlog import cli
from bandlog.progress import index

WIDTHS = (60, 80, 120)
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_BAND = "theraband gold + black, doubled (x2)"
LONG_FOLDER = "recordings/2026/january-block-with-a-rather-long-folder-name"


def as_terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """stdout looks like a terminal `width` columns wide (the COLUMNS a shell exports)."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)


def read_out(capsys: pytest.CaptureFixture[str]) -> str:
    return ANSI_RE.sub("", capsys.readouterr().out)


def parse_tables(out: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each box-drawn table in `out`: its headers (wrapped header lines joined) and its rows' cells."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    header_lines: list[list[str]] = []
    rows: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("┏"):
            header_lines, rows = [], []
        elif line.startswith("┃"):
            header_lines.append([c.strip() for c in line.split("┃")[1:-1]])
        elif line.startswith("│"):
            rows.append([c.strip() for c in line.split("│")[1:-1]])
        elif line.startswith("└"):
            headers = [" ".join(part for part in column if part) for column in zip(*header_lines)]
            tables.append((headers, rows))
    return tables


def shown_whole(cell: str, full: str, kind: str) -> bool:
    """Is `cell` the value `full`, or a shortening allowed for its kind (text: cut at the end; path:
    the file name, maybe cut in the middle; exercise: its abbreviation)?"""
    if cell == full:
        return True
    if kind == "exercise":
        from bandlog.cli.commands.sessions import exercise_abbreviations

        return exercise_abbreviations().get(full) == cell
    if kind == "text":
        return cell.endswith("…") and full.startswith(cell[:-1])
    if kind == "path":
        name = full.rsplit("/", 1)[-1]
        head, _, tail = cell.partition("…")
        return cell == name or (len(head) >= 5 and name.startswith(head) and name.endswith(tail))
    return False


def check_table(
    out: str, width: int, expected: list[dict[str, str]], kinds: dict[str, str], always: set[str]
) -> list[str]:
    """Assert the (first) table of `out` shows `expected` (header -> full value, one dict per row) with
    nothing cut but what `kinds` allows, the `always` headers present, the others named if left out,
    and no line wider than `width`. The headers shown."""
    tables = parse_tables(out)
    assert tables, out
    headers, rows = tables[0]
    assert set(headers) <= set(expected[0]), f"unknown headers {headers}"
    assert always <= set(headers), f"missing {always - set(headers)} at {width} columns:\n{out}"
    assert len(rows) == len(expected), f"a cell wrapped onto a second line:\n{out}"
    for row, values in zip(rows, expected):
        for header, cell in zip(headers, row):
            assert shown_whole(cell, values[header], kinds.get(header, "whole")), (
                f"{header!r} shows {cell!r} for {values[header]!r} at {width} columns:\n{out}")
    left_out = [h for h in expected[0] if h not in headers]
    if left_out:
        note = " ".join(out.split())
        assert f"not shown at {width} columns: " in note and all(h in note for h in left_out), note
    too_wide = [line for line in out.splitlines() if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width}: {too_wide}"
    return headers


def number(value: Any, spec: str) -> str:
    return "-" if pd.isna(value) else format(value, spec)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Five sessions over two weeks: 3-digit TUT, 4-digit forces, a long band name, a long folder."""
    backend = FakeBackend()
    monkeypatch.setattr(index, "_default_read", backend.read)
    monkeypatch.setattr(index, "_default_analyze", backend.analyze)
    recordings = tmp_path / LONG_FOLDER
    write_fake_log(recordings / "2026-01-05T120000_left_reverse-hamstring-curl.csv", "2026-01-05T12:00:00+00:00",
                   "left", [9.6] * 12, peak_force_n=1234.5, band=LONG_BAND)
    write_fake_log(recordings / "2026-01-05T121500_right_reverse-hamstring-curl.csv", "2026-01-05T12:15:00+00:00",
                   "right", [3.1, 2.9, None, 3.3], peak_force_n=987.25, band="red")
    write_fake_log(tmp_path / "recordings" / "2026-01-08T120000_left.csv", "2026-01-08T12:00:00+00:00",
                   "left", [8.4] * 14, target_ecc_s=8.0, peak_force_n=2045.0, band=LONG_BAND)
    write_fake_log(tmp_path / "recordings" / "2026-01-13T120000_right.csv", "2026-01-13T12:00:00+00:00",
                   "right", [4.0, 4.2, 3.8], target_ecc_s=4.0, peak_force_n=1500.75, band="green")
    write_fake_log(tmp_path / "recordings" / "2026-01-15T120000_left.csv", "2026-01-15T12:00:00+00:00",
                   "left", [12.5] * 10, target_ecc_s=12.0, peak_force_n=99.5, band="blue x3")
    backend.update(tmp_path)
    return tmp_path


def sessions_data(home: Path, capsys: pytest.CaptureFixture[str]) -> pd.DataFrame:
    assert cli.main(["--data-dir", str(home), "sessions", "--format", "csv"]) == 0
    return pd.read_csv(io.StringIO(capsys.readouterr().out))


@pytest.mark.parametrize("width", WIDTHS)
def test_sessions_fits_without_cutting_a_number(
    home: Path, width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = sessions_data(home, capsys)
    assert data["peak_force_n"].max() > 1000 and data["tut_ecc_s"].max() > 100
    expected = [
        {"date": str(r["date"]), "exercise": number(r["exercise"], ""), "leg": str(r["leg"]), "band": str(r["band"]),
         "reps": str(r["reps"]), "ecc TUT (s)": number(r["tut_ecc_s"], ".1f"), "mean ecc (s)": number(r["mean_ecc_duration_s"], ".1f"),
         "target (s)": number(r["target_ecc_s"], ".1f"), "peak force (N)": number(r["peak_force_n"], ".1f"), "file": str(r["path"])}
        for r in data.to_dict("records")
    ]
    as_terminal(monkeypatch, width)
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    out = read_out(capsys)
    headers = check_table(out, width, expected, {"band": "text", "exercise": "exercise", "file": "path"},
                          always={"date", "leg", "reps", "ecc TUT (s)", "peak force (N)"})
    if width >= 80:
        assert "band" in headers
    if width >= 120:
        assert "file" in headers


def test_sessions_piped_prints_the_whole_table(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Into a pipe or a file (no terminal, no COLUMNS) nothing is left out or shortened, however wide."""
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    out = read_out(capsys)
    headers, _rows = parse_tables(out)[0]
    assert len(headers) == 10 and "not shown" not in out and "shortened" not in out
    assert f"{LONG_FOLDER}/2026-01-05T120000_left_reverse-hamstring-curl.csv" in out and LONG_BAND in out


def rep_rows() -> list[dict[str, Any]]:
    """A set as the detector reports it: 3-digit ROM, 4-digit forces and impulses, an estimated eccentric, flags."""
    rows = rep_table([3.33, 1.52, None, 2.61], peak_force_n=1234.56).to_dict("records")
    for i, row in enumerate(rows):
        row["rom_deg"] = 103.72 - 5 * i
        row["start_s"] += 1000.0
    rows[1]["estimated"] = True
    rows[3]["flags"] = "truncated"
    return rows


def rep_expected(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    def two(value: Any) -> str:
        return "–" if value is None or pd.isna(value) else f"{value:.2f}"

    return [
        {"rep": str(r["rep"]), "start s": two(r["start_s"]), "ecc start s": two(r["ecc_start_s"]),
         "ecc s": two(r["ecc_duration_s"]) + (" (est.)" if r["estimated"] else ""), "tempo": r["tempo"],
         "tension s": two(r["tut_tension_s"]), "peak N": two(r["peak_force_n"]), "ecc mean N": two(r["mean_ecc_force_n"]),
         "impulse N·s": two(r["ecc_impulse_ns"]), "ROM °": two(r["rom_deg"]), "ecc °/s": two(r["mean_ecc_velocity_dps"]),
         "stalls": str(r["stalls"]), "flags": ", ".join(f for f in str(r["flags"]).split(";") if f)}
        for r in rows
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_rep_table_fits_without_cutting_a_number(width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bandlog.cli.commands._rep_table import print_set

    rows = rep_rows()
    summary = {"reps": 4, "eccentrics": 3, "tut_ecc_s": 7.46, "tut_tension_s": 11.2, "mean_ecc_duration_s": 2.49,
               "peak_force_n": 1237.56, "mode": "force+imu"}
    as_terminal(monkeypatch, width)
    print_set(rows, summary, ["too_small"] * 2, title="2026-01-05T120000_left_reverse-hamstring-curl.csv (bandlog), set 1 of 1",
              label="set 1 of 1", lists_hint="(--format json lists them)")
    out = read_out(capsys)
    headers = check_table(out, width, rep_expected(rows), {"flags": "text"}, always={"rep", "ecc s", "tempo", "peak N", "ROM °"})
    assert "set 1 of 1: 4 reps" in out and "1237.56 N" in " ".join(out.split())
    if width >= 120:
        assert len(headers) >= 12


@pytest.mark.parametrize("by", ["week", "session"])
@pytest.mark.parametrize("width", WIDTHS)
def test_progress_table_fits_without_cutting_a_number(
    home: Path, width: int, by: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bandlog.progress.trends import by_grouping

    data, when = by_grouping(index.load_sessions(home), by)
    decimals = ".0f" if by == "week" else ".1f"
    peak = "best peak (N)" if by == "week" else "peak force (N)"
    expected: list[dict[str, str]] = [
        {("week of" if by == "week" else "date"): pd.Timestamp(r[when]).date().isoformat(), "leg": str(r["leg"]),
         **({"sessions": str(r["sessions"])} if by == "week" else {"band": str(r["band"])}),
         "reps": str(r["reps"]), "ecc TUT (s)": number(r["tut_ecc_s"], decimals), "mean ecc (s)": number(r["mean_ecc_duration_s"], ".1f"),
         "within ±20 %": number(r["adherence"], ".0%"), peak: number(r["peak_force_n"], decimals)}
        for r in data.to_dict("records")
    ]
    as_terminal(monkeypatch, width)
    out_file = home / f"p-{by}-{width}.png"
    assert cli.main(["--data-dir", str(home), "progress", "--by", by, "--metric", "tut", "--out", str(out_file)]) == 0
    out = read_out(capsys)
    table_part = out.split("wrote ")[0]
    assert re.search(rf"^per {by}\s*$", table_part, re.MULTILINE), table_part
    check_table(table_part, width, expected, {"band": "text"}, always={next(iter(expected[0])), "leg", "ecc TUT (s)", peak})


def test_fit_keeps_whole_columns_whole_even_when_nothing_else_fits() -> None:
    """A terminal narrower than the columns that may not be dropped: the table is wider than asked
    (the terminal wraps it), its note says so, and still no number is cut."""
    from bandlog.cli.commands._table_fit import Column, fit, fit_note

    columns = (Column("date", "date"), Column("force", "peak force (N)"), Column("band", "band", "text"))
    fitted = fit(columns, [{"date": "2026-01-05", "force": "12345.6", "band": "green"}], 20, drop_order=("band",))
    assert [c.key for c in fitted.columns] == ["date", "force"] and fitted.rows == (("2026-01-05", "12345.6"),)
    assert fitted.total_width > 20 and "the table needs" in fit_note(fitted, "a wider terminal shows them")


@pytest.mark.parametrize(("text", "kind", "width", "shown"), [
    ("recordings/2026/2026-01-05T120000_left.csv", "path", 30, "2026-01-05T120000_left.csv"),
    ("recordings/2026/2026-01-05T120000_left.csv", "path", 20, "2026-01-05…_left.csv"),
    ("theraband gold + black", "text", 10, "theraband…"),
])
def test_shortening_cuts_names_not_numbers(text: str, kind: str, width: int, shown: str) -> None:
    from bandlog.cli.commands._table_fit import Column, fit

    fitted = fit((Column("n", "n"), Column("x", "x", kind)), [{"n": "1234.5", "x": text}], width + 3 * 2 + 1 + 6)
    assert fitted.rows == (("1234.5", shown),) and fitted.shortened == ("x",)
