"""What the sessions/plot/progress verbs share: refreshing the index with a progress bar, and the
--leg/--since filters. Underscored, so the CLI does not take it for a verb."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bandlog.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from bandlog.progress.index import IndexReport

LEG_CHOICES = ("left", "right", "both")


def add_filters(parser: argparse.ArgumentParser) -> None:
    from bandlog.detect.exercises import CHOICES

    parser.add_argument("--leg", choices=LEG_CHOICES, default="both", help="only this leg (default: both)")
    parser.add_argument("--since", metavar="DATE", help="only sessions on or after this date (YYYY-MM-DD)")
    parser.add_argument("--exercise", choices=CHOICES, help="only this exercise's sessions (default: every exercise)")


def exercise_filter(args: argparse.Namespace) -> str | None:
    """The profile key --exercise names (an alias resolved), or None for every exercise."""
    from bandlog.detect.exercises import exercise_profile

    return None if args.exercise is None else exercise_profile(args.exercise).key


def parse_since(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since must be a date like 2026-01-31, not {text!r}") from None


def leg_filter(leg: str) -> str | None:
    return None if leg == "both" else leg


def none_found(home: Path, leg: str, since: date | None, what: str = "no sessions", exercise: str | None = None) -> str:
    """Why a filtered list came out empty: the filters, how many sessions they hid, and a --since
    date in the future (today's sessions are the latest there can be)."""
    from bandlog.detect.exercises import exercise_profile
    from bandlog.detect.explain import counted
    from bandlog.progress.index import session_records

    filters = [f"for the {leg} leg"] if leg != "both" else []
    if exercise is not None:
        filters.append(f"of the {exercise_profile(exercise).name}")
    if since is not None:
        filters.append(f"on or after {since}" + (" (a date in the future)" if since > date.today() else ""))
    where = f"in {home / 'recordings'}"
    if not filters:
        return f"{what} {where}"
    total = len(session_records(home))
    return f"{what} {where} {' '.join(filters)} ({counted(total, 'session')} in all)"


PLAIN_EVERY_S = 10.0
"""Off a terminal, a line on how indexing goes at most this often (so a short update prints nothing)."""


def refresh_index(home: Path, console: Console | None = None) -> IndexReport:
    """Update the index of `home`, drawing a progress bar on a terminal (a plain line every PLAIN_EVERY_S
    when stderr is a pipe or a file); report skipped logs on stderr."""
    from bandlog.progress.index import update_index

    if console is None and not sys.stderr.isatty():  # no bar to draw: rich is not even imported
        report = update_index(home, progress=_plain_progress(), workers=None)
    else:
        report = _with_bar(home, console)
    for line in index_messages(report):
        print(f"bandlog: {line}", file=sys.stderr)
    return report


def _with_bar(home: Path, console: Console | None) -> IndexReport:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bandlog.progress.index import update_index

    console = console or Console(stderr=True)
    if not console.is_terminal:
        return update_index(home, progress=_plain_progress(), workers=None)
    columns = (TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def advance(done: int, total: int, path: Path) -> None:
            bar.update(task, completed=done, total=total, description=path.name)

        return update_index(home, progress=advance, workers=None)  # one process per core for a big update


def _plain_progress() -> Callable[[int, int, Path], None]:
    """A progress callback for a pipe: "indexing: 120 of 1000 logs analysed (10 s)" at most every PLAIN_EVERY_S."""
    import time

    started = last = time.monotonic()

    def progress(done: int, total: int, path: Path) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PLAIN_EVERY_S or (done == total and last > started):
            last = now
            print(f"bandlog: indexing: {done} of {total} logs analysed ({now - started:.0f} s)", file=sys.stderr, flush=True)

    return progress


def index_messages(report: IndexReport) -> list[str]:
    """One line for each thing the user should know about this update: what happened to the index
    itself, each log skipped (and why), logs that vanished while indexing, folders that could not be read."""
    from bandlog.core.text_safety import printable

    lines = list(report.notices)
    lines += [f"skipped {rel}: {reason}" for rel, reason in report.failed]
    if report.vanished:
        n = len(report.vanished)
        lines.append(f"skipped {n} log{'s' if n > 1 else ''} deleted while indexing: {', '.join(report.vanished)}")
    for folder, reason in report.unreadable_dirs:
        lines.append(f"cannot read the folder {folder} ({reason}): its logs were not checked; sessions from it are shown as last indexed")
    return [printable(line) for line in lines]
