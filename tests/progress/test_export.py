"""`bandlog export` and `--anonymise`: the history as one tidy rep table (CSV, Parquet) built from the
session index, and outputs that can be shared with a clinician, on simulated weeks of real logs."""

from __future__ import annotations

import io
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from progress_fakes import FakeBackend, write_fake_log

from bandlog import cli
from bandlog.core.errors import LogFormatError
from bandlog.core.results import REP_COLUMNS
from bandlog.progress.anonymise import ANONYMISED_NOTE
from bandlog.progress.export import ANONYMISED_COLUMNS, EXPORT_COLUMNS, anonymised, rep_export
from bandlog.progress.history import write_simulated_history
from bandlog.progress.index import index_path, update_index

PERSON = "Ada Lovelace"
DEVICE_NAME = "GDX-FOR 07Z"
DEVICE_ADDRESS = "C4:7F:51:0A:BB:12"
FOLDER = "home-of-grace"
FIRST_DAY = date(2026, 3, 2)  # a Monday: the two sessions a leg fall on days 1 and 8, weeks 1 and 2


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks, one session a week per leg (4 logs, 3 reps each); the first log names its person
    and its sensor, as a real recording's header would; indexed."""
    home = tmp_path_factory.mktemp("export") / FOLDER
    paths = write_simulated_history(home, weeks=2, sessions_per_week=1, first_day=FIRST_DAY, reps_per_set=3)
    text = paths[0].read_text(encoding="utf-8")
    text = text.replace("# device_name:\n", f"# device_name: {DEVICE_NAME}\n").replace("# device_address:\n", f"# device_address: {DEVICE_ADDRESS}\n")
    paths[0].write_text(text.replace("# extra.simulated:", f"# extra.person: {PERSON}\n# extra.simulated:"), encoding="utf-8")
    update_index(home, workers=1)
    return home


def _indexed_reps(home: Path) -> int:
    with sqlite3.connect(index_path(home)) as conn:
        return int(conn.execute("SELECT count(*) FROM reps").fetchone()[0])


def _export(home: Path, *options: str) -> int:
    return cli.main(["--data-dir", str(home), "export", *options])


def test_csv_has_one_row_per_indexed_rep_with_the_documented_columns(home: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reps.csv"
    assert _export(home, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out)
    assert list(table.columns) == list(EXPORT_COLUMNS) and len(table) == _indexed_reps(home) == 12
    assert f"wrote {out}: 12 reps from 4 sessions" in printed
    # the person: the header's extra.person, else the data folder's name, and that guess is said
    sessions = table.drop_duplicates("session").set_index("session")
    assert list(sessions.index) == [1, 2, 3, 4] and sessions.loc[1, "person"] == PERSON
    assert set(sessions.loc[2:, "person"]) == {FOLDER}
    assert f"person is the data folder's name, '{FOLDER}', for 3 sessions" in printed
    assert list(sessions["date"]) == ["2026-03-02", "2026-03-02", "2026-03-09", "2026-03-09"]
    assert set(sessions["leg"]) == {"left", "right"} and set(sessions["exercise"]) == {"reverse hamstring curl"}
    assert sessions["path"].str.startswith("recordings/").all() and sessions["rpe"].notna().all()
    assert (table.groupby("session")["rep"].apply(list) == pd.Series({s: [1, 2, 3] for s in range(1, 5)})).all()


def test_the_default_output_is_a_new_file_in_the_data_folder(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(home) == 0
    assert _export(home) == 0  # never overwrites: the second run writes NAME-2
    written = sorted((home / "exports").glob("bandlog-reps-*.csv"))
    assert [p.name for p in written] == [f"bandlog-reps-{date.today()}-2.csv", f"bandlog-reps-{date.today()}.csv"]
    assert written[0].read_bytes() == written[1].read_bytes()


def test_parquet_round_trips_through_pandas(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reps.parquet"
    assert _export(home, "--format", "parquet", "--out", str(out)) == 0
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, rep_export(home).table, check_dtype=True, check_exact=True)
    assert back["date"].dtype.kind == "M" and back["estimated"].dtype == bool and back["set"].dtype == "int64"


def test_text_cells_are_spreadsheet_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "data"
    [path] = write_simulated_history(home, weeks=1, sessions_per_week=1, first_day=FIRST_DAY, reps_per_set=2)[:1]
    path.write_text(path.read_text(encoding="utf-8").replace("# band: red", "# band: =HYPERLINK(1)"), encoding="utf-8")
    assert _export(home, "--out", str(tmp_path / "r.csv"), "--leg", "left") == 0
    assert set(pd.read_csv(tmp_path / "r.csv")["band"]) == {"'=HYPERLINK(1)"}


def _identifying(home: Path) -> list[bytes]:
    """What no anonymised output may contain: names, paths, the device, notes, and each real date in
    the forms bandlog writes them."""
    days = [FIRST_DAY, date(2026, 3, 9)]
    words = [PERSON, "Lovelace", DEVICE_NAME, DEVICE_ADDRESS, FOLDER, str(home), "recordings", "sim-left", "simulated by", "seed"]
    words += [f"{d:%Y-%m-%d}" for d in days] + [f"{d:%d %b}" for d in days] + [f"{d:%Y%m%d}" for d in days] + [":30:00"]
    return [w.encode() for w in words]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_anonymised_tables_hold_no_name_path_device_note_or_date(home: Path, tmp_path: Path, kind: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"shared.{kind}"
    assert _export(home, "--format", kind, "--anonymise", "--out", str(out)) == 0
    data = out.read_bytes()
    assert [w for w in _identifying(home) if w in data] == []
    table = pd.read_csv(out, skiprows=1).fillna({"flags": ""}) if kind == "csv" else pd.read_parquet(out)  # CSV: no flags = empty cell
    assert list(table.columns) == list(ANONYMISED_COLUMNS) and len(table) == 12
    assert set(table["day"]) == {1, 8} and set(table["week"]) == {1, 2}
    note = data.decode("utf-8").splitlines()[0] if kind == "csv" else table.attrs["bandlog"]
    assert ANONYMISED_NOTE in note
    pd.testing.assert_frame_equal(table, anonymised(rep_export(home).table), check_dtype=kind == "parquet")


@pytest.mark.parametrize("suffix", [".html", ".svg"])
def test_an_anonymised_progress_report_holds_no_path_name_or_date(home: Path, tmp_path: Path, suffix: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"report{suffix}"
    since = ["--since", "2026-03-01"]  # a --since date would be in the subtitle
    assert cli.main(["--data-dir", str(home), "progress", "--anonymise", "--by", "session", *since, "--out", str(out)]) == 0
    data = out.read_bytes()
    assert [w for w in [*_identifying(home), b"2026-03-01", b"2026"] if w in data] == []
    assert b"day 8" in data  # the date axis and the tables number the days instead
    if suffix == ".html":
        text = data.decode("utf-8")
        assert text.count("Anonymised by bandlog") == 2 and "generated" not in text and "week 2" in text
    # the same report not anonymised does show them (so the search above can fail)
    plain = tmp_path / f"plain{suffix}"
    assert cli.main(["--data-dir", str(home), "progress", "--by", "session", *since, "--out", str(plain)]) == 0
    assert b"2026-03-0" in plain.read_bytes() or b"02 Mar" in plain.read_bytes()


@pytest.mark.parametrize(("options", "status", "sentence"), [
    (["--since", "yesterday"], cli.ExitStatus.USAGE, "--since must be a date like 2026-01-31, not 'yesterday'"),
    (["--format", "parquet", "--out", "x.csv"], cli.ExitStatus.USAGE, "ends in .csv but --format is parquet"),
    (["--since", "2999-01-01"], cli.ExitStatus.ERROR, "no reps to export in"),
])
def test_bad_options_are_one_sentence(home: Path, options: list[str], status: int, sentence: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(home, *options) == status
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err


def test_an_unknown_format_is_argparse_s_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _export(home, "--format", "xlsx")
    assert stop.value.code == cli.ExitStatus.USAGE and "invalid choice: 'xlsx'" in capsys.readouterr().err


def test_an_existing_out_is_kept_without_force(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine.csv"
    out.write_bytes(b"the user's own file")
    assert _export(home, "--out", str(out)) == cli.ExitStatus.WRITE_FAILED
    assert "the file already exists (add --force to overwrite it)" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's own file"
    assert _export(home, "--out", str(out), "--force") == 0 and len(pd.read_csv(out)) == 12


def test_without_pyarrow_parquet_is_one_sentence_saying_how_to_install_it(home: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now raises ImportError
    out = tmp_path / "reps.parquet"
    assert _export(home, "--out", str(out)) == cli.ExitStatus.ERROR  # the format from --out's name
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs pyarrow" in err and "pip install 'bandlog[parquet]'" in err
    assert not out.exists()
    assert _export(home, "--out", str(tmp_path / "reps.csv")) == 0  # CSV needs no pyarrow


def test_an_unreadable_header_is_counted_and_said(home: Path) -> None:
    def broken(path: Path) -> None:
        raise LogFormatError(f"{path.name} vanished")

    export = rep_export(home, meta_of=broken)
    assert len(export.unread_headers) == 4 and export.person_from_folder == 0
    assert set(export.table["person"]) == {FOLDER}
    assert any("could not read the header of 4 logs" in note for note in export.notes())


def test_the_table_keeps_every_rep_column_in_order(home: Path) -> None:
    table = rep_export(home, leg="right").table
    assert list(table.columns[-len(REP_COLUMNS) - 2:]) == [*REP_COLUMNS, "peak_torque_n_m", "mean_torque_n_m"]  # the band's torque last
    assert set(table["leg"]) == {"right"} and len(table) == 6
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)  # plain text all through: nothing that needs pickling
    assert buffer.getvalue().count("\n") == 7


def test_a_session_without_reps_has_no_row_and_is_counted(tmp_path: Path, backend: FakeBackend) -> None:
    write_fake_log(tmp_path / "recordings" / "a.csv", "2026-01-05T12:00:00+00:00", "left", [2.0, 3.0])
    write_fake_log(tmp_path / "recordings" / "b.csv", "2026-01-06T12:00:00+00:00", "left", [])
    backend.update(tmp_path)
    export = rep_export(tmp_path, meta_of=lambda path: None)  # fake logs have no bandlog header
    assert len(export.table) == 2 and export.sessions == 2 and export.sessions_without_reps == 1
    assert "1 session with no rep has no row" in export.notes()
    assert export.person_from_folder == 2 and set(export.table["person"]) == {tmp_path.name}


def test_a_foreign_export_has_no_header_person(tmp_path: Path) -> None:
    from bandlog.io.read import read_meta

    path = tmp_path / "tindeq.csv"
    path.write_text("t_s,force_n\n0.0,1.0\n0.1,2.0\n", encoding="utf-8")
    assert read_meta(path) is None
