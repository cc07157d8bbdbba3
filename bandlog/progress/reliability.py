"""Real change vs noise: a person's own typical error, the standard error of a session's (or week's)
value, and the minimal detectable change (MDC95) a week-to-week change or a left/right difference
must pass to be called real.

Why from the person's own reps: unilateral eccentric measures vary a lot between people (ICC
0.56-0.73 in the literature, MDCs of ~15 %), so a fixed threshold would be too strict for one person
and too loose for another; every session of 5-12 reps is already a small test-retest.

The estimator, per leg and metric, over the sessions read (pure arithmetic, no I/O):

    x[s, i] = level[s] + place[i] + e        rep i of a set in session s (rep_noise)
    TE      = sqrt( sum e^2 / (reps - sessions - places + 1) )
    SEM     = TE / sqrt(n)        a mean of n reps (mean eccentric duration, mean eccentric force)
            = TE * sqrt(n)        a sum of n reps (eccentric time under tension)
            = TE * s              the best of n reps (peak force), s the SD of the largest of n normal
                                  values with the leg's place effects (0.61 for 8 alike reps; towards 1
                                  when one place is always the best)
    MDC95   = 1.96 * sqrt(SEM_a^2 + SEM_b^2)   (= 1.96 * sqrt(2) * SEM for two alike sessions)

TE is the rep-to-rep noise (Hopkins' typical error, SD(diff)/sqrt 2 with one difference per rep) once
what every session repeats is taken out: the session's own level, and each place in the set (a
heavier first rep, shorter eccentrics or range as the set tires), which repeat every session and so
do not move a session's value; a plain pooled within-session SD counts them as noise (up to 4x too
large an MDC on the motion model, bench/mdc.py). It needs no stable baseline: a training gain between
sessions goes into the levels, not into TE. What it cannot see is day-to-day variation (sleep,
warm-up, a moved anchor): it is the noise of the measurement and of the reps themselves, a lower
bound of a between-day MDC. A week's value is made of all its reps (a mean of a week's session means
is treated as the mean of their reps: exact for sessions of equal rep counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from bandlog.progress.trends import running_rows

Z95 = 1.96
"""Two-sided 95 % normal quantile of the MDC95 and of the confidence bands."""
MIN_DF = 2
"""Fewer degrees of freedom than this leave the typical error unknown (NaN): no band, no call."""


@dataclass(frozen=True)
class NoiseMetric:
    """A session value whose noise is known: which rep column it is made of and how."""

    rep_column: str
    """The reps-table column (bandlog.core.results.RepMetrics) the session value is built from."""
    kind: str
    """'mean', 'sum' or 'max' of the session's reps (bandlog.progress.index_rows.session_row)."""
    count_column: str
    """The sessions/weekly column counting the reps that went into the value."""
    label: str
    unit: str


NOISE_METRICS: dict[str, NoiseMetric] = {
    "tut_ecc_s": NoiseMetric("ecc_duration_s", "sum", "eccentrics", "eccentric time under tension", "s"),
    "mean_ecc_duration_s": NoiseMetric("ecc_duration_s", "mean", "eccentrics", "mean eccentric duration", "s"),
    "peak_force_n": NoiseMetric("peak_force_n", "max", "reps", "peak force (best rep)", "N"),
    "mean_force_n": NoiseMetric("mean_ecc_force_n", "mean", "eccentrics", "mean eccentric force", "N"),
    # knee torque (issue 17 point 1): once the reps table has it, e.g.
    # "peak_torque_nm": NoiseMetric("peak_torque_nm", "max", "reps", "peak knee torque (best rep)", "N·m"),
}
"""Session columns (bandlog.progress.trends) with a typical error, keyed by the sessions-table name."""


@dataclass(frozen=True)
class RepNoise:
    """What a leg's reps say about their noise (rep_noise)."""

    te: float
    """Typical error (units): the SD of a rep around its session's level and its place in the set."""
    df: int
    """Degrees of freedom behind `te` (reps - sessions - places + 1)."""
    profile: tuple[float, ...]
    """Each place's effect (units, mean 0): rep 1 first; what every session repeats."""


def rep_noise(values: np.ndarray, sessions: np.ndarray, places: np.ndarray) -> RepNoise:
    """The typical error of reps `values` from `sessions` (any labels) at `places` (rep number within
    its set, 0-based): the residual SD of an additive fit value = session level + place effect, by
    alternating means (so reps missing a value, e.g. with no eccentric, are simply left out).
    NaN under MIN_DF degrees of freedom (one session alone cannot tell its noise from its pattern).

    >>> noise = rep_noise(np.array([5.0, 4.0, 6.0, 4.0, 5.0, 5.0]), np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 0, 1]))
    >>> round(noise.te, 3), noise.df, noise.profile
    (0.707, 2, (0.5, -0.5))
    """
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    x = values[keep]
    _, s = np.unique(np.asarray(sessions)[keep], return_inverse=True)
    _, p = np.unique(np.asarray(places)[keep], return_inverse=True)
    n_s, n_p = int(s.max(initial=-1)) + 1, int(p.max(initial=-1)) + 1
    df = x.size - n_s - n_p + 1
    if df < MIN_DF:
        return RepNoise(math.nan, max(df, 0), ())
    count_s, count_p = np.bincount(s, minlength=n_s), np.bincount(p, minlength=n_p)
    place = np.zeros(n_p)
    for _ in range(100):
        level = np.bincount(s, x - place[p], n_s) / count_s
        new_place = np.bincount(p, x - level[s], n_p) / count_p
        new_place -= np.average(new_place, weights=count_p)
        converged = np.allclose(new_place, place, rtol=0.0, atol=1e-9 * (1.0 + float(np.abs(x).max())))
        place = new_place
        if converged:
            break
    level = np.bincount(s, x - place[p], n_s) / count_s
    residual = x - level[s] - place[p]
    return RepNoise(float(np.sqrt(np.sum(residual**2) / df)), int(df), tuple(float(v) for v in place))


@lru_cache(maxsize=1024)
def sd_of_max(offsets: tuple[float, ...]) -> float:
    """SD, in units of the noise SD, of the largest of independent normal values with these means
    (offsets in noise SDs): how much a best-of-n rep varies. All offsets 0 gives the textbook order
    statistic (0.83 for 2 values, 0.59 for 10); a place that is always best brings it towards 1."""
    if len(offsets) <= 1:
        return 1.0
    from scipy import stats

    means = np.asarray(offsets, dtype=np.float64)
    x = np.linspace(means.min() - 9.0, means.max() + 9.0, 6001)
    cdf = np.prod(stats.norm.cdf(x[:, None] - means[None, :]), axis=1)
    density = np.gradient(cdf, x)
    mean = np.trapezoid(x * density, x)
    return float(np.sqrt(np.trapezoid((x - mean) ** 2 * density, x)))


def _max_offsets(profile: tuple[float, ...], te: float, n_reps: int) -> tuple[float, ...]:
    """The place effects of a value made of `n_reps` reps, in noise SDs (rounded, for the cache): the
    profile from rep 1, repeated for a week of several sessions; zeros without a profile."""
    if not profile or not te > 0:
        return (0.0,) * n_reps
    cycle = [round(v / te, 2) for v in profile]
    return tuple(cycle[i % len(cycle)] for i in range(n_reps))


def sem_of(kind: str, te: float | np.ndarray, n_reps: float | np.ndarray, profile: tuple[float, ...] = ()) -> np.ndarray:
    """Standard error of a session (or week) value made of `n_reps` reps of typical error `te` (see
    the module docstring; a best rep also needs the leg's place `profile`); NaN where n_reps < 1."""
    te_a = np.asarray(te, dtype=np.float64)
    n_a = np.asarray(n_reps, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "mean":
            sem = te_a / np.sqrt(n_a)
        elif kind == "sum":
            sem = te_a * np.sqrt(n_a)
        elif kind == "max":
            te_b, n_b = np.broadcast_arrays(te_a, np.nan_to_num(n_a, nan=0.0).astype(int))
            factor = [sd_of_max(_max_offsets(profile, float(t), max(int(n), 1))) for t, n in zip(te_b.ravel(), n_b.ravel())]
            sem = te_b * np.asarray(factor).reshape(te_b.shape)
        else:
            raise ValueError(f"unknown kind of session value {kind!r}")
    return np.where(n_a >= 1, sem, np.nan)


def mdc95(sem_a: float | np.ndarray, sem_b: float | np.ndarray | None = None) -> np.ndarray:
    """Minimal detectable change (95 %) between two values of standard errors sem_a and sem_b
    (sem_b = sem_a when omitted: 1.96 * sqrt(2) * SEM).

    >>> round(float(mdc95(1.0)), 3)
    2.772
    """
    a = np.asarray(sem_a, dtype=np.float64)
    b = a if sem_b is None else np.asarray(sem_b, dtype=np.float64)
    return Z95 * np.sqrt(a * a + b * b)


def is_real_change(before: float | np.ndarray, after: float | np.ndarray, mdc: float | np.ndarray) -> np.ndarray:
    """True where |after - before| exceeds the MDC; False within noise and where anything is unknown
    (NaN), so no change is called real without its noise known.

    >>> is_real_change([10.0, 10.0], [11.0, 13.0], 2.0).tolist()
    [False, True]
    """
    change = np.abs(np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return np.asarray(change > np.asarray(mdc, dtype=np.float64))


def sessions_noise(reps: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """noise_table of the reps of `sessions` only: one exercise's noise when `reps` holds several
    (each exercise is charted with its own, bandlog.progress.trends.by_exercise)."""
    return noise_table(reps[reps["session_id"].isin(sessions["id"])], sessions)


def noise_table(reps: pd.DataFrame, sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (leg, metric) of NOISE_METRICS found in `reps` (bandlog.progress.index.load_reps):
    `te` (units) and `te_pct` (% of the mean rep value), its `df`, the place `profile`, `sessions`,
    `reps_per_session` (median), and for a session of that many reps `value` (its mean over
    `sessions` when given), `sem`, `mdc95` and `mdc95_pct` (% of `value`), in the metric's `unit`."""
    columns = ["leg", "metric", "label", "unit", "te", "te_pct", "df", "profile", "sessions", "reps_per_session",
               "value", "sem", "mdc95", "mdc95_pct"]
    rows = []
    if reps.empty:
        return pd.DataFrame(columns=columns)
    frame = reps.assign(leg=reps["leg"].fillna("unknown"))
    set_key = frame["path"].astype(str) + "\0" + frame["set"].astype(str)
    frame = frame.assign(_place=frame.groupby(set_key, sort=False).cumcount())
    for leg, leg_reps in frame.groupby("leg", sort=True):
        for metric, spec in NOISE_METRICS.items():
            if spec.rep_column not in leg_reps:
                continue
            values = pd.to_numeric(leg_reps[spec.rep_column], errors="coerce")
            noise = rep_noise(values.to_numpy(), leg_reps["path"].astype(str).to_numpy(), leg_reps["_place"].to_numpy())
            counted = values.notna().groupby(leg_reps["path"]).sum()
            counted = counted[counted > 0]
            n = float(counted.median()) if len(counted) else math.nan
            value = _typical_value(spec, values, leg_reps["path"], sessions, str(leg), metric)
            sem = float(sem_of(spec.kind, noise.te, round(n) if n == n else math.nan, noise.profile))
            mdc = float(mdc95(sem))
            rows.append({
                "leg": leg, "metric": metric, "label": spec.label, "unit": spec.unit, "te": noise.te,
                "te_pct": _pct(noise.te, float(values.mean())), "df": noise.df, "profile": noise.profile,
                "sessions": len(counted), "reps_per_session": n, "value": value, "sem": sem, "mdc95": mdc,
                "mdc95_pct": _pct(mdc, value),
            })
    return pd.DataFrame(rows, columns=columns)


def _typical_value(spec: NoiseMetric, values: pd.Series, paths: pd.Series, sessions: pd.DataFrame | None,
                   leg: str, metric: str) -> float:
    """The mean session value the MDC % refers to: from the sessions table when given, else rebuilt
    from the reps as the index builds it (session_row)."""
    if sessions is not None and metric in sessions:
        mine = sessions[sessions["leg"].fillna("unknown") == leg]
        return float(pd.to_numeric(mine[metric], errors="coerce").mean())
    per_session = values.groupby(paths).agg(spec.kind).where(values.notna().groupby(paths).any())
    return float(per_session.mean())


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole and math.isfinite(whole) and whole > 0 else math.nan


def row_sem(table: pd.DataFrame, noise: pd.DataFrame, metric: str) -> pd.Series:
    """The standard error of `metric` on each row of a sessions or weekly table (trends.by_grouping),
    from its leg's typical error and the row's rep count (a week's value is made of all its reps);
    NaN where the leg's noise is unknown."""
    spec = NOISE_METRICS[metric]
    mine = noise[noise["metric"] == metric].set_index("leg") if not noise.empty else pd.DataFrame(columns=["te", "profile"])
    legs = table["leg"].fillna("unknown")
    count = pd.to_numeric(table[spec.count_column], errors="coerce") if spec.count_column in table else pd.Series(np.nan, index=table.index)
    sem = pd.Series(np.nan, index=table.index)
    for leg, rows in legs.groupby(legs):
        if leg in mine.index:
            te, profile = float(mine.at[leg, "te"]), tuple(mine.at[leg, "profile"])
            sem[rows.index] = sem_of(spec.kind, te, count[rows.index].to_numpy(dtype=float), profile)
    return sem


def changes(table: pd.DataFrame, noise: pd.DataFrame, metric: str, x_col: str) -> pd.DataFrame:
    """Each leg's change of `metric` from one row of `table` (sessions by `date`, or weeks by `week`)
    to its next: `before`, `after`, `change`, the `mdc` used (of the two rows' SEMs) and `real`
    (is_real_change). A week still running (week_running) is not compared on a sum (its total is
    partial): its `real` is False and `partial` True."""
    columns = ["leg", x_col, "before", "after", "change", "mdc", "real", "partial"]
    if table.empty or metric not in table:
        return pd.DataFrame(columns=columns)
    frame = table.assign(leg=table["leg"].fillna("unknown"), _sem=row_sem(table, noise, metric))
    frame = frame.assign(_value=pd.to_numeric(frame[metric], errors="coerce")).dropna(subset=["_value"])
    frame = frame.assign(_partial=running_rows(frame))
    parts = []
    for leg, rows in frame.sort_values(x_col).groupby("leg", sort=True):
        before = rows.shift(1)
        out = pd.DataFrame({
            "leg": leg, x_col: rows[x_col], "before": before["_value"], "after": rows["_value"],
            "mdc": mdc95(before["_sem"].to_numpy(dtype=float), rows["_sem"].to_numpy(dtype=float)),
            "partial": rows["_partial"].to_numpy() & (NOISE_METRICS[metric].kind == "sum"),
        }).iloc[1:]
        parts.append(out)
    if not parts:
        return pd.DataFrame(columns=columns)
    result = pd.concat(parts, ignore_index=True)
    result["change"] = result["after"] - result["before"]
    result["real"] = is_real_change(result["before"], result["after"], result["mdc"]) & ~result["partial"].astype(bool)
    return result[columns]


def asymmetry_noise(weekly_table: pd.DataFrame, noise: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per week with both legs: `left`, `right`, the `mdc` of their difference (the two legs' SEMs
    combined) and `real` (the difference beyond it), from a trends.weekly table."""
    legs = weekly_table[weekly_table["leg"].isin(["left", "right"])]
    legs = legs.assign(_sem=row_sem(legs, noise, metric))
    value = legs.pivot(index="week", columns="leg", values=metric).reindex(columns=["left", "right"])
    sem = legs.pivot(index="week", columns="leg", values="_sem").reindex(columns=["left", "right"])
    out = value.dropna()
    mdc = mdc95(sem.loc[out.index, "left"].to_numpy(dtype=float), sem.loc[out.index, "right"].to_numpy(dtype=float))
    result = pd.DataFrame({"week": out.index, "left": out["left"].to_numpy(), "right": out["right"].to_numpy(), "mdc": mdc})
    result["real"] = is_real_change(result["left"], result["right"], result["mdc"])
    return result


NOISE_NOTE = (
    "Typical error (TE): how much one rep differs from the next beyond what every session repeats (rep 1 "
    "heavier, later reps shorter as the set tires). A session's value varies by TE/√n (a mean of n reps), "
    "TE·√n (a sum) or about 0.6-1 TE (the best rep); MDC95 = 1.96·√2·that. A change, or a left/right "
    "difference, smaller than its MDC95 is within noise: grey on the charts. Day-to-day variation is not "
    "in it, so a change just past the MDC is worth a second look."
)
"""What the report says under its noise table (the README has the formulas in full)."""


def noise_summary(noise: pd.DataFrame) -> pd.DataFrame:
    """The noise table in words for a report: per leg and measure, the typical error and the MDC95
    between two sessions of the usual rep count, each in units and as % of the value."""

    def text(value: float, pct: float, unit: str) -> str:
        if not math.isfinite(value):
            return "not known yet (needs two sessions)"
        return f"{value:.2f} {unit}" + (f" ({pct:.0f} %)" if math.isfinite(pct) else "")

    rows = [
        {"leg": r.leg, "measure": r.label, "typical_error": text(r.te, r.te_pct, r.unit),
         "mdc95": text(r.mdc95, r.mdc95_pct, r.unit), "sessions": r.sessions}
        for r in noise.itertuples()
    ]
    return pd.DataFrame(rows, columns=["leg", "measure", "typical_error", "mdc95", "sessions"])


NOISE_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("leg", "leg"), ("measure", "measure"), ("typical_error", "typical error, rep to rep"),
    ("mdc95", "MDC95, session to session"), ("sessions", "sessions"),
)
"""(column, heading) of noise_summary for bandlog.progress.report.html_table."""
