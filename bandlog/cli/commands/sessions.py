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
EXERCISE_SHORT = {"reverse-curl": "rev curl", "runners-stretch": "runner's", "standing-l": "stand L", "other": "other"}
"""Each exercise profile's name on a narrow terminal, by profile key: no longer than the column's header,
so the exercise column costs no more than its header."""


def exercise_abbreviations() -> dict[str, str]:
    """The index's exercise text (a profile's name, as the header stores it) to its EXERCISE_SHORT."""
    from bandlog.detect.exercises import PROFILES

    return {profile.name: EXERCISE_SHORT[key] for key, profile in PROFILES.items() if key in EXERCISE_SHORT}


def columns() -> tuple[Column, ...]:
    """The table's columns (built when the verb runs: the table module is not needed for --help)."""
    from bandlog.cli.commands._table_fit import PATH, TEXT, Column

    return (
        Column("date", "date", justify="left"), Column("exercise", "exercise", TEXT, "left", short=exercise_abbreviations()),
        Column("leg", "leg", justify="left", styles=LEG_STYLES), Column("band", "band", TEXT, "left"), Column("reps", "reps"),
        Column("tut_ecc_s", "ecc TUT (s)"), Column("mean_ecc_duration_s", "mean ecc (s)"), Column("target_ecc_s", "target (s)"),
        Column("peak_force_n", "peak force (N)"), Column("peak_torque_n_m", "peak torque (N m)"), Column("path", "file", PATH, "left"),
    )


DROP_ORDER = ("target_ecc_s", "path", "peak_torque_n_m", "mean_ecc_duration_s", "band", "exercise")
"""On a narrow terminal these columns are left out, first named first; date, leg, reps, TUT and peak force always show.
The exercise goes last (abbreviated first: EXERCISE_SHORT), as it says what a row is; first when every row is the
same exercise, which the title then names (drop_order)."""


def drop_order(exercises: set[str]) -> tuple[str, ...]:
    """DROP_ORDER, with the exercise column first when every session shown is of one exercise."""
    return ("exercise", *DROP_ORDER[:-1]) if len(exercises) == 1 else DROP_ORDER


def title(n_sessions: int, exercises: set[str]) -> str:
    """'15 sessions', or '6 sessions of the standing "L"' when they are all one exercise."""
    from bandlog.detect.explain import counted

    only = next(iter(exercises)) if len(exercises) == 1 else None
    return counted(n_sessions, "session") + (f" of the {only}" if only and only != "-" else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bandlog.cli.commands._indexing import add_filters

    add_filters(parser)
    parser.add_argument("--format", choices=("table", "csv"), default="table", help="a readable table (default) or CSV")
    parser.add_argument("--move-up-after", type=int, default=3, metavar="N",
                        help="suggest the next band after N sessions in a row at or above target at full range (default 3)")


def _text(value: object) -> str:
    """A cell of the index's plain rows (SQLite stores a missing number as NULL, dates as text)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _with_torque(table_columns: tuple[Column, ...], any_torque: bool) -> tuple[Column, ...]:
    """The torque column only when some session has one (a force-only or IMU-only history has none)."""
    return table_columns if any_torque else tuple(c for c in table_columns if c.key != "peak_torque_n_m")


def run(args: argparse.Namespace) -> int:
    import sys

    from bandlog.cli.commands._indexing import exercise_filter, leg_filter, none_found, parse_since, refresh_index
    from bandlog.cli.commands._table_fit import output_width, print_table, print_wrapped
    from bandlog.core.text_safety import csv_safe_frame, printable
    from bandlog.io.paths import data_home
    from bandlog.progress.band_move_up import check_sessions_needed
    from bandlog.progress.index import load_sessions, session_records

    check_sessions_needed(args.move_up_after)  # before any work: a bad option costs nothing
    home = data_home(args.data_dir)
    table_columns = columns()
    since = parse_since(args.since)
    refresh_index(home)
    if args.format == "csv":
        sessions = load_sessions(home, leg=leg_filter(args.leg), since=since, exercise=exercise_filter(args))
        table_columns = _with_torque(table_columns, sessions["peak_torque_n_m"].notna().any())
        table = sessions[[c.key for c in table_columns]].assign(date=sessions["date"].dt.date)
        # a band typed as "=HYPERLINK(...)" stays text in a spreadsheet, and one with escapes cannot drive the terminal
        csv_safe_frame(table, printable_text=True).to_csv(sys.stdout, index=False)
        return 0
    records = session_records(home, leg=leg_filter(args.leg), since=since, exercise=exercise_filter(args))  # plain rows: no pandas to import
    if not records:
        print(printable(none_found(home, args.leg, since, exercise=exercise_filter(args))))
        return 0
    table_columns = _with_torque(table_columns, any(record["peak_torque_n_m"] is not None for record in records))
    rows = [{c.key: _text(record[c.key]) for c in table_columns} for record in records]
    exercises = {row["exercise"] for row in rows}
    width = output_width()
    print_table(printable(title(len(records), exercises)), table_columns, rows, width=width,
                drop_order=drop_order(exercises), hint="a wider terminal or --format csv shows them")
    if any(record.get("band") for record in records):
        from bandlog.progress.band_advice import band_notes

        for note in band_notes(records, args.move_up_after):
            print_wrapped(printable(note), width)
    return 0
