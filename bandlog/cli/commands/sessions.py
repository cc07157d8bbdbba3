"""`bandlog sessions`: every recorded session as one table row, from the (auto-refreshed) index."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse

    from bandlog.cli.commands._table_fit import Column

NAME = "sessions"
HELP = "list recorded sessions: date, leg, band, reps, eccentric TUT, mean eccentric duration, peak force"
ORDER = 60

LEG_STYLES = {"left": "blue", "right": "dark_orange"}
"""The charts' leg colours, as rich styles."""


def columns() -> tuple[Column, ...]:
    """The table's columns (built when the verb runs: the table module is not needed for --help)."""
    from bandlog.cli.commands._table_fit import PATH, TEXT, Column

    return (
        Column("date", "date", justify="left"), Column("exercise", "exercise", TEXT, "left"),
        Column("leg", "leg", justify="left", styles=LEG_STYLES), Column("band", "band", TEXT, "left"), Column("reps", "reps"),
        Column("tut_ecc_s", "ecc TUT (s)"), Column("mean_ecc_duration_s", "mean ecc (s)"), Column("target_ecc_s", "target (s)"),
        Column("peak_force_n", "peak force (N)"), Column("path", "file", PATH, "left"),
    )


DROP_ORDER = ("exercise", "target_ecc_s", "path", "band", "mean_ecc_duration_s")
"""On a narrow terminal these columns are left out, first named first; date, leg, reps, TUT and peak force always show."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bandlog.cli.commands._indexing import add_filters

    add_filters(parser)
    parser.add_argument("--format", choices=("table", "csv"), default="table", help="a readable table (default) or CSV")


def _text(value: object) -> str:
    """A cell of the index's plain rows (SQLite stores a missing number as NULL, dates as text)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def run(args: argparse.Namespace) -> int:
    import sys

    from bandlog.cli.commands._indexing import leg_filter, none_found, parse_since, refresh_index
    from bandlog.cli.commands._table_fit import output_width, print_table
    from bandlog.core.text_safety import csv_safe_frame, printable
    from bandlog.detect.explain import counted
    from bandlog.io.paths import data_home
    from bandlog.progress.index import load_sessions, session_records

    home = data_home(args.data_dir)
    table_columns = columns()
    since = parse_since(args.since)
    refresh_index(home)
    if args.format == "csv":
        sessions = load_sessions(home, leg=leg_filter(args.leg), since=since)
        table = sessions[[c.key for c in table_columns]].assign(date=sessions["date"].dt.date)
        # a band typed as "=HYPERLINK(...)" stays text in a spreadsheet, and one with escapes cannot drive the terminal
        csv_safe_frame(table, printable_text=True).to_csv(sys.stdout, index=False)
        return 0
    records = session_records(home, leg=leg_filter(args.leg), since=since)  # plain rows: no pandas to import
    if not records:
        print(printable(none_found(home, args.leg, since)))
        return 0
    rows = [{c.key: _text(record[c.key]) for c in table_columns} for record in records]
    print_table(counted(len(records), "session"), table_columns, rows, width=output_width(), drop_order=DROP_ORDER,
                hint="a wider terminal or --format csv shows them")
    return 0
