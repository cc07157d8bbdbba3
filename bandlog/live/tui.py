"""The terminal front end: a rich dashboard for machines without a display (SSH, CI, a Pi).

`render(model)` is a pure function from the model to a rich renderable, so tests can print it to a
recording Console; TuiView wraps it in rich.live.Live, refreshed by the pacer (default 8 fps) rather
than by rich's own thread, so nothing draws while the pipeline is mid-update.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bandlog.explain import flags_legend, rejected_footnote, rejection_counts, reps_phrase, split_flags
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


def sparkline(t_s: np.ndarray, values: np.ndarray, start_s: float, window_s: float, width: int) -> str:
    """Peak value per time column over [start_s, start_s + window_s), as block characters."""
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
    lines.add_column(width=8, justify="right", style="bold")
    lines.add_column()
    t_s, force_n = model.force_window()
    lines.add_row("force", sparkline(t_s, force_n, start_s, model.window_s, width) if len(model.force) else "no force channel")
    kind = model.knee_kind()
    if kind is None:
        lines.add_row("knee", "no knee estimate")
    else:
        knee_t_s, knee = model.knee_window(kind)
        lines.add_row("knee" if kind == "angle" else "knee/s", sparkline(knee_t_s, knee, start_s, model.window_s, width))
    lines.add_row("ecc", span_row(model.spans_in_window(), start_s, now_s, model.window_s, width))
    return Group(
        timer_text(model),
        Text(model.last_rep_label() + (f"   rejected {model.rejected}" if model.rejected else "")),
        Text(""),
        lines,
        Text(f"last {model.window_s:.0f} s", style="dim"),
    )


def timer_text(model: LiveModel) -> Text:
    """The eccentric timer, styled by state: the colour flips when the eccentric passes the target."""
    timer = model.timer()
    return Text(f" {timer.label()} ", style=TIMER_STYLES[timer.state])


def rep_table(model: LiveModel) -> Table:
    table = Table(title="reps", title_justify="left", expand=False)
    for column in ("rep", "ecc s", "tempo", "peak N", "ROM deg", "flags"):
        table.add_column(column, justify="right" if column not in ("tempo", "flags") else "left")
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


def render(model: LiveModel, width: int = SPARK_WIDTH) -> RenderableType:
    """The whole dashboard for the model's current state."""
    title = Text.assemble(("bandlog  ", "bold"), (f"reps {model.rep_count}", "bold cyan"))
    body = _final_part(model) if model.ended else _live_part(model, width)
    return Panel(Group(body, Text(""), Text("link: " + model.link_label(), style="dim")), title=title, title_align="left")


class TuiView:
    """rich.live.Live over render(), refreshed at most `fps` times a second."""

    name = "tui"

    def __init__(self, model: LiveModel, fps: float = 8.0, console: Console | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.model = model
        self.pacer = FramePacer(fps, clock)
        self.console = console if console is not None else Console()
        self._live: Live | None = None
        self._drawn_version = -1

    def frame(self) -> bool:
        if self.model.version == self._drawn_version:
            return False
        return self.pacer.offer(self.draw_live)

    def draw_live(self) -> None:
        self._drawn_version = self.model.version
        renderable = render(self.model)
        if self._live is None:
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
            self._live.stop()
            self._live = None
            if not self.console.is_terminal:
                self.console.line()  # rich leaves a non-terminal output without the final newline

    def stats(self) -> dict[str, float]:
        return self.pacer.stats()
