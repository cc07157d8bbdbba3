"""A data folder with one indexed week of simulated history: what the band and torque tests read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bandlog.progress import history, index

FIRST_DAY = date(2026, 1, 5)
"""A Monday."""


def indexed_week(root: Path, *, sessions_per_week: int, seed: int) -> Path:
    """`root` with a week of simulated sessions of both legs (4 reps a set, anchor and shank recorded), indexed."""
    history.write_simulated_history(root, weeks=1, sessions_per_week=sessions_per_week, seed=seed, first_day=FIRST_DAY, reps_per_set=4)
    index.update_index(root)
    return root
