"""The web view in a real headless Chromium: what the page draws, a tap that rates a set, reconnecting,
and a short sample-to-screen latency run (the full one is bench/web_latency.py).

Chromium is Debian's `chromium` package: installed here once per session when missing (as root with
apt-get, as tests/ui installs Xvfb and tmux), otherwise these tests skip and say why. The page is
driven over the DevTools protocol (bench/chromium.py), because `--screenshot` and `--dump-dom`
capture at the load event, before the WebSocket delivered anything.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from bench_loader import load_bench
from live_simset import run_set
from matplotlib.colors import to_rgb
from PIL import Image

from bandlog.core.pipeline import Pipeline
from bandlog.live.model import LiveModel, SpanOutcome, TimerState
from bandlog.live.mpl_view import SPAN_ALPHA, SPAN_COLOURS, TIMER_COLOURS
from bandlog.live.sink import LiveSink
from bandlog.live.web import WebView

TOLERANCE = 6
PANEL_RGB = np.array([255, 255, 255])
"""The plot panel's background in the light scheme (style.css --panel)."""


def _ui_conftest() -> ModuleType:
    """tests/ui's Debian installer (ensure_debian_packages), shared rather than copied."""
    path = Path(__file__).resolve().parents[1] / "ui" / "conftest.py"
    spec = importlib.util.spec_from_file_location("bandlog_tests_ui_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = load_bench("chromium")
    if chromium.chromium_path() is None:
        problem = _ui_conftest().ensure_debian_packages(["chromium"])
        if problem or chromium.chromium_path() is None:
            pytest.skip(f"no headless Chromium: {problem or 'chromium still missing after apt-get'}")
    with chromium.Chromium() as running:
        yield running


def shade(colour: str) -> np.ndarray:
    """A span colour at the page's alpha over the light panel, as 0-255 RGB."""
    return np.round(PANEL_RGB * (1 - SPAN_ALPHA) + 255 * SPAN_ALPHA * np.array(to_rgb(colour)))


def matches(image: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    return np.all(np.abs(image[..., :3].astype(int) - rgb) <= TOLERANCE, axis=-1)


def bands(mask: np.ndarray, min_share: float = 0.3, max_gap: int = 3) -> int:
    """Runs of pixel columns where a good share of the column has the colour (a shaded span each);
    a grid line (1-2 pixels) through a span does not split it."""
    columns = np.flatnonzero(mask.mean(axis=0) >= min_share * mask.any(axis=1).mean())
    return 0 if columns.size == 0 else 1 + int((np.diff(columns) > max_gap + 1).sum())


@pytest.fixture
def paused_mid_eccentric() -> Iterator[tuple[WebView, LiveSink]]:
    """A replay stopped at 22 s: 3 reps done, the 4th eccentric open since 21 s (timer 1.0 s of 3.0 s)."""
    model = LiveModel()
    ratings: list[tuple[int, int | None, int | None]] = []
    view = WebView(model, on_rating=lambda s, r, p: ratings.append((s, r, p)))
    view.ratings_seen = ratings  # type: ignore[attr-defined]
    sink = LiveSink(model, [view])
    run_set(sink, n_reps=5, finish=False, until_s=22.0)
    view.draw_final()  # what the pacer held back
    yield view, sink
    sink.close()


def test_screenshot_shows_the_shaded_eccentrics_and_the_running_timer(browser: Any, paused_mid_eccentric: tuple[WebView, LiveSink],
                                                                        tmp_path: Path) -> None:
    view, _ = paused_mid_eccentric
    page = browser.open(view.local_url)
    page.wait_for("document.getElementById('reps').textContent === '3'")
    shot = page.screenshot(tmp_path / "web_view.png")
    html = page.dom()
    image = np.asarray(Image.open(shot).convert("RGB"))
    canvas = page.evaluate("(r => [r.left, r.top, r.right, r.bottom])(document.getElementById('plot').getBoundingClientRect())")
    left, top, right, bottom = (int(round(v)) for v in canvas)
    plot = image[top:bottom, left:right]
    completed = matches(plot, shade(SPAN_COLOURS[SpanOutcome.COMPLETED]))
    pending = matches(plot, shade(SPAN_COLOURS[SpanOutcome.PENDING]))
    assert bands(completed) == 3  # eccentrics 3-6, 9-12, 15-18 s
    assert bands(pending) == 1  # the open one since 21 s, at the right edge
    assert np.flatnonzero(pending.any(axis=0)).min() > 0.9 * plot.shape[1]
    timer_box = matches(image, np.round(255 * np.array(to_rgb(TIMER_COLOURS[TimerState.RUNNING]))))
    assert timer_box.sum() > 5000  # the big orange box: running, short of the target
    assert 'id="timer-value" class="timer-value">1.0 s<' in html
    assert "target 3.0 s" in html
    assert 'id="reps" class="big">3<' in html
    assert "last rep #3: 3.0 s" in html
    assert "streaming | 100 samples/s" in html


def test_a_tap_on_the_page_rates_the_set(browser: Any, paused_mid_eccentric: tuple[WebView, LiveSink]) -> None:
    view, _ = paused_mid_eccentric
    page = browser.open(view.local_url)
    page.wait_for("view.socket && view.socket.readyState === 1 && document.getElementById('reps').textContent === '3'")
    page.evaluate("document.querySelectorAll('#rpe button')[7].click(); document.querySelectorAll('#pain button')[2].click();"
                  "document.getElementById('send').click()")
    deadline = time.monotonic() + 10
    while not view.ratings_seen and time.monotonic() < deadline:  # type: ignore[attr-defined]
        view.frame()  # the pipeline's next callback hands the rating over
        time.sleep(0.02)
    assert view.ratings_seen == [(1, 7, 2)]  # type: ignore[attr-defined]
    status = page.wait_for("(s => s.startsWith('✓') && s)(document.getElementById('rating-status').textContent)")
    assert status == "✓ set 1 saved: RPE 7, pain 2"


def test_the_page_reconnects_by_itself_and_says_when_the_recording_ended(browser: Any) -> None:
    model = LiveModel()
    view = WebView(model)
    sink = LiveSink(model, [view])
    pipeline: Pipeline = run_set(sink, n_reps=3, period_s=4.0, finish=False)
    view.draw_final()
    page = browser.open(view.local_url)
    page.wait_for("document.getElementById('reps').textContent === '3'")
    loop = view.server._loop
    assert loop is not None
    loop.call_soon_threadsafe(lambda: [c.transport.abort() for c in list(view.server._clients)])  # the Wi-Fi drops
    page.wait_for("!document.getElementById('banner').hidden")
    deadline = time.monotonic() + 10
    while view.server.clients_total < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.server.clients_total == 2
    page.wait_for("document.getElementById('banner').hidden && document.getElementById('reps').textContent === '3'")
    pipeline.finish()  # end of set: final frame, then the server closes
    text = page.wait_for("(b => !b.hidden && b.textContent)(document.getElementById('banner'))")
    assert text == "recording ended"
    summary = page.wait_for("(s => !s.hidden && s.textContent)(document.getElementById('summary'))")
    assert summary.startswith("set done: 3 reps · eccentric TUT 6.0 s")


def test_sample_to_screen_latency_subset(browser: Any) -> None:
    """3 s of the bench: P95 within the issue's 150 ms at 100 Hz (the full bench prints ~50 ms here)."""
    result = load_bench("web_latency").measure(seconds=3.0, browser=browser)
    assert result["page_n"] >= 30  # ~20 frames/s were drawn
    assert result["page_p95_ms"] <= 150.0


def test_the_page_shows_the_set_tracker_and_rates_the_set_it_names(browser: Any) -> None:
    from bandlog.coach import CoachView, TrackerState

    model = LiveModel()
    view = WebView(model)
    sink = LiveSink(model, [view])
    try:
        run_set(sink, n_reps=2, period_s=4.0, finish=False)
        resting = CoachView(state=TrackerState.RESTING, set_number=2, sets_planned=3, reps_done=0, rep_in_progress=False,
                            reps_planned=8, leg_now="left", leg_next="right", rest_elapsed_s=78.8, rest_left_s=41.2,
                            control_lost={})
        sink.on_coach([], resting)  # what the pipeline hands every sink after a block, with a plan
        view.draw_final()
        page = browser.open(view.local_url)
        page.wait_for("!document.getElementById('coach').hidden")
        assert page.evaluate("document.getElementById('coach').textContent") == "next: set 2/3 · left leg"
        assert page.evaluate("document.getElementById('rest').textContent") == "rest: 42 s left"
        assert page.evaluate("document.getElementById('rate-set').textContent") == "1"
    finally:
        sink.close()


def test_without_a_tracker_the_rest_area_counts_from_the_last_rep(browser: Any) -> None:
    model = LiveModel()
    view = WebView(model)
    sink = LiveSink(model, [view])
    try:
        run_set(sink, n_reps=2, period_s=4.0, finish=False, until_s=14.0)  # last rep ended at 8 s (+0.2 s detection)
        view.draw_final()
        page = browser.open(view.local_url)
        text = page.wait_for("(r => !r.hidden && r.textContent)(document.getElementById('rest'))")
        assert text == "rest 6 s"
        assert page.evaluate("document.getElementById('coach').hidden") is True
    finally:
        sink.close()
