"""Set ratings reach the session index (mean RPE and pain per session) and the progress report's
effort panel, beside time under tension; the adherence panel charts the share of eccentrics on tempo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bandlog.core.meta import RecordingMeta
from bandlog.core.results import SetRating
from bandlog.io.csv_log import write_recording
from bandlog.progress import index, trend_plots
from bandlog.progress.history import plan_history
from bandlog.sim import random_spec, simulate_session


def test_the_index_keeps_each_session_s_mean_rating(tmp_path: Path) -> None:
    block = simulate_session(random_spec(4, n_sets=1, reps_per_set=2)).record(rate_hz=50.0)
    day = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    rated = [SetRating(1, 7, 2, 30.0), SetRating(2, 8, None, 60.0)]
    for name, ratings in (("rated", rated), ("unrated", [])):
        write_recording(tmp_path / "recordings" / f"{name}.csv", RecordingMeta(start_utc=day.isoformat(), leg="left"), block, ratings)
    index.update_index(tmp_path)
    sessions = index.load_sessions(tmp_path).set_index("path")
    assert sessions.loc["recordings/rated.csv", "rpe"] == pytest.approx(7.5)
    assert sessions.loc["recordings/rated.csv", "pain"] == pytest.approx(2.0)  # only the set that gave one
    assert pd.isna(sessions.loc["recordings/unrated.csv", "rpe"]) and pd.isna(sessions.loc["recordings/unrated.csv", "pain"])


def _sessions(ratings: dict[str, list[tuple[float | None, float | None]]]) -> pd.DataFrame:
    """Whole past weeks of sessions per leg with the given (rpe, pain), one session a week."""
    monday = date.today() - timedelta(days=date.today().weekday() + 7 * 4)
    rows = []
    for leg, scores in ratings.items():
        for week, (rpe, pain) in enumerate(scores):
            day = pd.Timestamp(monday + timedelta(days=7 * week))
            rows.append({"path": f"{leg}{week}.csv", "date": day, "week": day, "leg": leg, "reps": 8, "eccentrics": 8,
                         "tut_ecc_s": 24.0, "tut_tension_s": 30.0, "peak_force_n": 60.0, "mean_force_n": 40.0,
                         "target_ecc_s": 3.0, "adherence": 0.25 * (week + 1), "slow_reps": 4, "moderate_reps": 2,
                         "fast_reps": 2, "mode": "force+imu", "rpe": rpe, "pain": pain})
    return pd.DataFrame(rows)


def test_the_effort_panel_draws_rpe_solid_and_pain_dashed_per_leg() -> None:
    sessions = _sessions({"left": [(8, 1), (7, 0), (6, 0)], "right": [(9, 4), (8, None), (7, 2)]})
    ax = trend_plots.plot_effort(sessions, by="week")
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == {"left RPE", "left pain", "right RPE", "right pain"}
    assert list(lines["right RPE"].get_ydata()) == [9, 8, 7] and lines["right RPE"].get_linestyle() == "-"
    right_pain = np.asarray(lines["right pain"].get_ydata(), dtype=float)
    assert right_pain[0] == 4 and np.isnan(right_pain[1]) and lines["right pain"].get_linestyle() == "--"
    assert ax.get_ylim() == (0, 10.5) and ax.get_ylabel() == "score (0-10)"


def test_without_ratings_the_effort_panel_says_so() -> None:
    ax = trend_plots.plot_effort(_sessions({"left": [(None, None), (None, None)]}), by="week")
    assert ax.get_title(loc="left").endswith("no set rated yet") and not ax.get_lines()


def test_the_adherence_panel_is_the_share_on_tempo_in_percent() -> None:
    ax = trend_plots.plot_adherence(_sessions({"left": [(None, None)] * 3}), by="session")
    (line,) = [line for line in ax.get_lines() if line.get_label() == "left"]
    assert list(line.get_ydata()) == pytest.approx([25.0, 50.0, 75.0])


def test_the_demo_history_rates_its_sets_and_the_right_leg_s_pain_eases() -> None:
    plan = plan_history(date(2026, 10, 5), weeks=4, sessions_per_week=3, seed=0)
    assert all(0 <= p.rpe <= 10 and 0 <= p.pain <= 10 for p in plan)
    right = [p.pain for p in plan if p.leg == "right"]
    assert np.mean(right[:3]) > np.mean(right[-3:])
