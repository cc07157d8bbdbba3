"""The matplotlib front end: a scrolling 20 s view redrawn with blitting, and a whole-set final view.

The x axis is "seconds before now", so axes, ticks and grid stay still and are drawn once into a
saved background; each frame only restores it and draws the moving artists (lines, eccentric
shading, texts). A full redraw happens only when the y range or the knee signal kind changes.
At the end of the set the figure becomes a static summary (whole set, every eccentric shaded,
the per-rep table and time under tension), which is what `snapshot=` saves.
"""

from __future__ import annotations

import logging
import signal
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bandlog.core.errors import LogWriteError
from bandlog.detect.explain import split_flags
from bandlog.live.axis_limits import FORCE_FLOOR_N, KNEE_FLOOR, fit_ylim, padded_limits
from bandlog.live.model import EccentricSpan, LiveModel, SpanOutcome, TimerState
from bandlog.live.pacing import FramePacer

if TYPE_CHECKING:  # matplotlib is imported when a view is made, not with this module
    from matplotlib.patches import FancyBboxPatch

log = logging.getLogger(__name__)

SPAN_GID = "eccentric"
FORCE_COLOUR = "#1f4e79"
NO_BAND_COLOUR = "#b0b0b0"
"""The force line while no band pulls (an exercise whose band is optional): the load cell's noise, greyed."""
KNEE_COLOUR = "#6a3d9a"
SPAN_COLOURS = {
    SpanOutcome.PENDING: "#56b4e9",
    SpanOutcome.COMPLETED: "#009e73",
    SpanOutcome.REJECTED: "#999999",
    SpanOutcome.NO_ECCENTRIC: "#bbbbbb",
}
SPAN_ALPHA = 0.3
CYCLE_GID = "cycle"
"""A row without an eccentric, hatched over its whole cycle in the end-of-set view."""
TIMER_COLOURS = {
    TimerState.IDLE: "#e0e0e0",
    TimerState.RUNNING: "#e69f00",
    TimerState.RUNNING_PAST_TARGET: "#009e73",
    TimerState.DONE_ON_TARGET: "#009e73",
    TimerState.DONE_SHORT: "#d55e00",
}
"""Orange while the eccentric is still short of the target, green once past it, red if it ended short."""
SUMMARY_BOX_COLOUR = "#dfe8f1"
"""The end-of-set TUT box, in place of the timer."""
NO_ANGLE_WRAP = 48
"""Characters per line of the reason written over an empty angle panel (LiveModel.no_angle_label)."""
TABLE_ROWS = 12
HOLD_POLL_S = 0.1
"""How often the held end-of-set window checks for Ctrl-C from the terminal."""


class MplView:
    """Draws a LiveModel into a matplotlib figure at most `fps` times a second."""

    name = "window"

    def __init__(
        self,
        model: LiveModel,
        fps: float = 30.0,
        interactive: bool = False,
        figsize: tuple[float, float] = (11.0, 6.0),
        dpi: float = 100.0,
        clock: Callable[[], float] = time.perf_counter,
        live_frames: bool = True,
    ) -> None:
        """`live_frames=False` draws only the final view (a snapshot-only figure beside the TUI)."""
        self.model = model
        self.live_frames = live_frames
        self.pacer = FramePacer(fps, clock)
        self.full_redraws = 0
        self.closed = False
        self._drawn_version = -1
        self._background: Any = None
        self._knee_kind: str | None = None
        self._angle_label = ""
        self._final = False
        self._build_figure(interactive, figsize, dpi)

    # --- figure ---

    def _build_figure(self, interactive: bool, figsize: tuple[float, float], dpi: float) -> None:
        if interactive:
            import matplotlib.pyplot as plt

            self.figure = plt.figure(figsize=figsize, dpi=dpi)
            manager = self.figure.canvas.manager
            if manager is not None:
                manager.set_window_title("bandlog live")
            plt.show(block=False)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.figure = Figure(figsize=figsize, dpi=dpi)
            FigureCanvasAgg(self.figure)
        self.interactive = interactive
        canvas = self.figure.canvas
        canvas.mpl_connect("close_event", self._on_close)
        canvas.mpl_connect("resize_event", self._on_resize)
        grid = self.figure.add_gridspec(2, 2, width_ratios=(3.0, 1.3), left=0.07, right=0.985, top=0.95,
                                        bottom=0.09, wspace=0.1, hspace=0.12)
        self.ax_force = self.figure.add_subplot(grid[0, 0])
        self.ax_knee = self.figure.add_subplot(grid[1, 0], sharex=self.ax_force)
        self.ax_info = self.figure.add_subplot(grid[:, 1])
        self.ax_info.set_axis_off()
        window_s = self.model.window_s
        self.ax_force.set_xlim(-window_s, 0.0)
        self.ax_force.set_ylim(0.0, FORCE_FLOOR_N)
        self.ax_knee.set_ylim(0.0, KNEE_FLOOR[None])
        self.ax_force.set_ylabel("force (N)")
        self.ax_knee.set_ylabel(self.model.angle_label(None))
        self.ax_knee.set_xlabel("seconds before now")
        self.ax_force.tick_params(labelbottom=False)
        for ax in (self.ax_force, self.ax_knee):
            ax.grid(True, alpha=0.3)
        (self.force_line,) = self.ax_force.plot([], [], color=FORCE_COLOUR, lw=1.4, animated=True)
        (self.knee_line,) = self.ax_knee.plot([], [], color=KNEE_COLOUR, lw=1.4, animated=True)
        self.force_missing = self.ax_force.text(0.5, 0.5, "no force channel", transform=self.ax_force.transAxes,
                                                ha="center", va="center", color="0.5", animated=True)
        self.knee_missing = self.ax_knee.text(0.5, 0.5, textwrap.fill(self.model.no_angle_label(), NO_ANGLE_WRAP),
                                              transform=self.ax_knee.transAxes, ha="center", va="center", color="0.5", animated=True)
        self._span_pools: dict[Any, list[Any]] = {self.ax_force: [], self.ax_knee: []}
        info = self.ax_info.transAxes
        self.rep_text = self.ax_info.text(0.03, 0.97, "reps 0", transform=info, va="top", fontsize=26,
                                          fontweight="bold", animated=True)
        self.timer_text = self.ax_info.text(0.03, 0.78, "", transform=info, va="top", fontsize=11.5,
                                            fontweight="bold", animated=True,
                                            bbox={"boxstyle": "round,pad=0.5", "facecolor": TIMER_COLOURS[TimerState.IDLE],
                                                  "edgecolor": "none"})
        self.last_rep_text = self.ax_info.text(0.03, 0.62, "", transform=info, va="top", fontsize=9.5,
                                               animated=True)
        self.link_text = self.ax_info.text(0.03, 0.40, "", transform=info, va="top", fontsize=9,
                                           family="monospace", animated=True)
        self._plot_artists = [self.force_line, self.knee_line, self.force_missing, self.knee_missing]
        self._info_artists = [self.rep_text, self.timer_text, self.last_rep_text, self.link_text]
        self._animated = [*self._plot_artists, *self._info_artists]
        self._info_drawn: tuple[object, ...] | None = None

    def _on_close(self, _event: object) -> None:
        self.closed = True

    def _on_resize(self, _event: object) -> None:
        self._background = None

    # --- live frames ---

    def frame(self) -> bool:
        """Draw a frame if one is due and there is something new; never raises into the pipeline."""
        if not self.live_frames or self.closed or self._final or self.model.version == self._drawn_version:
            return False
        return self.pacer.offer(self.draw_live)

    def draw_live(self) -> None:
        """Update the moving artists and blit them over the saved background."""
        self.render(self.update_artists())

    def update_artists(self) -> bool:
        """Bring lines, shading and texts up to the model; True when the background must be redrawn."""
        model = self.model
        self._drawn_version = model.version
        now_s = model.now_s if model.now_s is not None else 0.0
        t_s, force_n = model.force_window()
        self.force_line.set_data(t_s - now_s, force_n)
        self._say_force_missing()
        kind = model.knee_kind()
        needs_full = self._background is None
        if kind != self._knee_kind or model.angle_label(kind) != self._angle_label:
            self._knee_kind, self._angle_label = kind, model.angle_label(kind)
            self.ax_knee.set_ylabel(self._angle_label)
            needs_full = True
        if kind is not None:
            knee_t_s, knee = model.knee_window(kind)
            self.knee_line.set_data(knee_t_s - now_s, knee)
        else:
            knee = np.empty(0)
            self.knee_line.set_data([], [])
        self._say_knee_missing(model, kind)
        window_full = model.start_s is not None and now_s - model.start_s >= model.window_s
        needs_full |= fit_ylim(self.ax_force, force_n, FORCE_FLOOR_N, window_full, room_below=False)
        needs_full |= fit_ylim(self.ax_knee, knee, KNEE_FLOOR[kind], window_full, room_below=kind == "rate")
        self._place_spans(model.spans_in_window(), now_s)
        self._update_texts()
        return needs_full

    def _say_knee_missing(self, model: LiveModel, kind: str | None) -> None:
        """Over an empty angle panel: why there is no estimate yet, wrapped to the panel."""
        self.knee_missing.set_visible(kind is None)
        if kind is None:
            self.knee_missing.set_text(textwrap.fill(model.no_angle_label(), NO_ANGLE_WRAP))

    def _say_force_missing(self) -> None:
        """Over the force axes: that there is no force channel, or (an exercise whose band is optional) no band."""
        no_band = self.model.no_band_label()
        self.force_line.set_color(NO_BAND_COLOUR if no_band else FORCE_COLOUR)
        self.force_missing.set_text(no_band or "no force channel")
        self.force_missing.set_visible(bool(no_band) or len(self.model.force) == 0)

    def render(self, needs_full: bool) -> None:
        """Blit: restore the saved background and draw only what moved (a full draw if needed).

        Text is the costliest thing matplotlib draws, so the plots and the info panel are separate
        blit regions, and the panel is redrawn only when one of its texts or colours changed.
        """
        canvas: Any = self.figure.canvas  # blitting canvases (Agg, the GUI ones) have copy_from_bbox; the base type does not
        info_key = self._info_key()
        if needs_full or self._background is None:
            canvas.draw()
            self._background = (canvas.copy_from_bbox(self._plot_bbox()), canvas.copy_from_bbox(self._info_bbox()))
            self.full_redraws += 1
            self._info_drawn = None
        plot_background, info_background = self._background
        canvas.restore_region(plot_background)
        for pool in self._span_pools.values():
            for patch in pool:
                if patch.get_visible():
                    self.figure.draw_artist(patch)
        for artist in self._plot_artists:
            self.figure.draw_artist(artist)
        canvas.blit(self._plot_bbox())
        if info_key != self._info_drawn:
            canvas.restore_region(info_background)
            for artist in self._info_artists:
                self.figure.draw_artist(artist)
            canvas.blit(self._info_bbox())
            self._info_drawn = info_key
        if self.interactive:
            canvas.flush_events()

    def _plot_bbox(self) -> Any:
        from matplotlib.transforms import Bbox

        return Bbox.union([self.ax_force.bbox, self.ax_knee.bbox]).padded(2)

    def _info_bbox(self) -> Any:
        from matplotlib.transforms import Bbox

        fig_box = self.figure.bbox
        return Bbox.from_extents(self.ax_info.bbox.x0 - 4, fig_box.y0, fig_box.x1, fig_box.y1)

    def _info_key(self) -> tuple[object, ...]:
        return (*((a.get_text(), a.get_color(), a.get_visible()) for a in self._info_artists), self.timer_colour())

    def _place_spans(self, spans: list[EccentricSpan], now_s: float) -> None:
        for ax, pool in self._span_pools.items():
            while len(pool) < len(spans):
                patch = ax.axvspan(0.0, 0.0, alpha=SPAN_ALPHA, lw=0, animated=True, gid=SPAN_GID)
                patch.set_visible(False)
                pool.append(patch)
            for patch, span in zip(pool, spans):
                end_s = span.end_s if span.end_s is not None else now_s
                patch.set_x(span.start_s - now_s)
                patch.set_width(max(end_s - span.start_s, 0.0))
                patch.set_facecolor(SPAN_COLOURS[span.outcome])
                patch.set_visible(True)
            for patch in pool[len(spans):]:
                patch.set_visible(False)

    def _update_texts(self) -> None:
        model = self.model
        coach = model.coach_label()
        self.rep_text.set_text(f"reps {model.rep_count}" + (f"\n{coach}" if coach else ""))
        timer = model.timer()
        self.timer_text.set_text(timer.label())
        self._timer_box().set_facecolor(TIMER_COLOURS[timer.state])
        self.timer_text.set_color("black" if timer.state is TimerState.IDLE else "white")
        last = model.last_rep_label().replace(": ", ":\n", 1)
        if model.rejected:
            last += f"\nrejected {model.rejected} ({model.last_rejection})"
        if model.saturated_reps:
            last += f"\n{model.saturation_label()}"
        if alert := model.coach_alert():
            last += f"\n{alert}"
        self.last_rep_text.set_text(last)
        self.link_text.set_text("link:\n" + model.link_label(sep="\n"))

    def _timer_box(self) -> FancyBboxPatch:
        box = self.timer_text.get_bbox_patch()
        assert box is not None  # the timer text is made with a bbox
        return box

    def timer_colour(self) -> tuple[float, float, float, float]:
        from matplotlib.colors import to_rgba  # typed as four floats; get_facecolor() is typed as any colour

        return to_rgba(self._timer_box().get_facecolor())

    def shaded_spans(self) -> list[Any]:
        """The eccentric shadings currently drawn on the force axes."""
        return [p for p in self.ax_force.patches if p.get_gid() == SPAN_GID and p.get_visible()]

    # --- end of set ---

    def draw_final(self) -> None:
        """Replace the scrolling view with the whole set, every eccentric, the rep table and TUT."""
        start = self.pacer.now()
        self._final = True
        model = self.model
        origin_s = model.start_s if model.start_s is not None else 0.0
        end_s = model.now_s if model.now_s is not None else origin_s
        for pool in self._span_pools.values():
            for patch in pool:
                patch.remove()
            pool.clear()
        for artist in self._animated:
            artist.set_animated(False)
        t_s, force = model.force_overview.all()
        self.force_line.set_data(t_s - origin_s, force[:, 0])
        kind = model.knee_kind(whole_set=True)
        knee_t_s, knee = model.knee_overview.all()
        knee_values = knee[:, 0 if kind == "angle" else 1] if kind else np.empty(0)
        self.knee_line.set_data(knee_t_s - origin_s if kind else [], knee_values)
        self.ax_knee.set_ylabel(model.angle_label(kind))
        self._say_knee_missing(model, kind)
        self._say_force_missing()
        for ax in (self.ax_force, self.ax_knee):
            for span in model.spans:
                span_end_s = span.end_s if span.end_s is not None else end_s
                patch = ax.axvspan(span.start_s - origin_s, span_end_s - origin_s, alpha=SPAN_ALPHA, lw=0,
                                   color=SPAN_COLOURS[span.outcome], gid=SPAN_GID)
                self._span_pools[ax].append(patch)
            for rep in model.reps:
                if rep.ecc_duration_s is None:
                    patch = ax.axvspan(rep.start_s - origin_s, rep.end_s - origin_s, facecolor="none", lw=0, hatch="//",
                                       edgecolor=SPAN_COLOURS[SpanOutcome.NO_ECCENTRIC], gid=CYCLE_GID)
                    self._span_pools[ax].append(patch)
        self.ax_force.set_xlim(0.0, max(end_s - origin_s, 1.0))
        for ax, values, floor_span in ((self.ax_force, force[:, 0], FORCE_FLOOR_N),
                                       (self.ax_knee, knee_values, KNEE_FLOOR[kind])):
            limits = padded_limits(values, floor_span)
            if limits is not None:
                ax.set_ylim(*limits)
        self.ax_knee.set_xlabel("time in set (s)")
        self._draw_summary()
        self.figure.canvas.draw()
        if self.interactive:
            self.figure.canvas.flush_events()
        self.pacer.record(start, self.pacer.now())

    def _draw_summary(self) -> None:
        model = self.model
        summary = model.summary
        self.rep_text.set_text(f"reps {model.rep_count}")
        if summary is not None:
            tension = "--" if summary.tut_tension_s is None else f"{summary.tut_tension_s:.1f} s"
            self.timer_text.set_text(f"TUT eccentric {summary.tut_ecc_s:.1f} s\nTUT tension {tension}")
        else:
            self.timer_text.set_text("set ended")
        self._timer_box().set_facecolor(SUMMARY_BOX_COLOUR)
        self.timer_text.set_color("black")
        eccentrics = sum(r.ecc_duration_s is not None for r in model.reps)
        self.last_rep_text.set_text(f"target {model.target_ecc_s:.1f} s" +
                                    (f"\n{eccentrics} with an eccentric" if eccentrics != model.rep_count else "") +
                                    (f"\nrejected {model.rejected}" if model.rejected else "") +
                                    (f"\n{model.saturation_label()}" if model.saturated_reps else ""))
        self.link_text.set_visible(False)
        reps = list(model.reps)[-TABLE_ROWS:]
        if not reps:
            return
        rows = [[str(r.rep) + ("*" if r.flags else ""),
                 "--" if r.ecc_duration_s is None else f"{r.ecc_duration_s:.1f}",
                 r.tempo,
                 "--" if r.peak_force_n is None else f"{r.peak_force_n:.0f}",
                 "--" if r.rom_deg is None else f"{r.rom_deg:.0f}"] for r in reps]
        height = min(0.55, 0.045 * (len(rows) + 1))
        from matplotlib.transforms import Bbox

        table = self.ax_info.table(cellText=rows, colLabels=["rep", "ecc s", "tempo", "peak N", "ROM"],
                                   bbox=Bbox.from_bounds(0.0, 0.52 - height, 1.0, height), cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8.5)
        notes = [f"(last {TABLE_ROWS} of {model.rep_count} reps)"] if model.rep_count > TABLE_ROWS else []
        notes += [f"*{r.rep}: {', '.join(split_flags(r.flags))}" for r in reps if r.flags]
        if notes:
            self.ax_info.text(0.03, 0.52 - height - 0.03, "\n".join(notes[:8]),
                              transform=self.ax_info.transAxes, va="top", fontsize=8)

    def save(self, path: str | Path) -> None:
        """Write the current figure as a PNG of exactly figsize x dpi pixels."""
        try:
            self.figure.savefig(path, dpi=self.figure.dpi, format="png")
        except OSError as error:
            raise LogWriteError(f"could not write the live-view snapshot {path}: {error.strerror or error}") from error

    def close(self) -> None:
        """Leave an interactive window open for the user (hold() keeps it); free an offscreen figure."""
        if not self.interactive:
            self.closed = True

    def hold(self) -> None:
        """Block until the user closes the window, or presses Ctrl-C in the terminal (no-op offscreen or closed).

        Ctrl-C closes the window and raises KeyboardInterrupt within HOLD_POLL_S. Not plt.show(block=True):
        Tk's main loop runs Python's signal handlers only after its next X event, and under asyncio.run the
        first Ctrl-C only cancels the main task (blocked right here), so the terminal could never end the wait.
        """
        if not self.interactive or self.closed:
            return
        import matplotlib.pyplot as plt

        interrupted = False

        def on_sigint(_signum: int, _frame: object) -> None:
            nonlocal interrupted
            interrupted = True

        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None) or threading.current_thread() is not threading.main_thread():
            previous = None  # Ctrl-C is not ours to catch here: only closing the window ends the wait
        else:
            signal.signal(signal.SIGINT, on_sigint)
        try:
            while not self.closed and not interrupted:
                self.figure.canvas.start_event_loop(HOLD_POLL_S)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if interrupted:
            plt.close(self.figure)
            raise KeyboardInterrupt

    def stats(self) -> dict[str, float]:
        return {**self.pacer.stats(), "full_redraws": self.full_redraws}
