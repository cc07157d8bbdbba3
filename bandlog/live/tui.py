"""The terminal front end: a rich dashboard for machines without a display (SSH, CI, a Pi).

`render(model)` is a pure function from the model to a rich renderable, so tests can print it to a
recording Console; TuiView wraps it in rich.live.Live, refreshed by the pacer (default 8 fps) rather
than by rich's own thread, so nothing draws while the pipeline is mid-update. While it is live on a
terminal, keys typed over it are not echoed (see KeysOff).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bandlog.detect.explain import flags_legend, rejected_footnote, rejection_counts, reps_phrase, split_flags
from bandlog.live.axis_limits import FORCE_FLOOR_N, KNEE_FLOOR
from bandlog.live.model import EccentricSpan, LiveModel, SpanOutcome, TimerState
from bandlog.live.pacing import FramePacer

BLOCKS = " ▁▂▃▄▅▆▇█"
TIMER_STYLES = {
    TimerState.IDLE: "black on grey70",
    TimerState.RUNNING: "bold black on dark_orange",
    TimerState.RUNNING_PAST_TARGET: "bold white on green4",
    TimerState.DONE_ON_TARGET: "bold white on green4",
    TimerState.DONE_SHORT: "bold white on red3",
}
"""Orange while short of the target, green once past it, red when the eccentric ended short."""
SPAN_STYLES = {
    SpanOutcome.PENDING: "cyan",
    SpanOutcome.COMPLETED: "green",
    SpanOutcome.REJECTED: "grey50",
    SpanOutcome.NO_ECCENTRIC: "grey70",
}
SPARK_WIDTH = 60
LABEL_WIDTH = 8
PANEL_CHROME = 4
"""The panel's borders and padding; with the label column and its gap, what a sparkline row adds to its width."""
MIN_SPARK_WIDTH = 10


def sparkline(t_s: np.ndarray, values: np.ndarray, start_s: float, window_s: float, width: int,
              floor_span: float = 0.0) -> str:
    """Peak value per time column over [start_s, start_s + window_s), as block characters; the blocks
    span at least `floor_span` (from the lowest peak up), so noise at rest stays near the bottom rather
    than filling the row like a signal (axis_limits' floors, as the window view's axes)."""
    finite = np.isfinite(values)
    t_s, values = t_s[finite], values[finite]
    if values.shape[0] == 0:
        return " " * width
    columns = np.clip(((t_s - start_s) / window_s * width).astype(np.int64), 0, width - 1)
    peaks = np.full(width, np.nan)
    order = np.argsort(columns, kind="stable")
    cols_sorted, vals_sorted = columns[order], values[order]
    starts = np.flatnonzero(np.r_[True, cols_sorted[1:] != cols_sorted[:-1]])
    peaks[cols_sorted[starts]] = np.maximum.reduceat(vals_sorted, starts)
    low, high = float(np.nanmin(peaks)), float(np.nanmax(peaks))
    high = max(high, low + floor_span)
    scale = (len(BLOCKS) - 2) / (high - low) if high > low else 0.0
    chars = [" " if np.isnan(p) else BLOCKS[1 + int(round((p - low) * scale))] for p in peaks]
    return "".join(chars)


def span_row(spans: list[EccentricSpan], start_s: float, now_s: float, window_s: float, width: int) -> Text:
    """A row under the sparklines marking the eccentric phases, coloured by outcome."""
    row = Text(" " * width)
    for span in spans:
        end_s = span.end_s if span.end_s is not None else now_s
        first = int(np.clip((span.start_s - start_s) / window_s * width, 0, width - 1))
        last = int(np.clip((end_s - start_s) / window_s * width, 0, width - 1))
        row = row[:first] + Text("━" * (last - first + 1), style=SPAN_STYLES[span.outcome]) + row[last + 1 :]
    return row


def _live_part(model: LiveModel, width: int) -> RenderableType:
    start_s, now_s = model.window()
    lines = Table.grid(padding=(0, 1))
    lines.add_column(width=LABEL_WIDTH, justify="right", style="bold")
    lines.add_column()
    t_s, force_n = model.force_window()
    if not len(model.force):
        lines.add_row("force", "no force channel")
    elif model.no_band():
        lines.add_row("force", Text(model.no_band_label(), style="dim"))
    else:
        lines.add_row("force", sparkline(t_s, force_n, start_s, model.window_s, width, FORCE_FLOOR_N))
    kind = model.knee_kind()
    if kind is None:
        lines.add_row("angle", Text(model.no_angle_label(), style="dim"))
    else:
        knee_t_s, knee = model.knee_window(kind)
        lines.add_row("angle" if kind == "angle" else "angle/s",
                      sparkline(knee_t_s, knee, start_s, model.window_s, width, KNEE_FLOOR[kind]))
    lines.add_row("ecc", span_row(model.spans_in_window(), start_s, now_s, model.window_s, width))
    saturation = model.saturation_label()
    coach, alert = model.coach_label(), model.coach_alert()
    plan_lines = [Text(coach, style="bold cyan"), Text(alert, style="bold magenta")] if coach else []  # only with a plan
    return Group(
        *plan_lines,
        timer_text(model),
        Text(model.last_rep_label() + (f"   rejected {model.rejected}" if model.rejected else "")),
        Text(saturation, style="bold yellow") if saturation else Text(""),
        lines,
        Text(f"last {model.window_s:.0f} s; angle: {model.angle_label(kind or 'angle')}", style="dim"),
    )


def timer_text(model: LiveModel) -> Text:
    """The eccentric timer, styled by state: the colour flips when the eccentric passes the target."""
    timer = model.timer()
    return Text(f" {timer.label()} ", style=TIMER_STYLES[timer.state])


def rep_table(model: LiveModel) -> Table:
    """The set's reps; fits 60 columns with the longest flag (no outer cell padding, 'ROM °' as in the
    CLI tables), and folds a flag rather than cutting it on anything narrower."""
    table = Table(title="reps", title_justify="left", expand=False, pad_edge=False)
    for column in ("rep", "ecc s", "tempo", "peak N", "ROM °"):
        table.add_column(column, justify="left" if column == "tempo" else "right", no_wrap=True)
    table.add_column("flags", overflow="fold")
    for rep in model.reps:
        table.add_row(
            str(rep.rep),
            "--" if rep.ecc_duration_s is None else f"{rep.ecc_duration_s:.1f}",
            rep.tempo,
            "--" if rep.peak_force_n is None else f"{rep.peak_force_n:.0f}",
            "--" if rep.rom_deg is None else f"{rep.rom_deg:.0f}",
            ", ".join(split_flags(rep.flags)),
        )
    return table


def _final_part(model: LiveModel) -> RenderableType:
    summary = model.summary
    lines: list[RenderableType] = [rep_table(model)]
    if model.saturation_label():
        lines.append(Text(model.saturation_label(), style="bold yellow"))
    if summary is not None:
        tension = "--" if summary.tut_tension_s is None else f"{summary.tut_tension_s:.1f} s"
        mean = "--" if summary.mean_ecc_duration_s is None else f"{summary.mean_ecc_duration_s:.1f} s"
        lines.append(Text(f"set: {reps_phrase(summary.reps, summary.eccentrics)}, TUT eccentric {summary.tut_ecc_s:.1f} s, "
                          f"TUT tension {tension}, mean eccentric {mean} (target {model.target_ecc_s:.1f} s)",
                          style="bold"))
        if summary.notes:
            lines.append(Text(f"detector notes: {summary.notes}", style="dim"))
    for footnote in (rejected_footnote(rejection_counts(model.rejected_by_code.elements())), flags_legend(r.flags for r in model.reps)):
        if footnote:
            lines.append(Text(footnote, style="dim"))
    return Group(*lines)


def spark_width(console_width: int) -> int:
    """The sparkline width that fills a terminal `console_width` columns wide without wrapping."""
    return max(MIN_SPARK_WIDTH, console_width - PANEL_CHROME - LABEL_WIDTH - 1)


class PartsLine:
    """Parts joined by ' | ' and wrapped only between parts, so a figure never lands apart from its label
    ("corrupted" at the end of one line, "0" on the next)."""

    def __init__(self, prefix: str, parts: list[str], style: str = "") -> None:
        self.prefix, self.parts, self.style = prefix, parts, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [self.prefix + self.parts[0]]
        for part in self.parts[1:]:
            if cell_len(lines[-1]) + 3 + cell_len(part) <= options.max_width:
                lines[-1] += " | " + part
            else:
                lines.append("  " + part)
        yield Text("\n".join(lines), style=self.style)


def render(model: LiveModel, width: int = SPARK_WIDTH) -> RenderableType:
    """The whole dashboard for the model's current state, with sparklines `width` columns wide."""
    title = Text.assemble(("bandlog  ", "bold"), (f"reps {model.rep_count}", "bold cyan"))
    body = _final_part(model) if model.ended else _live_part(model, width)
    link = PartsLine("link: ", model.link_label(sep="\n").split("\n"), style="dim")
    return Panel(Group(body, Text(""), link), title=title, title_align="left")


class KeysOff:
    """Stops the terminal echoing keys while the dashboard redraws in place, and drops them at the end.

    rich redraws by moving the cursor up the dashboard's height; an echoed Enter moves the cursor down a
    line first, so every later frame lands one line lower and leaves a torn copy above it. The keys
    typed over the dashboard are discarded when it closes, so the shell does not run them as commands.
    Ctrl-C still interrupts (signals stay on). Does nothing unless stdin is a terminal (POSIX only).
    """

    def __init__(self) -> None:
        self._saved: list[Any] | None = None

    def start(self) -> None:
        try:
            import termios
        except ImportError:  # Windows: no termios; its console echoes keys only while a program reads them
            return
        if self._saved is not None or not sys.stdin.isatty():
            return
        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, quiet)

    def stop(self) -> None:
        if self._saved is None:
            return
        import termios

        termios.tcsetattr(sys.stdin.fileno(), termios.TCSAFLUSH, self._saved)
        self._saved = None


class TuiView:
    """rich.live.Live over render(), refreshed at most `fps` times a second."""

    name = "tui"

    def __init__(self, model: LiveModel, fps: float = 8.0, console: Console | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.model = model
        self.pacer = FramePacer(fps, clock)
        self.console = console if console is not None else Console()
        self._live: Live | None = None
        self._keys = KeysOff()
        self._drawn_version = -1

    def frame(self) -> bool:
        if self.model.version == self._drawn_version:
            return False
        return self.pacer.offer(self.draw_live)

    def draw_live(self) -> None:
        self._drawn_version = self.model.version
        renderable = render(self.model, spark_width(self.console.width))
        if self._live is None:
            if self.console.is_terminal and self.console.file.isatty():  # not a test's forced-terminal StringIO
                self._keys.start()
            self._live = Live(renderable, console=self.console, auto_refresh=False, transient=False)
            self._live.start(refresh=True)
        else:
            self._live.update(renderable, refresh=True)

    def draw_final(self) -> None:
        start = self.pacer.now()
        self.draw_live()
        self.pacer.record(start, self.pacer.now())

    def bell(self) -> None:
        self.console.bell()

    def close(self) -> None:
        if self._live is not None:
            try:
                self._live.stop()
            finally:
                self._live = None
                self._keys.stop()
            if not self.console.is_terminal:
                self.console.line()  # rich leaves a non-terminal output without the final newline

    def stats(self) -> dict[str, float]:
        return self.pacer.stats()
