"""Warm `sessions` and `progress` cost what reading the index costs: `sessions` imports neither pandas
nor matplotlib, `progress` draws its charts once per state of the index (any change draws them again),
and indexing off a terminal says how it goes in plain lines instead of a progress bar."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "progress"))  # the fake rep logs of tests/progress
from progress_fakes import FakeBackend, write_fake_log, write_weeks

from bandlog import cli
from bandlog.progress import index, report

HEAVY = ("pandas", "numpy", "matplotlib", "scipy", "rich.table", "rich.progress")

WARM = """
import sys
from bandlog import cli
code = cli.main(["--data-dir", *sys.argv[1].split()])
print("imported:", [name for name in sys.argv[2:] if name in sys.modules], file=sys.stderr)
raise SystemExit(code)
"""
"""Runs a verb (argv[1]: the data dir and the verb's arguments) and names the HEAVY modules it imported."""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three weeks of fake logs, indexed; the verbs' refresh reads new ones with the same fake backend."""
    fake = FakeBackend()
    monkeypatch.setattr(index, "_default_read", fake.read)
    monkeypatch.setattr(index, "_default_analyze", fake.analyze)
    write_weeks(tmp_path, weeks=3)
    fake.update(tmp_path)
    return tmp_path


def test_warm_sessions_reads_the_index_and_imports_nothing_heavy(home: Path) -> None:
    done = subprocess.run([sys.executable, "-c", WARM, f"{home} sessions", *HEAVY], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["imported: []"]  # and no log was read: the real reader would have skipped these fakes
    assert done.stdout.startswith("12 sessions of the reverse hamstring curl\n┏") and done.stdout.count("│ 2026-01-") == 12


def test_warm_progress_writes_its_stored_report_without_pandas_or_matplotlib(home: Path) -> None:
    out = home / "r.html"
    assert cli.main(["--data-dir", str(home), "progress", "--out", str(out)]) == 0  # draws, here
    first = out.read_text(encoding="utf-8")
    out.unlink()
    done = subprocess.run([sys.executable, "-c", WARM, f"{home} progress --out {out}", *HEAVY], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["imported: []"]
    assert done.stdout.startswith("per week\n┏") and done.stdout.endswith(f"wrote {out}\n")
    again = out.read_text(encoding="utf-8")
    undated = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d")
    assert undated.sub("", again) == undated.sub("", first) and len(undated.findall(again)) == 1


def _drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the times the report's charts are drawn."""
    calls: list[str] = []
    real = report.progress_pngs

    def counting(*args: object, **kwargs: object) -> dict[str, bytes]:
        calls.append("drawn")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "progress_pngs", counting)
    return calls


def test_progress_draws_its_charts_once_until_the_index_changes(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    drawn = _drawn(monkeypatch)
    out = home / "r.html"
    argv = ["--data-dir", str(home), "progress", "--out", str(out), "--force"]
    assert cli.main(argv) == 0
    first = out.read_text(encoding="utf-8")
    table = capsys.readouterr().out
    assert cli.main(argv) == 0 and len(drawn) == 1  # same index: the stored report is written again
    assert out.read_text(encoding="utf-8") == first and capsys.readouterr().out == table
    assert "\0" not in first and "· generated 20" in first
    assert cli.main([*argv[:3], "--leg", "left", *argv[3:]]) == 0 and len(drawn) == 2  # other options: other charts
    write_fake_log(home / "recordings" / "2026-01-27T120000_left.csv", "2026-01-27T12:00:00+00:00", "left", [4.0, 4.1])
    assert cli.main(argv) == 0 and len(drawn) == 3  # a new session: drawn again, and it shows
    assert out.read_text(encoding="utf-8") != first and "13 sessions" in out.read_text(encoding="utf-8")


def test_progress_png_is_stored_with_the_index_too(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bandlog.progress import trend_plots

    calls: list[str] = []
    real = trend_plots.progress_figure
    monkeypatch.setattr(trend_plots, "progress_figure", lambda *a, **k: calls.append("drawn") or real(*a, **k))
    out = home / "p.png"
    for _ in range(2):
        assert cli.main(["--data-dir", str(home), "progress", "--out", str(out), "--force"]) == 0
    assert len(calls) == 1 and out.read_bytes().startswith(b"\x89PNG")


def test_indexing_off_a_terminal_prints_plain_progress_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from bandlog.cli.commands import _indexing

    fake = FakeBackend()
    monkeypatch.setattr(index, "_default_read", fake.read)
    monkeypatch.setattr(index, "_default_analyze", fake.analyze)
    monkeypatch.setattr(_indexing, "PLAIN_EVERY_S", 0.0)  # a line each time, as for an update longer than PLAIN_EVERY_S
    write_weeks(tmp_path, weeks=1)
    _indexing.refresh_index(tmp_path)
    err = capsys.readouterr().err.splitlines()
    assert err[:4] == [f"bandlog: indexing: {i} of 4 logs analysed (0 s)" for i in range(1, 5)]
    assert not any("\x1b" in line or "\r" in line for line in err)  # plain lines, no bar drawing


def test_progress_whose_charts_cannot_be_stored_still_writes_them(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A cache that cannot be written (here: SQLite refuses the table) costs the next run's time, nothing else."""
    from bandlog.progress import index_store

    drawn = _drawn(monkeypatch)
    monkeypatch.setattr(index_store, "_CHARTS", "CREATE TABLE charts (no closing parenthesis")
    out = home / "r.html"
    for _ in range(2):
        assert cli.main(["--data-dir", str(home), "progress", "--out", str(out), "--force"]) == 0
        assert capsys.readouterr().err == "" and "12 sessions" in out.read_text(encoding="utf-8")
    assert len(drawn) == 2
