"""Where the cue sounds go live: PortAudio through `sounddevice`, else the terminal bell, else nowhere.

`sounddevice` is optional (`pip install 'bandlog[audio]'`). On Linux its wheel does not bundle
PortAudio, so `import sounddevice` raises OSError without the system library (Debian: libportaudio2);
a machine without a sound card has no default output device. In each case the terminal bell is used
(where stdout is a terminal) and the reason is logged once and returned for the CLI to print.

The PortAudio player keeps one output stream open; its callback, on PortAudio's thread, mixes the
sounds started since (`Mixer`), so `play` never blocks the recording.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, TextIO

import numpy as np

from bandlog.live.cue_track import CUE_KINDS, RATE_HZ, CueKind, render_sound

log = logging.getLogger(__name__)

BEL = "\a"
AUDIO_EXTRA_HINT = "pip install 'bandlog[audio]'"
PORTAUDIO_HINT = "on Debian or Ubuntu: apt install libportaudio2"


class CuePlayer(Protocol):
    name: str

    def play(self, kind: CueKind) -> None: ...

    def close(self) -> None: ...


class Mixer:
    """Sounds started and not yet finished, summed into each block the audio callback asks for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._voices: list[tuple[np.ndarray, int]] = []

    def add(self, sound: np.ndarray) -> None:
        with self._lock:
            self._voices.append((sound, 0))

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` samples (float32); finished sounds are dropped."""
        out = np.zeros(frames, dtype=np.float32)
        with self._lock:
            voices, self._voices = self._voices, []
            for sound, position in voices:
                part = sound[position:position + frames]
                out[:part.shape[0]] += part
                if position + frames < sound.shape[0]:
                    self._voices.append((sound, position + frames))
        return out

    @property
    def playing(self) -> int:
        return len(self._voices)


class SoundDevicePlayer:
    """One PortAudio output stream, open for the whole session; `play` only queues the sound."""

    name = "sounddevice"

    def __init__(self, sd: ModuleType, rate_hz: int = RATE_HZ) -> None:
        self._sounds = {kind: render_sound(kind, rate_hz) for kind in CUE_KINDS}
        self.mixer = Mixer()
        self.underflows = 0
        """Callbacks PortAudio reported late (an audible gap or glitch); logged at close."""
        self._stream = sd.OutputStream(samplerate=rate_hz, channels=1, dtype="float32", latency="low", callback=self._fill)
        self._stream.start()

    def _fill(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status:
            self.underflows += 1
        outdata[:, 0] = self.mixer.read(frames)

    def play(self, kind: CueKind) -> None:
        self.mixer.add(self._sounds[kind])

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
        if self.underflows:
            log.warning("cue sound output: %d audio blocks came late (possible clicks or gaps)", self.underflows)


class BellPlayer:
    """The terminal bell: one ring whatever the cue (the sound is the terminal's)."""

    name = "terminal bell"

    def __init__(self, ring: Callable[[], None]) -> None:
        self.ring = ring

    def play(self, kind: CueKind) -> None:
        self.ring()

    def close(self) -> None:
        pass


def terminal_bell(stream: TextIO | None = None) -> Callable[[], None] | None:
    """A function that rings the terminal bell, or None when the stream is not a terminal."""
    out = stream if stream is not None else sys.stdout
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return None

    def ring() -> None:
        out.write(BEL)
        out.flush()

    return ring


def _load_sounddevice() -> ModuleType:
    return importlib.import_module("sounddevice")


@functools.cache
def audio_output() -> tuple[ModuleType | None, str]:
    """sounddevice with a default output device, or None and why not (found and logged once)."""
    try:
        sd = _load_sounddevice()
    except ImportError:
        reason = f"sounddevice is not installed ({AUDIO_EXTRA_HINT})"
    except OSError as error:  # the wheel loads PortAudio at import; Linux wheels do not bundle it
        reason = f"sounddevice cannot load PortAudio: {error} ({PORTAUDIO_HINT})"
    else:
        try:
            sd.query_devices(kind="output")
            log.info("cue sounds through sounddevice (PortAudio)")
            return sd, ""
        except Exception as error:  # PortAudioError and whatever a host API raises: fall back, never stop the recording
            reason = f"no audio output device ({error})"
    log.info("cue sounds: %s", reason)
    return None, reason


def open_player(bell: Callable[[], None] | None, rate_hz: int = RATE_HZ) -> tuple[CuePlayer | None, str]:
    """The best live player there is, and a short line saying which and, for a fallback, why."""
    sd, reason = audio_output()
    if sd is not None:
        try:
            return SoundDevicePlayer(sd, rate_hz), "cue sounds: sounddevice (PortAudio)"
        except Exception as error:  # opening a stream can fail in any host API way: fall back, never stop the recording
            reason = f"the audio output could not be opened ({error})"
            log.info("cue sounds: %s", reason)
    if bell is not None:
        return BellPlayer(bell), f"cue sounds: terminal bell, as {reason}"
    return None, f"no cue sounds: {reason}, and there is no terminal for the bell"
