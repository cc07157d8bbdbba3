"""`bandlog progress`: eccentric work over weeks, per leg: charts (PNG/SVG) or one HTML report."""

from __future__ import annotations

from bandlog.cli.commands.sessions import LEG_STYLES
from bandlog.core.errors import BandlogError, ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from datetime import date
    from pathlib import Path
    from typing import Any

    import pandas as pd

    from bandlog.cli.commands._table_fit import Column

NAME = "progress"
HELP = ("chart progress over weeks: eccentric TUT, eccentric duration vs target, force, tempo mix, reps on tempo, "
        "effort and pain, left/right asymmetry, with what is within noise marked")
ORDER = 64
METRICS = ("tut", "duration", "force", "tempo", "adherence", "effort", "asymmetry")
"""Same names as bandlog.progress.trend_plots.PROGRESS_METRICS (kept literal here so --help stays light)."""
FORMATS = (".png", ".svg", ".html")
DROP_ORDER = ("sessions", "band", "adherence", "reps", "mean_ecc_duration_s")
"""On a narrow terminal these columns are left out, first named first; the date, leg, TUT and peak force always show."""


def table_columns(by: str) -> tuple[Column, ...]:
    """The terminal table's columns for --by `by`: the numbers the charts draw."""
    from bandlog.cli.commands._table_fit import TEXT, Column

    measures = (
        Column("reps", "reps"), Column("tut_ecc_s", "ecc TUT (s)"), Column("mean_ecc_duration_s", "mean ecc (s)"),
        Column("adherence", "within ±20 %"),
    )
    if by == "week":
        return (Column("week", "week of", justify="left"), Column("leg", "leg", justify="left", styles=LEG_STYLES),
                Column("sessions", "sessions"), *measures, Column("peak_force_n", "best peak (N)"))
    return (Column("date", "date", justify="left"), Column("leg", "leg", justify="left", styles=LEG_STYLES),
            Column("band", "band", TEXT, "left"), *measures, Column("peak_force_n", "peak force (N)"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    from bandlog.cli.commands._indexing import add_filters

    parser.add_argument("--metric", action="append", choices=METRICS, help="chart only this (repeatable; default: all)")
    parser.add_argument("--by", choices=("session", "week"), default="week", help="one point per session or per week (default)")
    add_filters(parser)
    parser.add_argument("--out", type=Path, help="FILE.png, FILE.svg or FILE.html (default: a new reports/progress-DATE.html in the data dir)")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists (default: refuse)")
    parser.add_argument("--anonymise", action="store_true",
                        help="for sharing: no file paths or dates in the report or charts (days and weeks numbered from the first session)")


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime

    from bandlog.cli.commands._indexing import exercise_filter, leg_filter, none_found, parse_since, refresh_index
    from bandlog.io.paths import check_new_output, data_home, unused_path, write_output
    from bandlog.progress.index import session_records
    from bandlog.progress.index_store import load_charts, store_charts
    from bandlog.progress.report import stamp, write_report

    home = data_home(args.data_dir)
    out: Path = args.out or unused_path(home / "reports" / f"progress-{datetime.now():%Y-%m-%d}.html")
    kind = out.suffix.lower()
    if kind not in FORMATS:
        raise ConfigError(f"--out must end in .png, .svg or .html, not {out.name!r}")
    check_new_output(out, "chart" if kind != ".html" else "report", overwrite=args.force)
    since = parse_since(args.since)
    refresh_index(home)
    exercise = exercise_filter(args)
    records = session_records(home, leg=leg_filter(args.leg), since=since, exercise=exercise)
    if not records:
        raise BandlogError(none_found(home, args.leg, since, what="no sessions to chart", exercise=exercise))
    metrics = tuple(dict.fromkeys(args.metric or METRICS))
    legs = "both legs" if args.leg == "both" else f"{args.leg} leg"
    subtitle = f"{legs}, per {args.by}" + (f", since {since}" if since and not args.anonymise else "")
    key = output_key(records, args.by, metrics, kind, subtitle, args.anonymise)
    drawn = load_charts(home, key)  # the same sessions, options and day as a run before: nothing to draw again
    if drawn is None:
        from bandlog.progress.index import load_reps

        reps = load_reps(home, leg=leg_filter(args.leg), since=since, exercise=exercise)  # the legs' own noise
        drawn = _draw(records, args.by, metrics, subtitle, kind, args.anonymise, reps)
        store_charts(home, key, drawn)
    if kind == ".html":
        write_report(out, stamp(drawn["report"].decode("utf-8")), overwrite=args.force)
    else:
        write_output(out, "chart", lambda handle: handle.write(drawn["figure"]), overwrite=args.force)
    hint = "a wider terminal or the HTML report shows them" if kind == ".html" else "a wider terminal shows them"
    for title, rows, notes in json.loads(drawn["table"]):
        _print_table(title, rows, notes, args.by, hint)
    print(f"wrote {out}")
    return 0


DRAWN_BY = ("bandlog.progress.trend_plots", "bandlog.detect.exercises", "bandlog.progress.chart_style", "bandlog.progress.index_rows", "bandlog.progress.trends", "bandlog.progress.report", "bandlog.progress.anonymise", "bandlog.progress.reliability", "bandlog.progress.band_advice", "bandlog.progress.band_plots", "bandlog.progress.band_curve", "bandlog.progress.band_wear", "bandlog.progress.band_move_up", "bandlog.core.text_safety", "bandlog.core.results", __name__)
"""The modules that turn sessions into this verb's output: a change to any of them draws it again."""


def output_key(records: list[dict[str, Any]], *options: object, today: date | None = None) -> str:
    """What one run's output shows, as the key it is stored under in the session index: every value of
    the `records` charted (so any change to the index draws it again), the `options`, today's date (the
    running week is drawn apart; so nothing stored lives longer than a day) and the code that draws it."""
    import hashlib
    import importlib.util
    import os
    from datetime import date

    digest = hashlib.sha256(repr((options, (today or date.today()).isoformat())).encode())
    for name in DRAWN_BY:
        origin = getattr(importlib.util.find_spec(name), "origin", None)
        stat = os.stat(origin) if origin else None
        digest.update(repr((name, stat and (stat.st_size, stat.st_mtime_ns))).encode())
    for record in records:
        digest.update(repr(tuple(record.items())).encode())
    return digest.hexdigest()


def _draw(records: list[dict[str, Any]], by: str, metrics: tuple[str, ...], subtitle: str, kind: str,
          anonymise: bool = False, reps: pd.DataFrame | None = None) -> dict[str, bytes]:
    """Everything the verb shows, drawn: the report (undated: see report.stamp) or the figure, and the
    terminal tables' titles, rows and notes (as JSON, fitted to the terminal when printed), one per
    exercise (trends.by_exercise); `anonymise` as bandlog.progress.anonymise says (the terminal table,
    seen only by the user, keeps its dates); the sessions' `reps` give the charts their confidence bands
    and within-noise marks (reliability). A PNG or SVG holds one exercise: the latest session's, with a
    note naming the others."""
    import io
    import json

    from bandlog.progress.index import sessions_frame
    from bandlog.progress.reliability import sessions_noise
    from bandlog.progress.report import GENERATED_SLOT, progress_report
    from bandlog.progress.trends import by_exercise

    sessions = sessions_frame(records)
    groups = by_exercise(sessions)
    several = len(groups) > 1
    tables = [(f"{name}, per {by}" if several else f"per {by}", *_table_rows(part, by)) for name, part in groups]
    drawn: dict[str, bytes] = {}
    if kind == ".html":
        drawn["report"] = progress_report(sessions, by=by, metrics=metrics, subtitle=subtitle, generated=GENERATED_SLOT,
                                          anonymise=anonymise, reps=reps).encode("utf-8")
    else:
        from bandlog.detect.exercises import exercise_profile
        from bandlog.progress.anonymise import relabel_date_axis
        from bandlog.progress.index_rows import exercise_key
        from bandlog.progress.trend_plots import progress_figure

        latest = exercise_profile(exercise_key(records[-1]["exercise"]))
        name, part = next((n, g) for n, g in groups if n == latest.name)
        if several:
            others = "; ".join(f"{n} ({len(g)} sessions)" for n, g in groups if n != name)
            tables[0][2].append(f"this {kind.lstrip('.').upper()} charts the {name}, the latest session's exercise; "
                                f"also recorded: {others}. --exercise picks one, and the HTML report shows them all")
        noise = sessions_noise(reps, part) if reps is not None else None
        title = f"bandlog progress: {name}, {subtitle}" if several else f"bandlog progress: {subtitle}"
        fig = progress_figure(part, by=by, metrics=metrics, title=title, noise=noise)
        if anonymise:
            for ax in fig.axes:
                relabel_date_axis(ax, sessions["date"].min(), sessions["week"].min())
        buffer = io.BytesIO()
        fig.savefig(buffer, format=kind.lstrip("."), dpi=100, metadata={"Date": None} if anonymise and kind == ".svg" else None)
        drawn["figure"] = buffer.getvalue()
    drawn["table"] = json.dumps(tables).encode("utf-8")
    return drawn


def _table_rows(sessions: pd.DataFrame, by: str) -> tuple[list[dict[str, str]], list[str]]:
    """The terminal table's cells, per week (or per session) and leg, and a note for the week still running."""
    import pandas as pd

    from bandlog.progress.trends import by_grouping, running_rows

    table, when = by_grouping(sessions, by)
    decimals = 0 if by == "week" else 1

    def number(value: object, spec: str) -> str:
        return "-" if pd.isna(value) else format(value, spec)

    rows = [
        {
            when: pd.Timestamp(row[when]).date().isoformat(), "leg": str(row["leg"]), "band": str(row.get("band", "")),
            "sessions": number(row.get("sessions"), ".0f"), "reps": number(row["reps"], ".0f"),
            "tut_ecc_s": number(row["tut_ecc_s"], f".{decimals}f"), "mean_ecc_duration_s": number(row["mean_ecc_duration_s"], ".1f"),
            "adherence": number(row["adherence"], ".0%"), "peak_force_n": number(row["peak_force_n"], f".{decimals}f"),
        }
        for row in table.to_dict("records")
    ]
    notes = []
    if by == "week":
        running = table.loc[running_rows(table), ["week", "week_days"]].drop_duplicates("week")
        for week, days in running.itertuples(index=False):
            notes.append(f"the week of {pd.Timestamp(week).date().isoformat()} is still running ({days} of 7 days)")
    return rows, notes


def _print_table(title: str, rows: list[dict[str, str]], notes: list[str], by: str, hint: str) -> None:
    """A short per-week (or per-session), per-leg summary on the terminal, so the verb says something
    without opening the file; fitted to the terminal, and saying which week is still running."""
    from bandlog.cli.commands._table_fit import output_width, print_table, print_wrapped

    width = output_width()
    print_table(title, table_columns(by), rows, width=width, drop_order=DROP_ORDER, hint=hint)
    for note in notes:
        print_wrapped(note, width)
