"""`record --raw` then `replay --raw` over the emulated link: every profile's samples come back as the live log has them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bandlog.app.session import RecordRequest, record_stream, replay_raw_capture
from bandlog.cli import main
from bandlog.core.meta import RecordingMeta
from bandlog.devices import registry
from bandlog.devices import witmotion as wm
from bandlog.emulate.faults import Faults
from bandlog.io.raw_capture import read_raw_capture
from bandlog.io.read import read_log
from bandlog.sim import random_spec, simulate_session
from bandlog.sources.raw_link import RawReplayMismatch

HOST_TIMED_SPEED = 1.0
"""A host-timed sensor's t_s is arrival time, which does not speed up with the emulated device clock."""
CHANNELS = ("t_s", "t_host_s", "force_n", "acc_ms2", "gyro_dps")


async def record_with_raw(tmp_path: Path, key: str, *, faults: Faults | None = None, duration_s: float = 2.0) -> tuple[Path, Path]:
    """A live recording of `key` over the emulated link into a log and a raw capture."""
    live, raw = tmp_path / "live.csv", tmp_path / "raw.jsonl"
    motion = simulate_session(random_spec(1, n_sets=1, target_ecc_s=3.0))
    request = RecordRequest(target=key, out_path=live, meta=RecordingMeta(leg="left", band="red"), duration_s=duration_s, raw_path=raw)
    await record_stream(request, motion=motion, speed=HOST_TIMED_SPEED if registry()[key].host_timed else 10.0, faults=faults)
    return live, raw


def assert_same_samples(live: Path, replayed: Path) -> None:
    a, b = read_log(live), read_log(replayed)
    assert a.meta == b.meta and a.gaps == b.gaps
    assert len(a.sets()) == len(b.sets()) == 1
    (x,), (y,) = a.sets(), b.sets()
    assert len(x) > 50
    for channel in CHANNELS:
        got, want = getattr(y, channel), getattr(x, channel)
        assert (got is None) == (want is None), channel
        if want is None:
            continue
        np.testing.assert_array_equal(got, want, err_msg=channel)


@pytest.mark.parametrize("key", sorted(registry()))
async def test_raw_replay_gives_the_live_log_sample_for_sample(key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wm, "COMMAND_GAP_S", 0.0)
    live, raw = await record_with_raw(tmp_path, key, duration_s=1.5)
    capture = read_raw_capture(raw)
    assert capture.header.profile == key and capture.header.meta.band == "red"
    assert [e.kind for e in capture.events].count("connect") == 1
    assert sum(e.kind == "notify" for e in capture.events) > 20
    if key == "pasco-force-accel":  # it dates samples by the host clock: its readings are captured too
        assert any(e.kind == "clock" for e in capture.events) and any(e.clock_s is not None for e in capture.events)
    result = await replay_raw_capture(capture, out_path=tmp_path / "replayed.csv")
    assert result.samples_total == len(read_log(live).sets()[0])
    assert_same_samples(live, tmp_path / "replayed.csv")


@pytest.mark.parametrize("key", ["progressor", "pasco-force-accel"])
async def test_a_reconnect_replays_with_its_gap(key: str, tmp_path: Path) -> None:
    # the Progressor runs 10x faster than real time: 3 s left it 0.2 s of wall time to reconnect in and
    # 8 s 0.7 s, which a busy machine still missed now and then (one connect; the reconnect backs off
    # 0, 0.2, 0.5 and 1 s); 30 s leaves 2.9 s
    live, raw = await record_with_raw(tmp_path, key, faults=Faults(disconnect_at_s=(1.0,)), duration_s=3.0 if registry()[key].host_timed else 30.0)
    capture = read_raw_capture(raw)
    assert [e.kind for e in capture.events].count("connect") == 2
    assert any(e.kind == "fail" and e.op == "notify" and e.error == "ConnectionLostError" for e in capture.events)
    await replay_raw_capture(capture, out_path=tmp_path / "replayed.csv")
    assert len(read_log(live).gaps) == 1
    assert_same_samples(live, tmp_path / "replayed.csv")


async def test_pasco_replies_lost_on_the_way_replay_as_they_ran(tmp_path: Path) -> None:
    """Lost replies make PASCO's poller time out and ask again: the replay takes the same turns."""
    # 4 s: each lost reply costs the poller a timeout, and the twin runs in real time (emulate.stack.twin_speed)
    live, raw = await record_with_raw(tmp_path, "pasco-force-accel", faults=Faults(drop_fraction=0.05, seed=3), duration_s=4.0)
    result = await replay_raw_capture(read_raw_capture(raw), out_path=tmp_path / "replayed.csv")
    assert result.link is not None and result.link.dropped_packets > 0
    assert_same_samples(live, tmp_path / "replayed.csv")


async def test_a_conversation_that_changed_is_refused(tmp_path: Path) -> None:
    _, raw = await record_with_raw(tmp_path, "progressor", duration_s=0.5)
    lines = raw.read_text(encoding="utf-8").splitlines()
    first_write = next(i for i, line in enumerate(lines) if '"ev":"write"' in line)
    event = json.loads(lines[first_write])
    lines[first_write] = json.dumps({**event, "hex": "ff" + event["hex"]})
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RawReplayMismatch, match="the conversation changed since the capture"):
        await replay_raw_capture(read_raw_capture(raw))


def test_cli_record_and_replay_write_the_same_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live, raw, replayed = tmp_path / "live.csv", tmp_path / "raw.jsonl", tmp_path / "replayed.csv"
    common = ["--data-dir", str(tmp_path), "--view", "none"]
    assert main(["record", *common, "--device", "bandlog-open", "--emulate", "--speed", "10", "--duration", "1.5",
                 "--leg", "right", "--out", str(live), "--raw", str(raw)]) == 0
    assert f"raw capture written to {raw}" in capsys.readouterr().out
    assert main(["replay", *common, "--raw", str(raw), "--out", str(replayed)]) == 0
    assert f"log written to {replayed}" in capsys.readouterr().out
    assert replayed.read_bytes() == live.read_bytes()  # header, rows and link line alike


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["record", "--device", "gdx-for", "--imu", "witmotion", "--emulate", "--raw", "{tmp}/r.jsonl"], "a paired recording"),
        (["record", "--device", "gdx-for", "--emulate", "--out", "{tmp}/r.csv", "--raw", "{tmp}/r.csv"], "is the log itself"),
        (["replay", "{tmp}/x.csv", "--out", "{tmp}/y.csv"], "add --raw"),
        (["record", "--device", "gdx-for", "--emulate", "--raw", "{tmp}"], "--raw {tmp} is a folder"),
        (["record", "--device", "gdx-for", "--emulate", "--raw", "{tmp}/kept.jsonl"], "cannot write the raw capture {tmp}/kept.jsonl: the file"),
        (["replay", "{tmp}/x.jsonl", "--raw", "--fast"], "--fast cannot be used with --raw"),
    ],
)
def test_impossible_raw_options_are_one_sentence(tmp_path: Path, args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kept.jsonl").write_text("an earlier capture", encoding="utf-8")
    argv = ["--data-dir", str(tmp_path), *(a.format(tmp=tmp_path) for a in args), "--view", "none"]
    assert main(argv) != 0
    assert words.format(tmp=tmp_path) in capsys.readouterr().err
    assert (tmp_path / "kept.jsonl").read_text(encoding="utf-8") == "an earlier capture"
    assert not (tmp_path / "r.jsonl").exists()

