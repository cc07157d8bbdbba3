"""The matplotlib live window on a real X screen (Xvfb), read back from the screen, not from the canvas.

`bandlog replay --view window` runs as a user starts it (a DISPLAY, no MPLBACKEND), so matplotlib picks
its GUI backend (Tk). The X root window is grabbed with Pillow's ImageGrab (XCB GetImage on the root) and
checked for the colours the view draws: the eccentric shading over the plots and the timer box in the
side panel while the set plays, then the end-of-set view with one shaded band per timed eccentric.
Keys go to the window through xdotool (XTEST), as from a keyboard. Screenshots land in /tmp/e_shots.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image, ImageGrab

from bandlog.app.api import analyze, read_log
from bandlog.core.events import EccentricStarted
from bandlog.core.samples import SampleBlock
from bandlog.live.model import LiveModel, SpanOutcome, TimerState
from bandlog.live.mpl_view import FORCE_COLOUR, SPAN_ALPHA, SPAN_COLOURS, SUMMARY_BOX_COLOUR, TIMER_COLOURS, MplView

SHOTS = Path("/tmp/e_shots")
PLOT_SHARE = 0.70
"""The plots fill the left 70 % of the figure; the side panel (rep count, timer, last rep) the rest."""
TOLERANCE = 4
TIMEOUT_S = 25.0
BOX_PIXELS = 500
"""A timer box is about 300 x 35 pixels; a stray antialiased pixel of the same colour is not one."""


def rgb8(colour: str, alpha: float = 1.0) -> np.ndarray:
    """A matplotlib colour as 0-255 RGB, blended over white at `alpha` (how a translucent span looks)."""
    return np.round(255 * (1 - alpha) + 255 * alpha * np.array(to_rgb(colour)))


SPAN_SHADES = [rgb8(SPAN_COLOURS[o], SPAN_ALPHA) for o in (SpanOutcome.PENDING, SpanOutcome.COMPLETED)]
LIVE_TIMER = [rgb8(TIMER_COLOURS[s]) for s in TimerState if s is not TimerState.IDLE]


def count(image: np.ndarray, colour: np.ndarray) -> int:
    return int(np.all(np.abs(image.astype(int) - colour) <= TOLERANCE, axis=-1).sum())


def shaded(plots: np.ndarray) -> np.ndarray:
    return np.any([np.all(np.abs(plots.astype(int) - c) <= TOLERANCE, axis=-1) for c in SPAN_SHADES], axis=0)


def bands(plots: np.ndarray) -> int:
    """Runs of shaded pixel columns over the force plot (the top 40 %): one per eccentric.

    A column counts as shaded when most of it is (the force curve crosses the shading), and runs a
    vertical grid line (1-2 pixels) splits are one band."""
    columns = np.flatnonzero(shaded(plots[: plots.shape[0] * 4 // 10]).mean(axis=0) > 0.5)
    return 0 if columns.shape[0] == 0 else 1 + int(np.count_nonzero(np.diff(columns) > 3))


class Screen:
    """The X screen of one display; the window is its non-black part (Xvfb -br, no window manager, no frame)."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.shots = 0

    def grab(self) -> Image.Image:
        self.shots += 1
        return ImageGrab.grab(xdisplay=self.display)

    def parts(self, shot: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
        """(plots, side panel) pixels of the window, or None while no window is mapped."""
        box = shot.getbbox()
        if box is None:
            return None
        window = np.asarray(shot.crop(box).convert("RGB"))
        split = int(window.shape[1] * PLOT_SHARE)
        return window[:, :split], window[:, split:]

    def wait_for(self, child: subprocess.Popen[str], what: str, seen: Callable[[np.ndarray, np.ndarray], bool]) -> Image.Image:
        """The first screenshot where `seen(plots, panel)` holds; fails after TIMEOUT_S or if bandlog exits."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and child.poll() is None:
            shot = self.grab()
            parts = self.parts(shot)
            if parts is not None and seen(*parts):
                return shot
            time.sleep(0.1)
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"{what} never appeared in {self.shots} screenshots (bandlog exit {child.returncode}): {err[-500:]}")

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env={"DISPLAY": self.display, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()


def save(shot: Image.Image, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot.save(SHOTS / name)


def live_frame(plots: np.ndarray, panel: np.ndarray) -> bool:
    """A completed eccentric shaded over the plots, and the timer box lit in the side panel."""
    completed = rgb8(SPAN_COLOURS[SpanOutcome.COMPLETED], SPAN_ALPHA)
    return count(plots, completed) > 2000 and sum(count(panel, c) for c in LIVE_TIMER) > BOX_PIXELS


def final_view(_plots: np.ndarray, panel: np.ndarray) -> bool:
    return count(panel, rgb8(SUMMARY_BOX_COLOUR)) > BOX_PIXELS


def start_replay(log: Path, display: str, env: dict[str, str], *pace: str) -> subprocess.Popen[str]:
    """`bandlog replay LOG --view window` with SIGINT at its default, as for a command typed in a terminal."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:  # a test run started in the background ignores Ctrl-C, and its children would too
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen([sys.executable, "-m", "bandlog", "replay", str(log), "--view", "window", "--quiet", *pace],
                                env={**env, "DISPLAY": display}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="module")
def eccentrics(sim_log: Path) -> int:
    return int(analyze(read_log(sim_log)).summary["eccentrics"])


def test_live_window_shows_shaded_eccentrics_and_the_timer_then_q_closes_it(
        xvfb_display: str, sim_log: Path, eccentrics: int, user_env: dict[str, str]) -> None:
    screen = Screen(xvfb_display)
    child = start_replay(sim_log, xvfb_display, user_env, "--speed", "6")
    try:
        live = screen.wait_for(child, "a live frame with a shaded, completed eccentric and a coloured timer", live_frame)
        save(live, "window_live.png")
        assert screen.xdotool("search", "--name", "^bandlog live$"), "a window titled 'bandlog live' is mapped"
        left, top, width, height = live.getbbox()
        assert (left, top) == (0, 0) and width >= 1000 and height >= 550, "the 11 x 6 in figure at 100 dpi and its toolbar"
        plots, _panel = screen.parts(live)  # type: ignore[misc]
        assert count(plots, rgb8(FORCE_COLOUR)) > 200, "the force line is drawn"
        assert (plots.sum(axis=-1) > 700).mean() > 0.5, "the plots are mostly white paper, not blank or black"

        final = screen.wait_for(child, "the end-of-set view", final_view)
        save(final, "window_final.png")
        plots, _ = screen.parts(final)  # type: ignore[misc]
        assert bands(plots) == eccentrics, "one shaded band per timed eccentric"

        screen.xdotool("mousemove", str(width // 2), str(height // 2), "key", "q")  # matplotlib's 'quit' key
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert f"{sim_log.name}, set 1 of 1" in out, "closing the window lets the replay print its reps"
    assert screen.grab().getbbox() is None, "the window is gone from the screen"


def test_ctrl_c_in_the_terminal_closes_the_held_window_at_once(
        xvfb_display: str, sim_log: Path, user_env: dict[str, str]) -> None:
    screen = Screen(xvfb_display)
    child = start_replay(sim_log, xvfb_display, user_env, "--fast")
    try:
        save(screen.wait_for(child, "the end-of-set view", final_view), "window_held.png")
        child.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        sent_s = time.monotonic()
        while screen.grab().getbbox() is not None and time.monotonic() - sent_s < 5.0:
            time.sleep(0.02)
        gone_s = time.monotonic() - sent_s
        _, err = child.communicate(timeout=10)
        took_s = time.monotonic() - sent_s
    finally:
        child.kill()
    assert child.returncode == 130 and err.strip().splitlines()[-1] == "bandlog: interrupted", err
    assert "Traceback" not in err
    assert gone_s < 1.0, f"Ctrl-C took {gone_s:.2f} s to close the held window"
    # then Python shuts down (matplotlib, scipy: ~0.5 s here, up to 1.6 s on a loaded machine)
    assert took_s < 3.0, f"Ctrl-C took {took_s:.2f} s to end the program"


def test_the_timer_box_stays_inside_the_window_at_its_longest() -> None:
    """'eccentric: 99.9 s / target 10.0 s' ran 11 pixels off the figure's right edge at 12.5 pt; on the Xvfb
    screen even '1.2 s / target 3.0 s' ended 5 pixels from it."""
    model = LiveModel(target_ecc_s=10.0)
    model.add_samples(SampleBlock(t_s=np.array([0.0]), force_n=np.zeros(1)))
    model.add_events([EccentricStarted(t_s=0.0, detected_at_s=0.2)])
    model.add_samples(SampleBlock(t_s=np.array([99.9]), force_n=np.zeros(1)))
    view = MplView(model)
    view.draw_live()
    box = view.timer_text.get_bbox_patch().get_window_extent(view.figure.canvas.get_renderer())
    assert view.timer_text.get_text() == "eccentric: 99.9 s / target 10.0 s"
    assert view.figure.bbox.x0 <= box.x0 and box.x1 <= view.figure.bbox.x1, (box, view.figure.bbox)
