"""Printing a reps table and set summaries for `bandlog replay` and `bandlog analyze` (CLI output only)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from bandlog.explain import flags_legend, rejected_footnote, rejection_counts, reps_phrase, split_flags

if TYPE_CHECKING:
    from bandlog.pipeline import PipelineResult

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rep", "rep"),
    ("start_s", "start s"),
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

    console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    if not rows:
        console.print(f"{title}: no reps detected")
        return
    table = Table(title=title, title_justify="left")
    for key, header in TABLE_COLUMNS:
        table.add_column(header, justify="left" if key in ("tempo", "flags") else "right")
    for row in rows:
        table.add_row(*[_cell_in_row(row, key) for key, _ in TABLE_COLUMNS])
    console.print(table)


def _cell_in_row(row: Mapping[str, Any], key: str) -> str:
    if key == "flags":
        return ", ".join(split_flags(row.get(key)))
    text = cell(row.get(key))
    if key == "ecc_duration_s" and row.get("estimated") and text != cell(None):
        text += " (est.)"
    return text


KNEE_GATES = ("too_short", "small_range")
"""Rejections by the knee-tuned gates that another exercise would not get."""


def footnotes(
    summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], rejected_codes: Iterable[str], lists_hint: str = "",
    exercise: str = "knee",
) -> list[str]:
    """The lines under a set's table: what was not counted, what the flags mean, the detector's notes.

    `lists_hint` is appended to the rejected line, e.g. '(--format json lists them)'. When the
    knee-tuned gates turned away most of a set, a hint says how to analyse another exercise.
    """
    lines = []
    codes = list(rejected_codes)
    rejected = rejected_footnote(rejection_counts(codes))
    if rejected:
        lines.append(f"{rejected} {lists_hint}".rstrip())
    if exercise == "knee" and sum(code in KNEE_GATES for code in codes) >= max(3, len(rows) + 1):
        lines.append("most candidates were too short or too small for a knee curl: for another exercise, try --exercise other")
    legend = flags_legend(row.get("flags") for row in rows)
    if legend:
        lines.append(legend)
    notes = summary.get("notes")
    if notes:
        lines.append(f"detector notes: {notes}")
    return lines


def print_set(
    rows: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    rejected_codes: Iterable[str],
    title: str,
    label: str,
    lists_hint: str = "",
    exercise: str = "knee",
) -> None:
    """One set as the CLI shows it: the reps table, the summary sentence, then its footnotes."""
    print_reps(rows, title=title)
    print(f"{label}: {summary_line(summary)}")
    for line in footnotes(summary, rows, rejected_codes, lists_hint, exercise):
        print(f"  {line}")


def summary_line(summary: Mapping[str, Any]) -> str:
    """One sentence summing up a set (or a whole log)."""
    parts = [reps_phrase(int(summary["reps"]), summary.get("eccentrics")), f"eccentric TUT {cell(summary['tut_ecc_s'])} s"]
    if summary.get("tut_tension_s") is not None:
        parts.append(f"tension TUT {cell(summary['tut_tension_s'])} s")
    if summary.get("mean_ecc_duration_s") is not None:
        parts.append(f"mean eccentric {cell(summary['mean_ecc_duration_s'])} s")
    if summary.get("peak_force_n") is not None:
        parts.append(f"peak {cell(summary['peak_force_n'])} N")
    return ", ".join(parts) + f" ({summary['mode']})"


def print_result(result: "PipelineResult", log_path: Path, title: str, label: str = "set", exercise: str = "knee") -> None:
    """print_set for one set just streamed (record, replay, demo): its rows, summary and rejected
    candidates, with the command that lists those candidates in full."""
    print_set(
        [rep.to_dict() for rep in result.reps], result.summary.to_dict(), [c.code for c in result.rejected],
        title=title, label=label, lists_hint=f"(`bandlog analyze {log_path} --format json` lists them)", exercise=exercise,
    )
