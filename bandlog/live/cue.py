"""The audible cues: a metronome tick each second of the eccentric, a chime at the target, and the
set-end, rest-end and control-lost sounds, like Metric's 1-second tempo metronome.

`CueSchedule` decides *when* (pure: the live model in, cue events out); `LiveCue` adds *where*: a
live player (bandlog.live.cue_player) and, if asked, the WAV of the whole session's cue track
(bandlog.live.cue_track).

A beat is due at each whole second of the open eccentric. The target chime is due when the eccentric
reaches the target; when that falls on a whole second (a 4 s target), the chime *is* that second's
beat, as a metronome's accent replaces its click.

Cue times are device times (the t_s of the samples), and a beat at device time t is kept exactly
when the detector, having read the samples up to t, still had the eccentric open. So the event list
does not depend on how the stream was cut into blocks: a replay or an emulated recording gives the
list of the recording it came from. The price is that a beat is decided once the detector has read
past it (the next block, or the next event), not when its sample arrives. The detector reports an
eccentric's end a little after it happened (under 0.3 s), so a beat may fall just after the end;
such beats are counted (`after_end`). Cues due at once (a fast replay) are all kept in the event
list and the WAV; the live player plays the most important of them (`unplayed` counts the rest).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from bandlog.core.errors import BandlogError
from bandlog.live.cue_player import CuePlayer
from bandlog.live.cue_track import CueEvent, CueKind, CueWav, write_cue_wav
from bandlog.live.model import EccentricSpan, LiveModel, SpanOutcome

log = logging.getLogger(__name__)

ON_BEAT_S = 0.001
"""A target this close to a whole second of the eccentric is that second's beat."""
PRIORITY: dict[CueKind, int] = {"tick": 0, "target": 1, "rest_end": 2, "set_end": 3, "control_lost": 4}
"""Which cue the live player plays when several fall due together."""


class CueSchedule:
    """The cue events of one session, in device time, found as the live model is fed."""

    def __init__(self) -> None:
        self.events: list[CueEvent] = []
        self.after_end = 0
        """Beats (ticks, target chimes) due after their eccentric had in fact ended: its end was detected later."""
        self._span: EccentricSpan | None = None
        self._span_events: list[CueEvent] = []
        self._beats_per_span: list[tuple[EccentricSpan, int]] = []
        """Each closed eccentric and its beats: what it proved to be is known only later."""
        self._beats = 0
        self._target_done = False

    def update(self, model: LiveModel, until_s: float | None = None, inclusive: bool = True) -> list[CueEvent]:
        """The beats of the open eccentric due up to `until_s` (default: the newest sample), in time order.

        `until_s` must be a time up to which the model holds every event the detector emitted;
        inclusive=False leaves a beat at exactly until_s undecided (an event detected then may close the eccentric)."""
        span = model.open_span()
        if span is not self._span:
            self._close_span()
            self._span, self._beats, self._target_done = span, 0, False
        until_s = model.now_s if until_s is None else until_s
        if span is None or until_s is None:
            return []

        now_s = model.now_s if model.now_s is not None else until_s

        def due(t_s: float) -> bool:
            return t_s < until_s or (inclusive and t_s == until_s)

        new: list[CueEvent] = []
        while True:
            tick_s = span.start_s + self._beats + 1
            target_s = span.start_s + model.target_ecc_s
            if not self._target_done and target_s < tick_s + ON_BEAT_S:  # the target comes first, or is this beat
                if not due(target_s):
                    break
                self._target_done = True
                if abs(target_s - tick_s) < ON_BEAT_S:
                    self._beats += 1
                new.append(CueEvent("target", target_s, now_s))
            elif due(tick_s):
                self._beats += 1
                new.append(CueEvent("tick", tick_s, now_s))
            else:
                break
        self.events += new
        self._span_events += new
        return new

    def add(self, kind: CueKind, t_s: float) -> CueEvent:
        """A cue decided elsewhere (a set tracker, a failure rule), due at device time t_s."""
        event = CueEvent(kind, t_s, t_s)
        self.events.append(event)
        return event

    def finish(self) -> None:
        """Settle the last eccentric's count of beats after its end."""
        self._close_span()
        self._span = None

    def _close_span(self) -> None:
        if self._span is not None and self._span_events:
            self._beats_per_span.append((self._span, len(self._span_events)))
            if self._span.end_s is not None:
                self.after_end += sum(e.t_s > self._span.end_s for e in self._span_events)
        self._span_events = []

    def beats_not_reps(self) -> int:
        """Beats heard during an eccentric that the detector later found was not a rep's (rejected, or no eccentric)."""
        return sum(n for span, n in self._beats_per_span if span.outcome in (SpanOutcome.REJECTED, SpanOutcome.NO_ECCENTRIC))

    def counts(self) -> Counter[str]:
        return Counter(e.kind for e in self.events)


class LiveCue:
    """The schedule, a live player (None: silent) and the optional WAV of the session's cue track.

    LiveSink tells it how far the detector has read: with each block, up to the block before it (every
    earlier block has been through the detector); before each event, up to that event's detection
    time; at the end, everything."""

    def __init__(self, player: CuePlayer | None = None, note: str = "", wav_path: str | Path | None = None) -> None:
        self.schedule = CueSchedule()
        self.player = player
        self.note = note
        """How the cues sound, and for a fallback why (for the CLI to print)."""
        self.wav_path = Path(wav_path) if wav_path is not None else None
        self.wav: CueWav | None = None
        self.wav_error: str | None = None
        self.played = 0
        self.unplayed = 0
        """Cues due together with a more important one (a fast replay): in the WAV, not played live."""
        self.merged = 0
        """Calls for a cue of the same kind at the same moment as one already given: sounded once."""
        self.origin_s: float | None = None
        """Device time of the session's first sample (sample 0 of the cue track), known at close."""
        self.end_s: float | None = None
        self._closed = False

    def read_until(self, model: LiveModel, until_s: float) -> None:
        """The detector has read every sample up to until_s (all blocks before the newest): decide the
        beats up to it. (While a tare search holds blocks back, no event has opened an eccentric yet.)"""
        self._decide(model, until_s, inclusive=True)

    def before_event(self, model: LiveModel, detected_at_s: float) -> None:
        """An event the detector found at detected_at_s is about to reach the model: decide the beats due before it."""
        self._decide(model, detected_at_s, inclusive=False)

    def read_all(self, model: LiveModel) -> None:
        """The detector has read every sample the model holds: the end of the set."""
        self._decide(model, None, inclusive=True)

    def _decide(self, model: LiveModel, until_s: float | None, inclusive: bool) -> None:
        self._play(self.schedule.update(model, until_s, inclusive))

    # --- cues decided outside the eccentric timer (set tracker, failure rules) ---

    def set_ended(self, t_s: float) -> CueEvent:
        """The set is over (device time t_s): the long falling sound."""
        return self._now("set_end", t_s)

    def rest_ended(self, t_s: float) -> CueEvent:
        """The rest is over: the rising sound, start the next set."""
        return self._now("rest_end", t_s)

    def control_lost(self, t_s: float) -> CueEvent:
        """Eccentric control lost (a drop, a release too fast): the short low buzz."""
        return self._now("control_lost", t_s)

    def _now(self, kind: CueKind, t_s: float) -> CueEvent:
        same = next((e for e in reversed(self.schedule.events[-8:]) if e.kind == kind and e.t_s == t_s), None)
        if same is not None:  # two rules firing at once (e.g. a fast release that is also the 2nd under target): one sound
            self.merged += 1
            return same
        event = self.schedule.add(kind, t_s)
        self._play([event])
        return event

    def _play(self, new: list[CueEvent]) -> None:
        if not new or self.player is None:
            return
        chosen = max(new, key=lambda e: (PRIORITY[e.kind], e.t_s))
        self.player.play(chosen.kind)
        self.played += 1
        self.unplayed += len(new) - 1

    def close(self, model: LiveModel) -> None:
        """At the end of the session: settle the last eccentric, stop the player, write the WAV."""
        if self._closed:
            return
        self._closed = True
        self.origin_s, self.end_s = model.start_s, model.now_s
        self.schedule.finish()
        if self.player is not None:
            try:
                self.player.close()
            except Exception as error:  # an audio library can fail in any way at teardown; never lose the recording over it
                log.warning("cue sound output did not close cleanly: %s", error)
        if self.wav_path is not None:
            self._write_wav()
        log.info("%s", self.summary())

    def track_span(self) -> tuple[float, float]:
        """(start, end) device time of the cue track: the session's samples, and any cue called before them."""
        origin_s = min([e.t_s for e in self.schedule.events] + ([self.origin_s] if self.origin_s is not None else []),
                       default=0.0)
        return origin_s, self.end_s if self.end_s is not None else origin_s

    def _write_wav(self) -> None:
        assert self.wav_path is not None
        try:
            self.wav = write_cue_wav(self.wav_path, self.schedule.events, *self.track_span())
        except BandlogError as error:
            self.wav_error = str(error)
            log.error("%s", error)
            return
        if self.wav.clipped_samples:
            log.warning("cue track: %d samples clipped where sounds overlapped", self.wav.clipped_samples)
        log.info("cue track written to %s (%.1f s)", self.wav.path, self.wav.duration_s)

    def summary(self) -> str:
        """e.g. 'cues: 14 tick, 4 target, 1 set_end; 1 beat(s) after ...; 3 not played live ...'."""
        counts = self.schedule.counts()
        parts = [", ".join(f"{counts[k]} {k}" for k in counts) or "none"]
        if self.schedule.after_end:
            parts.append(f"{self.schedule.after_end} beat(s) after the eccentric had ended (its end is detected late)")
        if not_reps := self.schedule.beats_not_reps():
            parts.append(f"{not_reps} beat(s) during movements that proved not to be reps")
        if self.unplayed:
            parts.append(f"{self.unplayed} not played live (due together with another cue)")
        if self.merged:
            parts.append(f"{self.merged} repeated at the same moment, sounded once")
        return "cues: " + "; ".join(parts)
