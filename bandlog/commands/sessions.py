"""`bandlog sessions`: every recorded session as one table row, from the (auto-refreshed) index."""

from __future__ import annotations

import argparse

from bandlog.commands._indexing import add_filters, leg_filter, parse_since, refresh_index

NAME = "sessions"
HELP = "list recorded sessions: date, leg, band, reps, eccentric TUT, mean eccentric duration, peak force"
ORDER = 60

COLUMNS = (
    ("date", "date"), ("exercise", "exercise"), ("leg", "leg"), ("band", "band"), ("reps", "reps"),
    ("tut_ecc_s", "ecc TUT (s)"), ("mean_ecc_duration_s", "mean ecc (s)"), ("target_ecc_s", "target (s)"),
    ("peak_force_n", "peak force (N)"), ("path", "file"),
)
LEG_STYLES = {"left": "blue", "right": "dark_orange"}
"""The charts' leg colours, as rich styles."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filters(parser)
    parser.add_argument("--format", choices=("table", "csv"), default="table", help="a readable table (default) or CSV")


def _text(value: object) -> str:
    import pandas as pd

    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from bandlog.index import load_sessions
    from bandlog.paths import data_home
    from bandlog.text_safety import csv_safe_frame, printable

    home = data_home(args.data_dir)
    since = parse_since(args.since)
    refresh_index(home)
    sessions = load_sessions(home, leg=leg_filter(args.leg), since=since)
    if args.format == "csv":
        table = sessions[[c for c, _ in COLUMNS]].assign(date=sessions["date"].dt.date)
        # a band typed as "=HYPERLINK(...)" stays text in a spreadsheet, and one with escapes cannot drive the terminal
        csv_safe_frame(table, printable_text=True).to_csv(sys.stdout, index=False)
        return 0
    console = Console(width=None if sys.stdout.isatty() else 160)
    if sessions.empty:
        console.print(Text(f"no sessions found in {home / 'recordings'}"))
        return 0
    table = Table(title=f"{len(sessions)} sessions", title_justify="left")
    for column, heading in COLUMNS:
        text_column = column in ("date", "exercise", "leg", "band", "path")
        table.add_column(heading, justify="left" if text_column else "right", no_wrap=column == "path")
    for record in sessions.to_dict("records"):
        # Text: a band named "[red]" stays literal; printable: one with terminal escapes cannot drive the terminal
        cells = [Text(printable(_text(record[c]))) for c, _ in COLUMNS]
        cells[2].stylize(LEG_STYLES.get(str(cells[2]), ""))
        table.add_row(*cells)
    console.print(table)
    return 0
