"""`bandlog sessions` and `bandlog progress` on a temp data dir (index filled by the fake backend;
the verbs' own refresh then finds every log unchanged and re-reads nothing)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from progress_fakes import FakeBackend, write_weeks

from bandlog import cli
from bandlog.progress.trend_plots import PROGRESS_METRICS


@pytest.fixture
def home(tmp_path: Path, backend: FakeBackend) -> Path:
    write_weeks(tmp_path, weeks=3)
    backend.update(tmp_path)
    return tmp_path


def test_sessions_lists_every_session_with_its_numbers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "sessions"]) == 0
    out = capsys.readouterr().out
    assert "12 sessions" in out
    for heading in ("date", "leg", "band", "reps", "ecc TUT (s)", "mean ecc (s)", "peak force (N)"):
        assert heading in out
    assert out.count("2026-01-05T120000_") == 2 and "2026-01-22" in out


def test_sessions_filters_and_csv(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    assert cli.main(["--data-dir", str(home), "sessions", "--leg", "right", "--since", "2026-01-12", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 4 and set(table["leg"]) == {"right"} and table["date"].min() >= "2026-01-12"
    assert table["tut_ecc_s"].iloc[0] == pytest.approx(2.5 + 2.8 + 3.1 + 3.4 + 1.5)  # 2nd week: 2.5 s in 0.3 s steps, then 1.5 s


def test_sessions_on_an_empty_data_dir_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(tmp_path), "sessions"]) == 0
    assert capsys.readouterr().out.strip() == f"no sessions in {tmp_path / 'recordings'}"


def test_an_empty_filtered_list_names_its_filters_and_a_future_date(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--since` a date to come used to print the same line as an empty data folder."""
    assert cli.main(["--data-dir", str(home), "sessions", "--leg", "left", "--since", "2999-01-01"]) == 0
    out = capsys.readouterr().out
    assert "for the left leg on or after 2999-01-01 (a date in the future)" in out
    assert "(12 sessions in all)" in out


def test_bad_since_is_one_sentence_and_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "sessions", "--since", "last tuesday"]) == cli.ExitStatus.USAGE
    err = capsys.readouterr().err
    assert err.startswith("bandlog: --since must be a date") and "Traceback" not in err


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_progress_writes_an_image(home: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = home / f"p{suffix}"
    assert cli.main(["--data-dir", str(home), "progress", "--by", "session", "--metric", "tut", "--metric", "duration", "--out", str(out)]) == 0
    head = out.read_bytes()[:100]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in out.read_bytes()[:2000]
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "per session" in printed  # --by session: the table is per session too


def test_progress_html_report_by_default_in_the_data_dir(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "progress", "--leg", "left"]) == 0
    reports = list((home / "reports").glob("progress-*.html"))
    assert len(reports) == 1
    text = reports[0].read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == len(PROGRESS_METRICS) and "left leg, per week" in text
    assert "http" not in text.replace("&#58;", "")


def test_progress_errors_are_one_sentence(home: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "progress", "--out", str(home / "p.pdf")]) == cli.ExitStatus.USAGE
    assert "--out must end in .png, .svg or .html" in capsys.readouterr().err
    empty = tmp_path_factory.mktemp("empty")
    assert cli.main(["--data-dir", str(empty), "progress"]) == cli.ExitStatus.ERROR
    assert capsys.readouterr().err.startswith("bandlog: no sessions to chart")


def test_an_unreadable_recording_is_reported_not_fatal(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "recordings" / "garbage.csv").write_text("nothing,useful\nhere,at all\n", encoding="utf-8")
    assert cli.main(["--data-dir", str(home), "sessions", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "bandlog: skipped recordings/garbage.csv:" in captured.err
    assert len(captured.out.strip().splitlines()) == 13


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_progress_never_overwrites_an_existing_file_without_force(home: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = home / f"mine{suffix}"
    out.write_bytes(b"the user's own file")
    args = ["--data-dir", str(home), "progress", "--metric", "tut", "--out", str(out)]
    assert cli.main(args) == cli.ExitStatus.WRITE_FAILED
    err = capsys.readouterr().err
    assert err == f"bandlog: cannot write the {'chart' if suffix == '.png' else 'report'} {out}: the file already exists (add --force to overwrite it)\n"
    assert out.read_bytes() == b"the user's own file"
    assert cli.main([*args, "--force"]) == 0
    assert out.read_bytes() != b"the user's own file"


def test_the_default_progress_report_gets_a_new_name_each_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        assert cli.main(["--data-dir", str(home), "progress", "--metric", "tut"]) == 0
    first = home / "reports" / f"progress-{date.today():%Y-%m-%d}.html"
    second = first.with_name(f"{first.stem}-2.html")
    assert sorted((home / "reports").glob("progress-*.html")) == sorted([first, second])
    assert f"wrote {second}" in capsys.readouterr().out


def test_progress_out_naming_a_folder_is_one_sentence(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "charts.png").mkdir()
    assert cli.main(["--data-dir", str(home), "progress", "--out", str(home / "charts.png")]) == cli.ExitStatus.USAGE
    assert capsys.readouterr().err == f"bandlog: --out {home / 'charts.png'} is a folder; give the chart a file name\n"
