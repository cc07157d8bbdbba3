"""Printing a reps table and set summaries for `bandlog replay` and `bandlog analyze` (CLI output only)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bandlog.cli.commands._table_fit import TEXT, Column, output_width, print_table, print_wrapped
from bandlog.detect.exercises import DEFAULT_KEY
from bandlog.detect.explain import flags_legend, rejected_footnote, rejection_counts, reps_phrase, split_flags

if TYPE_CHECKING:
    from bandlog.core.pipeline import PipelineResult

TABLE_COLUMNS: tuple[Column, ...] = (
    Column("rep", "rep"),
    Column("start_s", "start s"),
    Column("ecc_start_s", "ecc start s"),
    Column("ecc_duration_s", "ecc s"),
    Column("tempo", "tempo", justify="left"),
    Column("tut_tension_s", "tension s"),
    Column("peak_force_n", "peak N"),
    Column("mean_ecc_force_n", "ecc mean N"),
    Column("ecc_impulse_ns", "impulse N·s"),
    Column("rom_deg", "ROM °"),
    Column("mean_ecc_velocity_dps", "ecc °/s"),
    Column("stalls", "stalls"),
    Column("flags", "flags", TEXT, "left"),
)
"""The columns worth reading at a glance; `--format csv/json` gives every column."""
DROP_ORDER = ("ecc_start_s", "start_s", "ecc_impulse_ns", "stalls", "mean_ecc_velocity_dps", "mean_ecc_force_n", "tut_tension_s", "flags")
"""On a narrow terminal these columns are left out, first named first; rep, ecc s, tempo, peak N and ROM ° always show."""
TABLE_HINT = "a wider terminal or --format csv shows them"


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def print_reps(rows: Sequence[Mapping[str, Any]], title: str, width: int | None = None, hint: str = TABLE_HINT) -> None:
    """A table of reps fitted to `width` (None: as wide as it needs), and what it left out."""
    if not rows:
        print_wrapped(f"{title}: no reps detected", width)
        return
    cells = [{column.key: _cell_in_row(row, column.key) for column in TABLE_COLUMNS} for row in rows]
    print_table(title, TABLE_COLUMNS, cells, width=width, drop_order=DROP_ORDER, hint=hint)


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
    exercise: str = DEFAULT_KEY,
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
    if exercise == DEFAULT_KEY and sum(code in KNEE_GATES for code in codes) >= max(3, len(rows) + 1):
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
    exercise: str = DEFAULT_KEY,
    table_hint: str = TABLE_HINT,
) -> None:
    """One set as the CLI shows it: the reps table, the summary sentence, then its footnotes, all
    fitted to the terminal (`table_hint` says how to see the columns a narrow one leaves out)."""
    width = output_width()
    print_reps(rows, title=title, width=width, hint=table_hint)
    print_wrapped(f"{label}: {summary_line(summary)}", width)
    for line in footnotes(summary, rows, rejected_codes, lists_hint, exercise):
        print_wrapped(line, width, indent="  ")


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


def print_result(result: PipelineResult, log_path: Path, title: str, label: str = "set", exercise: str = DEFAULT_KEY) -> None:
    """print_set for one set just streamed (record, replay, demo): its rows, summary and rejected
    candidates, with the command that lists those candidates in full."""
    print_set(
        [rep.to_dict() for rep in result.reps], result.summary.to_dict(), [c.code for c in result.rejected],
        title=title, label=label, lists_hint=f"(`bandlog analyze {log_path} --format json` lists them)", exercise=exercise,
        table_hint="a wider terminal or `bandlog analyze --format csv` on the log shows them",
    )
