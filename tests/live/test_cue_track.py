"""The cue track: a replayed session's cues rendered to a WAV and checked sample by sample, with no sound card.

Onsets are found in the written WAV (the first sample above 2.5 LSB after 5 ms of silence) and each
sound's kind from the dominant frequency of its first 30 ms, then compared with the cue events.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from live_simset import ScriptedAnalyzer, rejection, rep_events, run_set

from bandlog.app.api import read_log
from bandlog.app.api import run_set as replay_set
from bandlog.cli import main
from bandlog.core.errors import ConfigError
from bandlog.core.events import EccentricStarted, Event, RepCompleted
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import PeriodicMotion
from bandlog.core.pipeline import Pipeline, Sink, Tare
from bandlog.core.results import RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.schema import FRAME_CHANNELS
from bandlog.live import LiveSink, cue_player, cue_track, make_live_sink
from bandlog.live.cue import LiveCue
from bandlog.live.cue_player import BellPlayer, Mixer, SoundDevicePlayer, audio_output, open_player
from bandlog.live.cue_track import CUE_KINDS, SOUNDS, CueEvent, CueKind, read_wav, render_sound, render_track, write_cue_wav
from bandlog.live.model import LiveModel, SpanOutcome
from bandlog.sim import random_spec, simulate_session

TARGET_S = 4.0
END_LATENCY_S = 0.3
"""The detector's EccentricEnded comes within this of the end (tests/detect/test_detect_sim.py)."""


# --- finding sounds in a WAV, independently of how they were placed ---


def onsets(x: np.ndarray, rate_hz: int, threshold: float = 2.5 / 32767, gap_s: float = 0.005) -> np.ndarray:
    """Sample index of each sound's first sample above `threshold` after at least gap_s of silence."""
    active = np.flatnonzero(np.abs(x) > threshold)
    if active.size == 0:
        return active
    return active[np.r_[True, np.diff(active) > gap_s * rate_hz]]


def dominant_hz(x: np.ndarray, start: int, rate_hz: int, window_s: float = 0.030) -> float:
    segment = x[start:start + int(window_s * rate_hz)]
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size), n=1 << 15))
    return float(np.argmax(spectrum) * rate_hz / (1 << 15))


def kind_of(freq_hz: float) -> CueKind:
    return min(CUE_KINDS, key=lambda k: abs(SOUNDS[k][0].freq_hz - freq_hz))


# --- a simulated session written as a log, replayed through the real detector ---


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated 6-rep set (force and IMU, 100 Hz, target 4 s) written as a bandlog log."""
    block = simulate_session(random_spec(1, n_sets=1, reps_per_set=6, target_ecc_s=TARGET_S)).record(rate_hz=100.0)
    path = tmp_path_factory.mktemp("cues") / "set.csv"
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=TARGET_S, stream=StreamInfo(
        profile="sim", model="simulated", sample_rate_hz=100.0, channels=FRAME_CHANNELS)))
    sink.on_samples(block)
    sink.close()
    return path


class SetTracker(Sink):
    """Stands in for the set tracker and the failure rules: calls the explicit cues, as they would."""

    def __init__(self, cue: LiveCue) -> None:
        self.cue = cue
        self.now_s = 0.0

    def on_samples(self, block: SampleBlock) -> None:
        self.now_s = float(block.t_s[-1])

    def on_events(self, events: Sequence[Event]) -> None:
        done = [e for e in events if isinstance(e, RepCompleted)]
        if done and done[0].metrics.rep == 2:
            self.cue.control_lost(done[0].detected_at_s)

    def on_end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        self.cue.set_ended(self.now_s + 0.5)
        self.cue.rest_ended(self.now_s + 2.0)


@dataclass
class Replayed:
    sink: LiveSink
    cue: LiveCue
    reps: tuple[RepMetrics, ...]
    wav: Path


async def replay_with_cues(log_path: Path, wav: Path, explicit: bool, block_s: float = 0.1) -> Replayed:
    sink = make_live_sink("none", cue_wav=wav, target_ecc_s=TARGET_S)
    assert sink.cue is not None
    sinks: list[Sink] = [SetTracker(sink.cue), sink] if explicit else [sink]
    result = await replay_set(read_log(log_path), 0, TARGET_S, sinks=sinks, block_s=block_s)
    return Replayed(sink, sink.cue, result.reps, wav)


def replay_with_cues_now(log_path: Path, wav: Path, explicit: bool, block_s: float = 0.1) -> Replayed:
    return asyncio.run(replay_with_cues(log_path, wav, explicit, block_s))


@pytest.fixture(scope="module")
def replayed(sim_log: Path) -> Replayed:
    return replay_with_cues_now(sim_log, sim_log.with_name("cues.wav"), explicit=True)


def test_every_sound_starts_within_1_ms_of_its_cue_and_sounds_like_its_kind(replayed: Replayed) -> None:
    cue = replayed.cue
    kinds = cue.schedule.counts()
    assert kinds["tick"] > 10 and kinds["target"] >= 2
    assert kinds["set_end"] == kinds["rest_end"] == kinds["control_lost"] == 1
    x, rate_hz = read_wav(replayed.wav)
    assert rate_hz == 44100 and cue.wav is not None and cue.wav.samples == x.size and cue.wav.clipped_samples == 0
    origin_s, _ = cue.track_span()
    events = sorted(cue.schedule.events, key=lambda e: e.t_s)
    found = onsets(x, rate_hz)
    assert found.size == len(events)
    errors_s = found / rate_hz - np.array([e.t_s - origin_s for e in events])
    assert np.abs(errors_s).max() < 0.001  # the issue asks for 10 ms
    for start, event in zip(found, events):
        freq_hz = dominant_hz(x, start, rate_hz)
        assert kind_of(freq_hz) == event.kind and abs(freq_hz - SOUNDS[event.kind][0].freq_hz) < 15.0
    for event in events:  # and exactly at its sample: the quantised sound, silence just before
        sound = render_sound(event.kind)
        first = int(round((event.t_s - origin_s) * rate_hz))
        assert np.abs(x[first:first + sound.size] - sound).max() <= 1.0 / 32767 and x[first - 1] == 0.0


def test_one_beat_per_whole_second_of_each_detected_eccentric(replayed: Replayed) -> None:
    cue, model = replayed.cue, replayed.sink.model
    beats = [e for e in cue.schedule.events if e.kind in ("tick", "target")]
    spans = list(model.spans)
    assert sum(s.outcome is SpanOutcome.COMPLETED for s in spans) == 6
    late = accounted = 0
    for span, following in zip(spans, [*spans[1:], None]):
        assert span.end_s is not None
        until_s = following.start_s if following is not None else math.inf
        inside = [b for b in beats if span.start_s < b.t_s <= span.end_s]
        after = [b for b in beats if span.end_s < b.t_s < until_s]
        assert len(inside) == math.floor(span.end_s - span.start_s)
        assert [b.t_s - span.start_s for b in inside] == pytest.approx(list(range(1, len(inside) + 1)))
        assert all(b.t_s - span.end_s < END_LATENCY_S for b in after)
        late += len(after)
        accounted += len(inside) + len(after)
        reached = span.end_s - span.start_s >= TARGET_S
        assert [b.kind for b in inside].count("target") == int(reached)
    assert late == cue.schedule.after_end and accounted == len(beats)  # no beat outside an eccentric and its end's latency
    for rep in replayed.reps:  # every timed row of the rep table is one of these eccentrics
        if rep.ecc_start_s is not None:
            assert any(abs(s.start_s - rep.ecc_start_s) < 0.5 for s in spans)


def test_the_cli_replay_writes_the_same_track(sim_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = replay_with_cues_now(sim_log, tmp_path / "in_process.wav", explicit=False)
    out = tmp_path / "cli.wav"
    assert main(["replay", str(sim_log), "--fast", "--view", "none", "--cue-wav", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes() == expected.wav.read_bytes()
    if shutil.which("sox") is not None:  # an outside reader agrees on the format and length
        info = subprocess.run(["sox", "--i", str(out)], capture_output=True, text=True, check=True).stdout
        assert "Channels       : 1" in info and "Sample Rate    : 44100" in info and "16-bit" in info
        assert f"= {expected.cue.wav.samples if expected.cue.wav else -1} samples" in info


def test_the_detectors_cues_do_not_depend_on_the_block_size(sim_log: Path, replayed: Replayed, tmp_path: Path) -> None:
    """Live BLE notifications carry 12-50 ms of samples, a replay 0.1 s: the cue list must be the same."""
    beats = [(e.kind, e.t_s) for e in replayed.cue.schedule.events if e.kind in ("tick", "target")]
    fine = replay_with_cues_now(sim_log, tmp_path / "fine.wav", explicit=False, block_s=0.03)
    assert [(e.kind, e.t_s) for e in fine.cue.schedule.events] == beats


def test_ticks_equal_the_whole_seconds_of_the_rep_tables_eccentrics(tmp_path: Path) -> None:
    """With a scripted detector the live eccentrics are the rep table's: 4.5 s and 3.5 s eccentrics."""
    for period_s, whole_s in ((9.0, 4), (7.0, 3)):
        cue = LiveCue(wav_path=tmp_path / f"p{period_s}.wav")
        pipeline = run_set(LiveSink(LiveModel(), [], cue=cue), n_reps=3, period_s=period_s)
        assert [r.ecc_duration_s for r in pipeline.reps] == [period_s / 2] * 3
        kinds = cue.schedule.counts()
        assert kinds["tick"] + kinds["target"] == 3 * whole_s and kinds["target"] == 3  # the 3 s target is one beat
        x, rate_hz = read_wav(tmp_path / f"p{period_s}.wav")
        assert onsets(x, rate_hz).size == 3 * whole_s


def test_the_events_do_not_depend_on_how_the_stream_is_cut() -> None:
    lists = []
    for block_n in (1, 10, 37, 400):
        cue = LiveCue()
        run_set(LiveSink(LiveModel(), [], cue=cue), n_reps=3, period_s=9.0, block_n=block_n)
        lists.append([(e.kind, e.t_s) for e in cue.schedule.events])
    assert lists[0] and all(other == lists[0] for other in lists[1:])


def test_a_tare_search_holding_the_detector_back_changes_no_cue() -> None:
    """The pipeline holds blocks from the detector while a software tare is searched for, then lets them
    through at once: the cues decided then are those of a stream analysed as it came."""
    lists = []
    for tare_at_s in (None, 7.0, 20.0):  # no search; a search ending inside the first eccentric; one over 3 reps
        cue = LiveCue()
        motion = PeriodicMotion(period_s=9.0, peak_force_n=40.0)
        pipeline = Pipeline(ScriptedAnalyzer(rep_events(3, 9.0)), [LiveSink(LiveModel(), [], cue=cue)])
        pipeline.push(RecordingMeta())
        if tare_at_s is not None:
            pipeline.push(Tare(decided=False))
        for first in range(0, 2750, 10):
            t_s = np.arange(first, first + 10) / 100.0
            pipeline.push(motion.sample(t_s))
            if tare_at_s is not None and t_s[-1] < tare_at_s <= t_s[-1] + 0.1:
                pipeline.push(Tare(0.0))
        pipeline.finish()
        lists.append([(e.kind, e.t_s) for e in cue.schedule.events])
    assert len(lists[0]) == 3 * 4 and lists[1] == lists[0] and lists[2] == lists[0]


def test_beats_during_a_movement_that_was_not_a_rep_are_counted() -> None:
    cue = LiveCue()
    opened = EccentricStarted(t_s=40.0, detected_at_s=40.2)  # looked like an eccentric, then rejected at 43 s
    run_set(LiveSink(LiveModel(), [], cue=cue), n_reps=3, period_s=9.0, until_s=50.0,
            extra_events=(opened, rejection(42.0)))
    assert cue.schedule.beats_not_reps() == 2  # at 41 and 42 s
    assert "2 beat(s) during movements that proved not to be reps" in cue.summary()


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.played: list[str] = []
        self.closed = False

    def play(self, kind: CueKind) -> None:
        self.played.append(kind)

    def close(self) -> None:
        self.closed = True


def test_cues_due_together_are_all_kept_and_the_player_plays_the_most_important() -> None:
    recorder = Recorder()
    cue = LiveCue(recorder)
    run_set(LiveSink(LiveModel(), [], cue=cue), n_reps=1, period_s=9.0, block_n=900)  # the whole set in one block
    assert [e.kind for e in cue.schedule.events] == ["tick", "tick", "target", "tick"]
    assert recorder.played == ["target"] and cue.unplayed == 3 and recorder.closed
    assert "3 not played live" in cue.summary()
    cue.set_ended(20.0)
    assert recorder.played[-1] == "set_end" and cue.schedule.events[-1] == CueEvent("set_end", 20.0, 20.0)
    cue.control_lost(20.0)
    cue.control_lost(20.0)  # a second rule firing at the same moment: one buzz
    assert recorder.played[-2:] == ["set_end", "control_lost"] and cue.schedule.counts()["control_lost"] == 1
    assert cue.merged == 1 and "1 repeated at the same moment, sounded once" in cue.summary()


# --- the sounds and the track ---


def test_each_sound_is_short_distinct_and_starts_and_ends_silent() -> None:
    for kind in CUE_KINDS:
        sound = render_sound(kind)
        assert sound.dtype == np.float32 and np.abs(sound).max() == pytest.approx(cue_track.LEVEL, rel=0.02)
        assert sound.size == round(sum(t.duration_ms for t in SOUNDS[kind]) * 44.1)
        assert abs(sound[0]) < 1e-4 and abs(sound[-1]) < 1e-3  # raised-cosine ends: no click
        assert kind_of(dominant_hz(sound, 0, 44100)) == kind
    assert render_sound("tick").size == round(0.030 * 44100)
    firsts = sorted(SOUNDS[k][0].freq_hz for k in CUE_KINDS)
    assert min(np.diff(firsts)) >= 250.0


def test_the_chunked_wav_is_the_rendered_track(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cue_track, "CHUNK_SAMPLES", 1000)  # sounds cross many chunk edges
    events = [CueEvent(k, 100.0 + 0.0123457 * i + 0.2 * i, 0.0) for i, k in enumerate(CUE_KINDS)]
    events.append(CueEvent("tick", 100.0 + 1000 / 44100, 0.0))  # starts exactly on a chunk edge, overlaps others
    wav = write_cue_wav(tmp_path / "t.wav", events, origin_s=100.0, end_s=101.0)
    x, _ = read_wav(wav.path)
    track = render_track(events, 100.0, 101.0)
    assert wav.samples == track.size == x.size and np.abs(x - np.clip(track, -1, 1)).max() <= 0.5 / 32767 + 1e-7
    assert wav.clipped_samples == np.count_nonzero(np.abs(track) > 1) > 0  # three sounds overlap here: counted


def test_a_cue_track_that_cannot_be_written_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "taken.wav").mkdir()
    cue = LiveCue(wav_path=tmp_path / "taken.wav")
    run_set(LiveSink(LiveModel(), [], cue=cue), n_reps=1, period_s=6.0)
    assert cue.wav is None and cue.wav_error is not None and "could not be written" in cue.wav_error
    with pytest.raises(ConfigError, match=r"must be a \.wav file"):
        make_live_sink("none", cue_wav=tmp_path / "cues.mp3")
    with pytest.raises(ConfigError, match="cue track folder"):
        make_live_sink("none", cue_wav=tmp_path / "missing" / "cues.wav")


# --- the players ---


@pytest.fixture
def fresh_audio() -> Iterator[None]:
    """audio_output() probes once per process: forget what it found, before and after the test."""
    audio_output.cache_clear()
    yield
    audio_output.cache_clear()


def test_without_portaudio_the_bell_is_used_and_says_why(
    fresh_audio: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def no_portaudio() -> None:
        raise OSError("PortAudio library not found")  # what `import sounddevice` raises on Linux without libportaudio2

    monkeypatch.setattr(cue_player, "_load_sounddevice", no_portaudio)
    rings: list[int] = []
    with caplog.at_level("INFO", logger="bandlog.live.cue_player"):
        player, note = open_player(lambda: rings.append(1))
        open_player(None)
    assert isinstance(player, BellPlayer) and note.startswith("cue sounds: terminal bell")
    assert "PortAudio library not found" in note and "libportaudio2" in note
    assert sum("PortAudio" in r.getMessage() for r in caplog.records) == 1  # said once
    player.play("target")
    assert rings == [1]
    assert open_player(None) == (None, note.replace("cue sounds: terminal bell, as ", "no cue sounds: ")
                                 + ", and there is no terminal for the bell")


def test_without_sounddevice_installed_the_note_names_the_extra(fresh_audio: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # the import machinery then raises ImportError
    _, note = open_player(lambda: None)
    assert "sounddevice is not installed" in note and "bandlog[audio]" in note


class FakeStream:
    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class FakeSoundDevice:
    """The part of the sounddevice API the player uses; `devices` False: a machine without a sound card."""

    class PortAudioError(Exception):
        pass

    def __init__(self, devices: bool) -> None:
        self.devices = devices
        self.streams: list[FakeStream] = []

    def query_devices(self, kind: str) -> dict[str, object]:
        if not self.devices:
            raise self.PortAudioError("Error querying device -1")
        return {"name": "default", "max_output_channels": 2}

    def OutputStream(self, **kwargs: object) -> FakeStream:  # sounddevice spells it so
        self.streams.append(FakeStream(**kwargs))
        return self.streams[-1]


def test_sounddevice_plays_each_cue_through_one_stream_without_blocking(fresh_audio: None, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSoundDevice(devices=True)
    monkeypatch.setattr(cue_player, "_load_sounddevice", lambda: fake)
    player, note = open_player(None)
    assert isinstance(player, SoundDevicePlayer) and note == "cue sounds: sounddevice (PortAudio)"
    stream = fake.streams[0]
    assert stream.started and stream.kwargs["samplerate"] == 44100 and stream.kwargs["channels"] == 1
    callback = stream.kwargs["callback"]
    player.play("tick")
    out = np.zeros((2048, 1), dtype=np.float32)
    callback(out, 2048, None, 0)  # PortAudio's thread asks for the next block
    tick = render_sound("tick")
    assert np.array_equal(out[:tick.size, 0], tick) and not out[tick.size:].any()
    player.play("set_end")
    player.play("tick")  # overlapping sounds mix
    callback(out, 2048, None, 0)
    assert np.allclose(out[:tick.size, 0], tick + render_sound("set_end")[:tick.size])
    assert player.mixer.playing == 1
    player.close()
    assert stream.closed


def test_without_an_output_device_the_bell_is_used(fresh_audio: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cue_player, "_load_sounddevice", lambda: FakeSoundDevice(devices=False))
    player, note = open_player(lambda: None)
    assert isinstance(player, BellPlayer) and "no audio output device (Error querying device -1)" in note


def test_quiet_and_unwatched_sessions_open_no_audio(fresh_audio: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_load() -> None:
        raise AssertionError("sounddevice loaded")

    monkeypatch.setattr(cue_player, "_load_sounddevice", must_not_load)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    quiet = make_live_sink("tui", quiet=True).cue
    assert quiet is not None and quiet.player is None and quiet.note == "cue sounds off (--quiet)"
    unwatched = make_live_sink("tui").cue  # pytest's stdout is not a terminal
    assert unwatched is not None and unwatched.player is None and "no live view" in unwatched.note


def test_the_mixer_drops_finished_sounds() -> None:
    mixer = Mixer()
    mixer.add(np.ones(10, dtype=np.float32))
    assert mixer.read(4).tolist() == [1.0] * 4 and mixer.read(8).tolist() == [1.0] * 6 + [0.0] * 2
    assert mixer.playing == 0
