"""The cue sounds and the cue track: what each cue sounds like, and a session's cues as audio.

Pure numpy (the WAV writer uses the stdlib `wave`), so a whole session's cues can be rendered and
checked without a sound card. Each sound starts at exactly sample round((t_s - origin_s) * rate_hz)
of the track, so the track is sample-accurate against the cue events it was made from.

Every tone is a sine (the buzz adds odd harmonics) with a raised-cosine fade in and out (`RAMP_MS`),
so no sound clicks; several tones in a row are played back to back. Peak amplitude `LEVEL` leaves
room for two sounds overlapping without clipping.

============  ======================================  ===================  ============
kind          what it means                           tones (Hz)           length (ms)
============  ======================================  ===================  ============
tick          each whole second of the eccentric      1200                 30
target        the eccentric reached its target time   1568, 2093 (rising)  80 + 140
set_end       the set is over                         784, 587, 392        150+150+300
rest_end      the rest is over: start the next set    523, 784, 1047       120+120+260
control_lost  eccentric control lost (a short buzz)   150 (+450, 750)      150
============  ======================================  ===================  ============

Each kind's first tone is at a different pitch (at least 250 Hz apart), so the kind of a sound can
be told from the dominant frequency of its first 30 ms.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.io.csv_log import write_error_reason

CueKind = Literal["tick", "target", "set_end", "rest_end", "control_lost"]
CUE_KINDS: tuple[CueKind, ...] = ("tick", "target", "set_end", "rest_end", "control_lost")
RATE_HZ = 44100
LEVEL = 0.45
RAMP_MS = 4.0
CHUNK_SAMPLES = 1 << 18
"""The WAV is rendered and written this many samples at a time: memory stays flat for any session."""


@dataclass(frozen=True)
class Tone:
    freq_hz: float
    duration_ms: float
    harmonics: tuple[float, ...] = (1.0,)
    """Amplitudes of the odd harmonics 1, 3, 5, ... (a buzz); (1.0,) is a pure sine."""


SOUNDS: dict[CueKind, tuple[Tone, ...]] = {
    "tick": (Tone(1200.0, 30.0),),
    "target": (Tone(1568.0, 80.0), Tone(2093.0, 140.0)),
    "set_end": (Tone(784.0, 150.0), Tone(587.0, 150.0), Tone(392.0, 300.0)),
    "rest_end": (Tone(523.0, 120.0), Tone(784.0, 120.0), Tone(1047.0, 260.0)),
    "control_lost": (Tone(150.0, 150.0, harmonics=(1.0, 1 / 3, 1 / 5)),),
}


@dataclass(frozen=True)
class CueEvent:
    """One cue: what (`kind`), when it was due (`t_s`, device time) and when it was emitted.

    `emitted_at_s` is the device time of the newest sample when the scheduler found the cue due
    (the live player plays it then); it is t_s for a cue that was called explicitly."""

    kind: CueKind
    t_s: float
    emitted_at_s: float


def _tone(tone: Tone, rate_hz: int) -> np.ndarray:
    n = int(round(tone.duration_ms * rate_hz / 1000.0))
    t_s = np.arange(n) / rate_hz
    wave_ = np.zeros(n)
    for k, amplitude in enumerate(tone.harmonics):
        wave_ += amplitude * np.sin(2 * np.pi * tone.freq_hz * (2 * k + 1) * t_s)
    wave_ /= np.max(np.abs(wave_)) if n else 1.0
    ramp = min(int(round(RAMP_MS * rate_hz / 1000.0)), n // 2)
    envelope = np.ones(n)
    if ramp:
        rise = 0.5 * (1.0 - np.cos(np.pi * np.arange(ramp) / ramp))
        envelope[:ramp] = rise
        envelope[n - ramp:] = rise[::-1]
    return wave_ * envelope


def render_sound(kind: CueKind, rate_hz: int = RATE_HZ) -> np.ndarray:
    """The float32 samples of one cue's sound at `rate_hz` (peak LEVEL)."""
    return (LEVEL * np.concatenate([_tone(t, rate_hz) for t in SOUNDS[kind]])).astype(np.float32)


def sound_length_s(kind: CueKind) -> float:
    return sum(t.duration_ms for t in SOUNDS[kind]) / 1000.0


def onset_sample(t_s: float, origin_s: float, rate_hz: int) -> int:
    """The track sample at which a cue due at device time `t_s` starts."""
    return int(round((t_s - origin_s) * rate_hz))


def track_length(events: Sequence[CueEvent], origin_s: float, end_s: float, rate_hz: int = RATE_HZ) -> int:
    """Samples from origin_s to end_s, or to the end of the last sound if that is later."""
    n = onset_sample(end_s, origin_s, rate_hz)
    for event in events:
        n = max(n, onset_sample(event.t_s, origin_s, rate_hz) + int(round(sound_length_s(event.kind) * rate_hz)))
    return max(n, 0)


def render_segment(
    events: Sequence[CueEvent], origin_s: float, first: int, n_samples: int, rate_hz: int = RATE_HZ,
    sounds: dict[CueKind, np.ndarray] | None = None,
) -> np.ndarray:
    """Samples [first, first + n_samples) of the cue track whose sample 0 is device time origin_s.

    Overlapping sounds add. Events before origin_s lose the part before the track start."""
    sounds = sounds if sounds is not None else {k: render_sound(k, rate_hz) for k in CUE_KINDS}
    out = np.zeros(n_samples, dtype=np.float32)
    for event in events:
        sound = sounds[event.kind]
        start = onset_sample(event.t_s, origin_s, rate_hz) - first
        a, b = max(start, 0), min(start + sound.shape[0], n_samples)
        if a < b:
            out[a:b] += sound[a - start:b - start]
    return out


def render_track(events: Sequence[CueEvent], origin_s: float, end_s: float, rate_hz: int = RATE_HZ) -> np.ndarray:
    """The whole cue track, mono float32: each sound at round((t_s - origin_s) * rate_hz)."""
    return render_segment(events, origin_s, 0, track_length(events, origin_s, end_s, rate_hz), rate_hz)


@dataclass(frozen=True)
class CueWav:
    path: Path
    samples: int
    rate_hz: int
    clipped_samples: int
    """Samples beyond full scale where sounds overlapped, written at full scale."""

    @property
    def duration_s(self) -> float:
        return self.samples / self.rate_hz


def write_cue_wav(
    path: str | Path, events: Sequence[CueEvent], origin_s: float, end_s: float, rate_hz: int = RATE_HZ,
) -> CueWav:
    """Write the cue track as a 16-bit mono WAV, a chunk at a time; LogWriteError says why it failed."""
    path = Path(path)
    ordered = sorted(events, key=lambda e: e.t_s)
    sounds = {k: render_sound(k, rate_hz) for k in CUE_KINDS}
    longest = max(s.shape[0] for s in sounds.values())
    total = track_length(ordered, origin_s, end_s, rate_hz)
    starts = np.array([onset_sample(e.t_s, origin_s, rate_hz) for e in ordered], dtype=np.int64)
    clipped = 0
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate_hz)
            for first in range(0, total, CHUNK_SAMPLES):
                n = min(CHUNK_SAMPLES, total - first)
                lo, hi = np.searchsorted(starts, [first - longest, first + n])
                chunk = render_segment(ordered[lo:hi], origin_s, first, n, rate_hz, sounds)
                clipped += int(np.count_nonzero(np.abs(chunk) > 1.0))
                pcm = np.round(np.clip(chunk, -1.0, 1.0) * 32767.0).astype("<i2")
                out.writeframes(pcm.tobytes())
    except OSError as error:
        raise LogWriteError(f"the cue track {str(path)!r} could not be written: {write_error_reason(error)}") from error
    return CueWav(path, total, rate_hz, clipped)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV as float32 in [-1, 1] and its rate (to check a written cue track)."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != 2:
            raise LogFormatError(f"{str(path)!r} is not a 16-bit mono WAV")
        data = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
        return (data.astype(np.float32) / 32767.0), src.getframerate()
