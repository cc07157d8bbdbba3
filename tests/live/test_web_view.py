"""The web view's server with a Python WebSocket client: files, frames, tokens, ratings, shutdown.

No browser here (tests/live/test_web_browser.py has Chromium); these talk HTTP and WebSocket to the
real server on 127.0.0.1, the way a page does.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from bench_loader import load_bench
from live_simset import run_set
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from bandlog.app.api import read_log
from bandlog.core.errors import ConfigError, LogWriteError
from bandlog.live import make_live_sink
from bandlog.live.model import LiveModel
from bandlog.live.sink import LiveSink
from bandlog.live.web import WebView
from bandlog.live.web_server import ENDED_REASON

STATIC = resources.files("bandlog.live").joinpath("web_static")


def get(view: WebView, path: str, host: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    """A raw GET (the path sent exactly as given, no client-side normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", view.server.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{view.server.port}")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, {k.lower(): v for k, v in response.getheaders()}


@pytest.fixture
def web() -> Iterator[tuple[WebView, LiveSink]]:
    model = LiveModel()
    view = WebView(model)
    sink = LiveSink(model, [view])
    yield view, sink
    sink.close()


class Collector(threading.Thread):
    """A page in a thread: every message until the server closes the socket."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = connect(url)
        self.messages: list[dict[str, Any]] = []
        self.close_reason: str | None = None
        self.close_code: int | None = None

    def run(self) -> None:
        with self.client:
            for text in self.client:
                self.messages.append(json.loads(text))
        self.close_code = self.client.close_code
        self.close_reason = self.client.close_reason


# --- files ---


def test_the_page_and_its_two_assets_are_served_from_package_data(web: tuple[WebView, LiveSink]) -> None:
    view, _ = web
    for path, name, kind in (("/", "index.html", "text/html"), ("/app.js", "app.js", "text/javascript"),
                             ("/style.css", "style.css", "text/css")):
        status, body, headers = get(view, path)
        assert status == 200, path
        assert headers["content-type"].startswith(kind)
        assert "default-src 'none'" in headers["content-security-policy"]
        expected = STATIC.joinpath(name).read_bytes()
        assert body == expected.replace(b"__QUERY__", b"")


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/web_static/app.js", "/%2e%2e/web.py", "/app.js/../web.py",
                                  "/etc/passwd", "//etc/passwd", "/web.py", "/index.html/", "/..%2fweb_server.py"])
def test_nothing_outside_the_three_files_is_served(web: tuple[WebView, LiveSink], path: str) -> None:
    status, body, _ = get(web[0], path)
    assert status == 404
    assert b"import" not in body and b"root:" not in body


def test_the_page_loads_nothing_from_the_internet() -> None:
    for name in ("index.html", "app.js", "style.css"):
        text = STATIC.joinpath(name).read_text()
        assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text, name


# --- frames ---


def test_frames_carry_every_sample_and_the_spans_of_a_replayed_simulated_log(tmp_path: Path) -> None:
    log = read_log(load_bench("web_latency").simulated_log(tmp_path, seconds=40.0))
    sink = make_live_sink(kind="web", quiet=True, target_ecc_s=3.0)
    view: Any = sink.views[0]
    page = Collector(view.local_socket_url)
    page.start()
    from bandlog.app.api import run_set as replay_set

    result = asyncio.run(replay_set(log, 0, 3.0, speed=10.0, sinks=[sink], block_s=0.05))
    page.join(timeout=10)
    frames = [m for m in page.messages if m["type"] == "frame"]
    assert page.close_code == 1001 and page.close_reason == ENDED_REASON
    # every force sample exactly once, in order, across the deltas
    sent_t = [t for f in frames for t in f["force"]["t"]]
    assert sent_t == [round(float(t), 3) for t in log.sets()[0].t_s]
    knee_t = [t for f in frames for t in f["knee"]["t"]]
    assert len(knee_t) > 0.9 * len(sent_t) and knee_t == sorted(knee_t)
    # at most ~20 frames a second (4 s of replay at 10x), the last one the end of the set
    assert len(frames) <= 20 * 4 * 1.2 + 2
    state: dict[str, Any] = {}
    for f in frames:
        state.update(f["state"])
    assert state["ended"] is True and state["reps"] == len(result.reps) >= 3
    assert state["summary"]["reps"] == len(result.reps)
    # the shaded spans are the model's, in the last 20 s
    model = sink.model
    assert state["spans"] == [[round(s.start_s, 3), round(s.end_s, 3), s.outcome.value] for s in model.spans_in_window()]
    assert {s[2] for s in state["spans"]} <= {"completed", "rejected", "no_eccentric", "pending"}
    assert len(state["spans"]) >= 2
    every_span = [s for f in frames for s in f["state"].get("spans", [])]
    assert any(s[1] is None for s in every_span)  # an open eccentric was shown while it ran
    assert state["palette"]["spans"]["completed"] == "#009e73"
    assert state["coach"] == {"set": None, "sets_planned": None, "rep": None, "reps_planned": None, "leg": None,
                              "resting": None, "rest_left_s": None, "rate_set": None}
    # each frame carries only what changed: the palette once
    assert sum("palette" in f["state"] for f in frames) == 1
    assert all(f["arrived_ms"] is None or f["arrived_ms"][0] <= f["arrived_ms"][1] <= f["sent_ms"] for f in frames)


def test_a_page_that_connects_late_gets_the_last_20_s_in_one_full_frame(web: tuple[WebView, LiveSink]) -> None:
    view, sink = web
    run_set(sink, n_reps=5, finish=False, until_s=22.0)
    view.draw_final()  # send what the pacer held back
    with connect(view.local_socket_url) as client:
        first = json.loads(client.recv(timeout=5))
    assert first["full"] is True
    t = first["force"]["t"]
    assert t[0] >= 22.0 - 20.0 - 0.01 and t[-1] == pytest.approx(21.99)
    assert first["state"]["reps"] == 3
    assert first["state"]["timer"]["state"] == "running"
    assert [s[:2] for s in first["state"]["spans"]] == [[3.0, 6.0], [9.0, 12.0], [15.0, 18.0], [21.0, None]]


def test_frames_are_json_without_nan_across_a_gap() -> None:
    from bandlog.core.pipeline import Gap

    model = LiveModel()
    view = WebView(model)
    sink = LiveSink(model, [view])
    try:
        run_set(sink, n_reps=1, finish=False, until_s=3.0)
        sink.on_gap(Gap(start_s=2.99, end_s=4.0))
        frame = view.builder.next_frame()
        json.dumps(frame, allow_nan=False)
        assert frame["force"]["v"][-1] is None  # the line breaks at the gap
    finally:
        sink.close()


# --- who may connect ---


def test_lan_mode_refuses_page_and_socket_without_the_token() -> None:
    view = WebView(LiveModel(), lan=True)
    try:
        token = view.token
        assert token and len(token) >= 20 and f"token={token}" in view.url
        for path in ("/", "/app.js", "/style.css", "/?token=wrong", f"/?token={token[:-1]}"):
            assert get(view, path)[0] == 403, path
        status, body, _ = get(view, f"/?token={token}")
        assert status == 200 and f"app.js?token={token}".encode() in body and f"style.css?token={token}".encode() in body
        assert get(view, f"/app.js?token={token}")[0] == 200
        port = view.server.port
        for url in (f"ws://127.0.0.1:{port}/ws", f"ws://127.0.0.1:{port}/ws?token=nope"):
            with pytest.raises(InvalidStatus) as refused:
                connect(url)
            assert refused.value.response.status_code == 403
        with connect(view.local_socket_url) as client:
            client.send(json.dumps({"rating": {"set": 1, "rpe": 5, "pain": None}}))
        assert view.server.requests_forbidden == 7
    finally:
        view.close()


def test_localhost_mode_refuses_another_host_name_and_another_sites_socket(web: tuple[WebView, LiveSink]) -> None:
    view, _ = web
    assert get(view, "/", host="attacker.example:80")[0] == 403  # DNS rebinding
    assert get(view, "/", host=f"localhost:{view.server.port}")[0] == 200
    with pytest.raises(InvalidStatus) as refused:
        connect(view.local_socket_url, origin="http://attacker.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


# --- ratings ---


def test_a_valid_rating_reaches_on_rating_on_the_pipeline_thread_and_is_confirmed() -> None:
    calls: list[tuple[int, int | None, int | None, str]] = []
    model = LiveModel()
    view = WebView(model, on_rating=lambda s, r, p: calls.append((s, r, p, threading.current_thread().name)))
    try:
        with connect(view.local_socket_url) as client:
            client.send(json.dumps({"rating": {"set": 2, "rpe": 7, "pain": 0}}))
            replies: list[dict[str, Any]] = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (
                    any(m["type"] == "ack" for m in replies)
                    and any(m["state"].get("ratings") for m in replies if m["type"] == "frame")):
                view.frame()  # the pipeline's callbacks deliver queued ratings
                with contextlib.suppress(TimeoutError):
                    replies.append(json.loads(client.recv(timeout=0.02)))
        assert calls == [(2, 7, 0, threading.current_thread().name)]
        ack = next(m for m in replies if m["type"] == "ack")
        assert ack["rating"] == {"set": 2, "rpe": 7, "pain": 0}
        shown = [m["state"]["ratings"] for m in replies if m["type"] == "frame" and m["state"].get("ratings")]
        assert shown == [{"2": {"rpe": 7, "pain": 0}}]  # every page shows it, once
    finally:
        view.close()


INVALID = [
    "hello",
    "[]",
    json.dumps({"rating": "7"}),
    json.dumps({"rating": {"set": 1, "rpe": 11, "pain": 0}}),
    json.dumps({"rating": {"set": 1, "rpe": -1, "pain": 0}}),
    json.dumps({"rating": {"set": 1, "rpe": 7.5, "pain": 0}}),
    json.dumps({"rating": {"set": 1, "rpe": True, "pain": 0}}),
    json.dumps({"rating": {"set": 0, "rpe": 7, "pain": 0}}),
    json.dumps({"rating": {"set": 1, "rpe": None, "pain": None}}),
    json.dumps({"rating": {"set": 1, "rpe": 7}}),
    json.dumps({"rating": {"set": 1, "rpe": 7, "pain": 0, "note": "x"}}),
    json.dumps({"rating": {"set": 1, "rpe": 7, "pain": 0}, "command": "stop"}),
    json.dumps({"stop": True}),
]


def test_invalid_messages_are_refused_counted_and_never_reach_on_rating(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bandlog")  # an earlier cli.main() may have raised the root level
    calls: list[tuple[int, int | None, int | None]] = []
    view = WebView(LiveModel(), on_rating=lambda s, r, p: calls.append((s, r, p)))
    try:
        with connect(view.local_socket_url) as client:
            for message in INVALID:
                client.send(message)
                reply = json.loads(client.recv(timeout=5))
                assert reply["type"] == "refused" and reply["reason"], message
            client.send(b"\x00binary")
            assert json.loads(client.recv(timeout=5))["type"] == "refused"
        with connect(view.local_socket_url) as client:  # too long: the socket is closed (1009)
            client.send(json.dumps({"rating": {"set": 1, "rpe": 1, "pain": 1}, "pad": "x" * 5000}))
            with pytest.raises(ConnectionClosed):
                client.recv(timeout=5)
        view.frame()
        deadline = time.monotonic() + 5
        while view.server.messages_refused < len(INVALID) + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert view.server.messages_refused == len(INVALID) + 2
        assert calls == []
        assert "page message refused" in caplog.text
    finally:
        view.close()
    assert view.stats()["messages_refused"] == len(INVALID) + 2


def test_a_rating_the_store_refuses_is_answered_with_its_reason() -> None:
    def refuse(set_number: int, rpe: int | None, pain: int | None) -> None:
        raise LogWriteError("the disk is full")

    view = WebView(LiveModel(), on_rating=refuse)
    try:
        with connect(view.local_socket_url) as client:
            client.send(json.dumps({"rating": {"set": 1, "rpe": 3, "pain": None}}))
            time.sleep(0.2)
            view.frame()
            reply = json.loads(client.recv(timeout=5))
        assert reply == {"type": "refused", "reason": "the disk is full"}
        assert view.ratings == {} and view.ratings_failed == 1
    finally:
        view.close()


# --- lifecycle ---


def test_close_sends_the_last_frame_then_stops_the_server(web: tuple[WebView, LiveSink]) -> None:
    view, sink = web
    page = Collector(view.local_socket_url)
    page.start()
    run_set(sink, n_reps=2, period_s=4.0)  # finish() ends the set and closes the sink
    page.join(timeout=10)
    assert not page.is_alive() and page.close_code == 1001 and page.close_reason == ENDED_REASON
    assert page.messages[-1]["state"]["ended"] is True
    assert not view.server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", view.server.port), timeout=2).close()


def test_the_pipeline_never_waits_for_the_server(web: tuple[WebView, LiveSink]) -> None:
    """Even with the server's loop stuck for 2 s, frames are handed over at once."""
    view, sink = web
    loop = view.server._loop
    assert loop is not None
    loop.call_soon_threadsafe(time.sleep, 2.0)
    start = time.perf_counter()
    run_set(sink, n_reps=1, period_s=4.0, finish=False)
    view.draw_final()
    assert time.perf_counter() - start < 1.0


def test_a_taken_port_is_one_sentence() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1 port {port}.*--web-port"):
            make_live_sink(kind="web", quiet=True, web_port=port)


def test_web_options_need_the_web_view() -> None:
    with pytest.raises(ConfigError, match="--view web"):
        make_live_sink(kind="none", web_lan=True)
    with pytest.raises(ConfigError, match="port"):
        make_live_sink(kind="web", web_port=70000)


def test_replay_with_view_web_prints_the_url_and_serves_the_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bandlog.cli import main

    path = load_bench("web_latency").simulated_log(tmp_path, seconds=20.0)
    assert main(["replay", str(path), "--fast", "--view", "web", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "live view: open http://127.0.0.1:" in out
    assert main(["replay", str(path), "--fast", "--view", "web", "--web-lan", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "?token=" in out and "█" in out  # the URL with its token, and its QR code


def test_a_page_that_stops_reading_is_dropped_not_waited_for(web: tuple[WebView, LiveSink], monkeypatch: pytest.MonkeyPatch) -> None:
    from bandlog.live import web_server

    monkeypatch.setattr(web_server, "MAX_CLIENT_BUFFER_BYTES", 1 << 16)
    view, _ = web
    with connect(view.local_socket_url, max_queue=1) as stalled:  # reads one message, then nothing
        big = {"type": "frame", "seq": 1, "now_s": 1.0, "window_s": 20.0, "arrived_ms": None, "sent_ms": None, "state": {},
               "force": {"t": [1.0] * 50_000, "v": [12.345] * 50_000}, "knee": {"t": [], "v": []}}
        start = time.perf_counter()
        for seq in range(60):  # ~40 MB: far past what the kernel's socket buffers hold
            view.server.publish({**big, "seq": seq + 1})
        assert time.perf_counter() - start < 0.5  # handing over never waits for the page
        deadline = time.monotonic() + 20
        while view.server.slow_clients_dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert view.server.slow_clients_dropped == 1
        assert view.server.stats()["clients_now"] == 0
        with pytest.raises(ConnectionClosed):
            while True:
                stalled.recv(timeout=5)
