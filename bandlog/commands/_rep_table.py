"""Printing a reps table and set summaries for `bandlog replay` and `bandlog analyze` (CLI output only)."""

from __future__ import annotations

import math
import sys
from typing import Any, Mapping, Sequence

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rep", "rep"),
    ("ecc_start_s", "ecc start s"),
    ("ecc_duration_s", "ecc s"),
    ("tempo", "tempo"),
    ("tut_tension_s", "tension s"),
    ("peak_force_n", "peak N"),
    ("mean_ecc_force_n", "ecc mean N"),
    ("ecc_impulse_ns", "impulse N·s"),
    ("rom_deg", "ROM °"),
    ("mean_ecc_velocity_dps", "ecc °/s"),
    ("stalls", "stalls"),
    ("flags", "flags"),
)
"""The columns worth reading at a glance; `--format csv/json` gives every column."""


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def print_reps(rows: Sequence[Mapping[str, Any]], title: str) -> None:
    """A readable table of reps (rich; plain text when output is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    if not rows:
        console.print(f"{title}: no reps detected")
        return
    table = Table(title=title, title_justify="left")
    for key, header in TABLE_COLUMNS:
        table.add_column(header, justify="left" if key in ("tempo", "flags") else "right")
    for row in rows:
        estimated = " (est.)" if row.get("estimated") else ""
        table.add_row(*[cell(row.get(key)) + (estimated if key == "ecc_duration_s" else "") for key, _ in TABLE_COLUMNS])
    console.print(table)


def summary_line(summary: Mapping[str, Any]) -> str:
    """One sentence summing up a set (or a whole log)."""
    parts = [f"{summary['reps']} reps", f"eccentric TUT {cell(summary['tut_ecc_s'])} s"]
    if summary.get("tut_tension_s") is not None:
        parts.append(f"tension TUT {cell(summary['tut_tension_s'])} s")
    if summary.get("mean_ecc_duration_s") is not None:
        parts.append(f"mean eccentric {cell(summary['mean_ecc_duration_s'])} s")
    if summary.get("peak_force_n") is not None:
        parts.append(f"peak {cell(summary['peak_force_n'])} N")
    return ", ".join(parts) + f" ({summary['mode']})"
