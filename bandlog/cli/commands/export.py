"""`bandlog export`: the whole history as one tidy table, one row per rep, in CSV or Parquet."""

from __future__ import annotations

from bandlog.core.errors import BandlogError, ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    import pandas as pd

NAME = "export"
HELP = "export every rep of every session as one table (CSV or Parquet), optionally anonymised for a clinician"
ORDER = 66
FORMATS = ("csv", "parquet")
PARQUET_HINT = "pip install 'bandlog[parquet]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    from bandlog.cli.commands._indexing import add_filters

    parser.add_argument("--format", choices=FORMATS, help="csv or parquet (default: from --out's name, else csv)")
    parser.add_argument("--out", type=Path, help="the file to write (default: a new exports/bandlog-reps-DATE.csv|parquet in the data dir)")
    add_filters(parser)
    parser.add_argument("--anonymise", action="store_true",
                        help="leave out the person, file paths and start times; dates as day and week numbers from the first session")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists (default: refuse)")


def output_format(chosen: str | None, out: Path | None) -> str:
    """--format, else the one --out's name ends in, else csv; a --format that --out's name contradicts is one sentence."""
    named = out.suffix.lower().lstrip(".") if out is not None else ""
    if chosen and named in FORMATS and named != chosen:
        raise ConfigError(f"--out {out} ends in .{named} but --format is {chosen}; give one or make them agree")
    return chosen or (named if named in FORMATS else "csv")


def require_pyarrow() -> None:
    """Parquet is written through pyarrow, an optional extra: without it, one sentence on how to install it."""
    try:
        import pyarrow  # noqa: F401  (only whether it imports)
    except ImportError:
        raise BandlogError(f"--format parquet needs pyarrow, which is not installed: {PARQUET_HINT} (or pip install pyarrow)") from None


def run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from bandlog.cli.commands._indexing import exercise_filter, leg_filter, none_found, parse_since, refresh_index
    from bandlog.core.text_safety import printable
    from bandlog.io.paths import check_new_output, data_home, unused_path, write_output
    from bandlog.progress.export import rep_export

    home = data_home(args.data_dir)
    kind = output_format(args.format, args.out)
    if kind == "parquet":
        require_pyarrow()
    out: Path = args.out or unused_path(home / "exports" / f"bandlog-reps-{datetime.now():%Y-%m-%d}.{kind}")
    check_new_output(out, "export", overwrite=args.force)
    since = parse_since(args.since)
    refresh_index(home)
    export = rep_export(home, leg=leg_filter(args.leg), since=since, exercise=exercise_filter(args), anonymise=args.anonymise)
    if export.table.empty:
        raise BandlogError(none_found(home, args.leg, since, what="no reps to export", exercise=exercise_filter(args)))
    data = _parquet(export.table, args.anonymise) if kind == "parquet" else _csv(export.table, args.anonymise)
    write_output(out, "export", lambda handle: handle.write(data), overwrite=args.force)
    for note in export.notes():
        print(printable(f"note: {note}"))
    print(printable(f"wrote {out}: {len(export.table)} reps from {export.sessions - export.sessions_without_reps} sessions"
                    + (" (anonymised)" if args.anonymise else "")))
    return 0


def _csv(table: pd.DataFrame, anonymise: bool) -> bytes:
    """The table as CSV, text cells spreadsheet-safe; an anonymised one opens with a line saying what was left out."""
    import csv
    import io

    from bandlog.core.text_safety import csv_safe_frame
    from bandlog.progress.anonymise import ANONYMISED_NOTE

    buffer = io.StringIO()
    if anonymise:  # one quoted cell: a spreadsheet shows the sentence in A1; pandas reads on with skiprows=1
        csv.writer(buffer, lineterminator="\n").writerow([f"# {ANONYMISED_NOTE}"])
    csv_safe_frame(table).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _parquet(table: pd.DataFrame, anonymise: bool) -> bytes:
    """The table as Parquet (pyarrow); an anonymised one says what was left out in its metadata
    (pandas: `read_parquet(...).attrs["bandlog"]`)."""
    import io

    from bandlog.progress.anonymise import ANONYMISED_NOTE

    buffer = io.BytesIO()
    if anonymise:
        table = table.copy()
        table.attrs["bandlog"] = ANONYMISED_NOTE  # pandas keeps attrs in the file's metadata
    table.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()
