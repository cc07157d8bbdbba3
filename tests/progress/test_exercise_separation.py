"""Progress keeps exercises apart (issue 17 point 3): a standing "L" session is never averaged into the
reverse curl's trend. `--exercise` filters sessions, progress and export; without it the HTML report has
a section per exercise and a PNG charts the latest session's exercise and names the others."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from progress_fakes import FakeBackend, write_fake_log, write_weeks

from bandlog import cli
from bandlog.progress import report
from bandlog.progress.index import load_reps, load_sessions, session_records
from bandlog.progress.trends import by_exercise

STANDING_L = 'standing "L"'


def _write_standing_l(home: Path, days: int = 2) -> None:
    for day in range(days):
        stamp = pd.Timestamp("2026-01-06T18:00:00Z") + pd.Timedelta(days=7 * day)
        write_fake_log(home / "recordings" / f"{stamp:%Y-%m-%dT%H%M%S}_L.csv", stamp.isoformat(), "left",
                       [1.2, 1.3, 1.4], peak_force_n=5.0, exercise=STANDING_L)


@pytest.fixture
def home(tmp_path: Path, backend: FakeBackend) -> Path:
    write_weeks(tmp_path, weeks=2)  # 8 reverse-curl sessions (no exercise line: the default name)
    _write_standing_l(tmp_path)
    write_fake_log(tmp_path / "recordings" / "2026-01-20T080000_foreign.csv", "2026-01-20T08:00:00+00:00", "right",
                   [3.0, 3.0], exercise="Nordic-ish curl from another app")  # unknown text: counted as the reverse curl
    backend.update(tmp_path)
    return tmp_path


def test_sessions_group_by_profile_and_unknown_text_counts_as_the_reverse_curl(home: Path) -> None:
    groups = dict(by_exercise(load_sessions(home)))
    assert list(groups) == ["reverse hamstring curl", STANDING_L]
    assert len(groups["reverse hamstring curl"]) == 9 and len(groups[STANDING_L]) == 2


def test_the_readers_filter_by_profile_key(home: Path) -> None:
    assert {r["exercise"] for r in session_records(home, exercise="standing-l")} == {STANDING_L}
    assert len(session_records(home, exercise="reverse-curl")) == 9
    assert session_records(home, exercise="runners-stretch") == []
    reps = load_reps(home, exercise="standing-l")
    assert len(reps) == 6 and set(reps["exercise"]) == {STANDING_L}


def test_the_report_has_a_section_per_exercise_each_with_its_own_charts(home: Path) -> None:
    html = report.progress_report(load_sessions(home), metrics=["tut", "duration"], reps=load_reps(home))
    sections = re.findall(r"<h2>([^<]*)</h2>", html)
    assert sections[:2] == ["reverse hamstring curl", "standing &quot;L&quot;"] and sections[-1] == "Sessions"
    curl, standing = html.split("<h2>standing &quot;L&quot;</h2>")
    assert curl.count("<figure>") == 2 and standing.split("<h2>Sessions</h2>")[0].count("<figure>") == 2
    assert "<th class=\"text\">exercise</th>" in html  # the session table says which exercise each row is


def test_one_exercise_keeps_the_plain_report(tmp_path: Path, backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=1)
    backend.update(tmp_path)
    html = report.progress_report(load_sessions(tmp_path), metrics=["tut"])
    assert re.findall(r"<h2>([^<]*)</h2>", html) == ["Charts", "Per week", "Sessions"]
    assert ">exercise</th>" not in html


def test_progress_verb_filters_by_exercise_and_names_it_when_empty(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_png = home / "l.png"
    assert cli.main(["--data-dir", str(home), "progress", "--exercise", "standing-l", "--out", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert out_png.stat().st_size > 0 and "also recorded" not in text
    status = cli.main(["--data-dir", str(home), "progress", "--exercise", "runners-stretch", "--out", str(home / "r.png")])
    err = capsys.readouterr().err
    assert status != 0 and "of the active runner's stretch" in err and "(11 sessions in all)" in err


def test_a_png_of_several_exercises_charts_the_latest_and_names_the_others(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "progress", "--by", "session", "--out", str(home / "all.png")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # the latest session is the foreign log, counted as the reverse curl
    assert "charts the reverse hamstring curl, the latest session's exercise" in out
    assert 'also recorded: standing "L" (2 sessions)' in out
    assert "reverse hamstring curl, per session" in out and 'standing "L", per session' in out


def test_sessions_and_export_take_the_same_filter(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "sessions", "--exercise", "standing-l", "--format", "csv"]) == 0
    import io

    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 2
    out = home / "reps.csv"
    assert cli.main(["--data-dir", str(home), "export", "--exercise", "knee", "--out", str(out)]) == 0  # the old alias
    exported = pd.read_csv(out, comment="#")
    assert len(exported) == 8 * 5 + 2 and STANDING_L not in set(exported["exercise"])
