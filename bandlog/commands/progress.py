"""`bandlog progress`: eccentric work over weeks, per leg: charts (PNG/SVG) or one HTML report."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bandlog.commands._indexing import add_filters, leg_filter, parse_since, refresh_index
from bandlog.errors import BandlogError, ConfigError

if TYPE_CHECKING:
    import pandas as pd

NAME = "progress"
HELP = "chart progress over weeks: eccentric TUT, eccentric duration vs target, force, tempo mix, left/right asymmetry"
ORDER = 64
METRICS = ("tut", "duration", "force", "tempo", "asymmetry")
"""Same names as bandlog.plots.PROGRESS_METRICS (kept literal here so --help stays light)."""
FORMATS = (".png", ".svg", ".html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", action="append", choices=METRICS, help="chart only this (repeatable; default: all)")
    parser.add_argument("--by", choices=("session", "week"), default="week", help="one point per session or per week (default)")
    add_filters(parser)
    parser.add_argument("--out", type=Path, help="FILE.png, FILE.svg or FILE.html (default: a new reports/progress-DATE.html in the data dir)")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists (default: refuse)")


def run(args: argparse.Namespace) -> int:
    from bandlog.index import load_sessions
    from bandlog.paths import check_new_output, data_home, unused_path, write_output
    from bandlog.plots import progress_figure
    from bandlog.report import progress_report, write_report
    from bandlog.trends import weekly

    home = data_home(args.data_dir)
    out: Path = args.out or unused_path(home / "reports" / f"progress-{datetime.now():%Y-%m-%d}.html")
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out must end in .png, .svg or .html, not {out.name!r}")
    check_new_output(out, "chart" if out.suffix.lower() != ".html" else "report", overwrite=args.force)
    since = parse_since(args.since)
    refresh_index(home)
    sessions = load_sessions(home, leg=leg_filter(args.leg), since=since)
    if sessions.empty:
        raise BandlogError(f"no sessions to chart in {home / 'recordings'} (leg: {args.leg}, since: {args.since or 'any date'})")
    metrics = tuple(dict.fromkeys(args.metric or METRICS))
    legs = "both legs" if args.leg == "both" else f"{args.leg} leg"
    subtitle = f"{legs}, per {args.by}" + (f", since {since}" if since else "")
    if out.suffix.lower() == ".html":
        write_report(out, progress_report(sessions, by=args.by, metrics=metrics, subtitle=subtitle), overwrite=args.force)
    else:
        fig = progress_figure(sessions, by=args.by, metrics=metrics, title=f"bandlog progress: {subtitle}")
        image_format = out.suffix.lower().lstrip(".")
        write_output(out, "chart", lambda handle: fig.savefig(handle, format=image_format, dpi=100), overwrite=args.force)
    _print_weekly(weekly(sessions))
    print(f"wrote {out}")
    return 0


def _print_weekly(table: "pd.DataFrame") -> None:
    """A short per-week, per-leg summary on the terminal, so the verb says something without opening the file."""
    import sys

    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from bandlog.text_safety import printable

    view = Table(title="per week", title_justify="left")
    for heading in ("week of", "leg", "sessions", "reps", "ecc TUT (s)", "mean ecc (s)", "within ±20 %", "peak force (N)"):
        view.add_column(heading, justify="left" if heading in ("week of", "leg") else "right")
    for row in table.itertuples(index=False):
        adherence = "-" if pd.isna(row.adherence) else f"{row.adherence:.0%}"
        duration = "-" if pd.isna(row.mean_ecc_duration_s) else f"{row.mean_ecc_duration_s:.1f}"
        peak = "-" if pd.isna(row.peak_force_n) else f"{row.peak_force_n:.0f}"
        view.add_row(pd.Timestamp(row.week).date().isoformat(), printable(str(row.leg)), str(row.sessions), str(row.reps),
                     f"{row.tut_ecc_s:.0f}", duration, adherence, peak)
    Console(width=None if sys.stdout.isatty() else 120).print(view)
