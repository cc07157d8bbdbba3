"""A rating tapped on the phone page during an emulated recording lands in the log, dated in the
recording, through the same pipeline as the samples (issue 16: 'RPE/pain entered through the web
page land in the log')."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from websockets.sync.client import connect

from bandlog.app.session import RecordRequest, record_stream
from bandlog.app.user_input import UserInput
from bandlog.core.meta import RecordingMeta
from bandlog.io.read import read_log
from bandlog.live import make_live_sink
from bandlog.live.web import WebView
from bandlog.sim import random_spec, simulate_session


def test_a_rating_from_the_page_lands_in_the_log(tmp_path: Path) -> None:
    user_input = UserInput()
    sink = make_live_sink(kind="web", quiet=True, on_rating=user_input.submit)
    (view,) = [v for v in sink.views if isinstance(v, WebView)]
    acks: list[dict[str, object]] = []

    def phone() -> None:
        time.sleep(1.0)  # the recording is running by then
        with connect(view.local_socket_url) as client:
            client.send(json.dumps({"rating": {"set": 1, "rpe": 6, "pain": 2}}))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not acks:
                message = json.loads(client.recv(timeout=10))
                if message["type"] == "ack":
                    acks.append(message)

    tapping = threading.Thread(target=phone, daemon=True)
    tapping.start()
    out = tmp_path / "rated.csv"
    motion = simulate_session(random_spec(2, n_sets=1, reps_per_set=3))
    request = RecordRequest(target="gdx-for", out_path=out, meta=RecordingMeta(leg="left"), duration_s=20.0, tare=False)
    result = asyncio.run(record_stream(request, [sink], motion=motion, speed=5.0, user_input=user_input))
    tapping.join(timeout=15)
    assert acks and user_input.accepted == 1 and user_input.refused == 0
    (rating,) = read_log(out).ratings
    assert (rating.set_number, rating.rpe, rating.pain) == (1, 6, 2)
    assert 0.0 < rating.t_s < 20.0 and list(result.ratings) == [rating]
