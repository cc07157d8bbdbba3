"""The HTML report is one self-contained file: every chart inline, tables escaped, nothing external."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from progress_fakes import FakeBackend, write_fake_log, write_weeks

from bandlog.core.errors import LogWriteError
from bandlog.progress import index, report, trend_plots

EXTERNAL = re.compile(r"https?://|<script|<link|<iframe|\bsrc=\"(?!data:)|url\(", re.IGNORECASE)


@pytest.fixture
def sessions(tmp_path: Path, backend: FakeBackend) -> pd.DataFrame:
    write_weeks(tmp_path, weeks=2)
    write_fake_log(tmp_path / "recordings" / "odd.csv", "2026-01-07T08:00:00+00:00", "left", [3.0],
                   band='<img src="http://evil.example/x.png">')
    backend.update(tmp_path)
    return index.load_sessions(tmp_path)


def test_report_embeds_every_chart_and_references_nothing_outside(sessions: pd.DataFrame) -> None:
    text = report.progress_report(sessions, by="week")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == len(trend_plots.PROGRESS_METRICS)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in images)
    assert EXTERNAL.search(text) is None
    for caption in ("Eccentric time under tension per week", "Left/right asymmetry per week"):
        assert caption in text


def test_report_tables_list_every_session_and_escape_log_text(sessions: pd.DataFrame) -> None:
    text = report.progress_report(sessions, metrics=["tut"])
    session_table = text.split("<h2>Sessions</h2>", 1)[1]
    assert session_table.count("<tr>") == len(sessions) + 1
    assert "&lt;img src=&quot;http&#58;//evil.example/x.png&quot;&gt;" in text
    assert '<img src="http' not in text
    assert "(stronger − weaker) / stronger × 100" in text


def test_build_report_takes_any_named_figures(sessions: pd.DataFrame) -> None:
    figs = {f"chart {i}": Figure() for i in range(3)}
    for fig in figs.values():
        fig.add_subplot().plot([1, 2, 3])
    text = report.build_report(sessions, figs, title="My <weeks>")
    assert text.count("data:image/png;base64,") == 3
    assert "<figcaption>chart 2</figcaption>" in text and "My &lt;weeks&gt;" in text


def test_write_report_creates_folders_and_fails_in_one_sentence(tmp_path: Path) -> None:
    out = report.write_report(tmp_path / "a" / "b" / "r.html", "<html></html>")
    assert out.read_text(encoding="utf-8") == "<html></html>"
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(LogWriteError, match="cannot write the report"):
        report.write_report(tmp_path / "blocker" / "r.html", "x")
