"""Real change vs noise: the typical error from a person's own reps, the SEM and MDC95 it gives, the calls
made with them, and the charts that draw them (bandlog.progress.reliability)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bench_loader import load_bench
from progress_fakes import FakeBackend, write_fake_log

from bandlog.progress import index, reliability, trend_plots, trends
from bandlog.progress.reliability import is_real_change, mdc95, rep_noise, sd_of_max, sem_of


def _reps(sessions: int, places: int, noise_sd: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reps of `sessions` sessions: a session level, a steady fatigue slope and a heavier first rep
    repeated every session, and independent noise of `noise_sd`."""
    rng = np.random.default_rng(seed)
    place = np.tile(np.arange(places), sessions)
    session = np.repeat(np.arange(sessions), places)
    pattern = -0.4 * np.arange(places) + np.where(np.arange(places) == 0, 1.0, 0.0)
    values = 10.0 + rng.normal(0.0, 2.0, sessions)[session] + pattern[place] + rng.normal(0.0, noise_sd, place.size)
    return values, session, place


def test_typical_error_is_the_rep_noise_not_the_pattern_every_session_repeats() -> None:
    values, session, place = _reps(60, 8, noise_sd=0.3)
    noise = rep_noise(values, session, place)
    assert noise.te == pytest.approx(0.3, rel=0.1)
    assert noise.df == 60 * 8 - 60 - 8 + 1
    assert noise.profile[0] - noise.profile[1] == pytest.approx(1.4, abs=0.1)  # the heavier first rep, found
    pooled_within_sd = float(np.sqrt(np.mean([np.var(values[session == s], ddof=1) for s in range(60)])))
    assert pooled_within_sd > 2 * noise.te  # a pooled SD would have called the fatigue slope noise


def test_typical_error_needs_two_sessions_and_skips_reps_without_a_value() -> None:
    values, session, place = _reps(1, 8, noise_sd=0.3)
    assert math.isnan(rep_noise(values, session, place).te)  # one session cannot tell noise from pattern
    values, session, place = _reps(40, 8, noise_sd=0.3, seed=1)
    values[::5] = np.nan
    assert rep_noise(values, session, place).te == pytest.approx(0.3, rel=0.15)


def test_sem_mdc_and_the_real_change_call() -> None:
    assert sd_of_max((0.0,) * 2) == pytest.approx(1 / math.sqrt(math.pi) * math.sqrt(math.pi - 1), rel=1e-3)  # 0.8256
    rng = np.random.default_rng(3)
    offsets = (1.5, 0.5, 0.0, 0.0, -0.5)
    monte_carlo = float(np.std(np.max(rng.normal(size=(200_000, 5)) + np.array(offsets), axis=1)))
    assert sd_of_max(offsets) == pytest.approx(monte_carlo, rel=0.02)
    assert sem_of("mean", 1.0, 4.0) == pytest.approx(0.5)
    assert sem_of("sum", 1.0, 4.0) == pytest.approx(2.0)
    assert np.isnan(sem_of("mean", 1.0, 0.0))
    assert float(mdc95(1.0)) == pytest.approx(1.96 * math.sqrt(2))
    assert float(mdc95(3.0, 4.0)) == pytest.approx(1.96 * 5.0)
    assert is_real_change([10.0, 10.0, 10.0, 10.0], [12.0, 12.9, 7.0, 20.0], [2.5, 2.5, 2.5, np.nan]).tolist() == [
        False, True, True, False]  # no call without a known noise


def _history(home: Path, left_week3_s: float, right_week3_s: float) -> FakeBackend:
    """Three weeks, two sessions a week per leg, 8 reps of rep-to-rep noise 0.3 s around a level that
    stays 3 s for two weeks, then moves to the given level in week 3 (the seed is fixed: a 5 % false call
    of the right leg's unchanged week 3 would show as a failure here, not as a flaky test)."""
    rng = np.random.default_rng(11)
    for week in range(3):
        for day in (0, 3):
            for leg, late in (("left", left_week3_s), ("right", right_week3_s)):
                level = late if week == 2 else 3.0
                stamp = pd.Timestamp("2026-01-05T12:00:00Z") + pd.Timedelta(days=7 * week + day)
                ecc = [round(float(v), 3) for v in level + rng.normal(0.0, 0.3, 8)]
                write_fake_log(home / "recordings" / f"{stamp:%Y-%m-%dT%H%M%S}_{leg}.csv", stamp.isoformat(), leg, ecc)
    backend = FakeBackend()
    backend.update(home)
    return backend


def test_weekly_changes_are_real_only_beyond_the_mdc(tmp_path: Path) -> None:
    _history(tmp_path, left_week3_s=4.0, right_week3_s=3.0)
    sessions, reps = index.load_sessions(tmp_path), index.load_reps(tmp_path)
    noise = reliability.noise_table(reps, sessions).set_index(["leg", "metric"])
    te = noise.loc[("left", "mean_ecc_duration_s"), "te"]
    assert te == pytest.approx(0.3, rel=0.3)
    assert noise.loc[("left", "mean_ecc_duration_s"), "mdc95"] == pytest.approx(1.96 * math.sqrt(2) * te / math.sqrt(8))
    table = trends.weekly(sessions, today=pd.Timestamp("2026-03-01").date())
    steps = reliability.changes(table, noise.reset_index(), "mean_ecc_duration_s", "week").set_index(["leg", "week"])
    week3 = pd.Timestamp("2026-01-19")
    assert bool(steps.loc[("left", week3), "real"])  # +1 s on a weekly MDC of ~0.2 s
    assert not bool(steps.loc[("right", week3), "real"])
    assert steps.loc[("left", week3), "mdc"] == pytest.approx(1.96 * math.sqrt(2) * te / 4, rel=0.35)  # 16 reps a week
    asym = reliability.asymmetry_noise(table, noise.reset_index(), "mean_ecc_duration_s").set_index("week")
    assert asym["real"].tolist() == [False, False, True]
    running = trends.weekly(sessions, today=pd.Timestamp("2026-01-20").date())  # week 3 has 2 of its 7 days
    tut = reliability.changes(running, noise.reset_index(), "tut_ecc_s", "week").set_index(["leg", "week"])
    assert bool(tut.loc[("left", week3), "partial"]) and not bool(tut.loc[("left", week3), "real"])  # a partial sum
    assert not bool(tut.loc[("left", pd.Timestamp("2026-01-12")), "partial"])


def test_charts_draw_bands_and_mark_what_is_within_noise(tmp_path: Path) -> None:
    _history(tmp_path, left_week3_s=4.0, right_week3_s=3.0)
    sessions = index.load_sessions(tmp_path)
    noise = reliability.noise_table(index.load_reps(tmp_path), sessions)
    plain = trend_plots.plot_ecc_duration(sessions, by="week")
    assert not [a for a in plain.get_children() if a.get_gid() in (trend_plots.NOISE_GID, trend_plots.WITHIN_NOISE_GID)]
    ax = trend_plots.plot_ecc_duration(sessions, by="week", noise=noise)
    bands = [a for a in ax.collections if a.get_gid() == trend_plots.NOISE_GID]
    assert len(bands) == 2  # one per leg
    calm = [line for line in ax.lines if line.get_gid() == trend_plots.WITHIN_NOISE_GID]
    marked = sorted((str(line.get_markeredgecolor()), len(line.get_xdata())) for line in calm)
    assert marked == sorted([(trend_plots.LEG_COLOURS["left"], 1), (trend_plots.LEG_COLOURS["right"], 2)])
    assert any("within noise" in t.get_text() for t in ax.get_legend().get_texts())
    asym = trend_plots.plot_asymmetry(sessions, metric="mean_ecc_duration_s", noise=noise)
    grey = [bar for container in asym.containers for bar in container.patches if bar.get_gid() == trend_plots.WITHIN_NOISE_GID]
    assert len(grey) == 2  # weeks 1 and 2: legs equal within noise; week 3's 25 % is real
    one_each = sessions.groupby("leg").head(1)
    early = trend_plots.plot_ecc_duration(one_each, by="session", noise=reliability.noise_table(
        index.load_reps(tmp_path).merge(one_each[["path"]]), one_each))
    assert [t.get_text() for t in early.texts if t.get_gid() == trend_plots.NOISE_GID] == [
        "noise not known yet (two sessions of a leg needed): no bands"]  # said, not silently left out
    force = trend_plots.plot_force_trend(sessions, by="session", noise=noise)
    assert len([a for a in force.collections if a.get_gid() == trend_plots.NOISE_GID]) == 4  # peak and mean, per leg


def test_mdc_from_reps_matches_the_simulated_test_retest_noise() -> None:
    """The issue's check on a small case (bench/mdc.py runs it on more people and sessions): 40
    simulated sessions of one person with no true change; the MDC95 from the reps against 1.96 *
    sqrt(2) * the SD of the session values across sessions (sampling error of that SD ~11 %)."""
    bench = load_bench("mdc")
    table = bench.compare(bench.retest_reps(person=11, sessions=40)).set_index("metric")
    assert set(table.index) == set(reliability.NOISE_METRICS)
    assert table["ratio"].between(0.75, 1.25).all(), table[["mdc95", "true_mdc95", "ratio"]]
