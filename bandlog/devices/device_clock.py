"""A device's 32-bit microsecond counter turned into time that never jumps on one bad timestamp.

Used by the decoders of devices that stamp every sample (Progressor, bandlog-open). The counter
wraps after 2^32 us (about 71.6 min), and a stale, repeated or corrupted timestamp must not be
taken for that wrap: one bad sample once shifted every later sample by 71.6 minutes. The rule:
- a small step forward (up to `step_limit_s`, without crossing 2^32) is accepted at once;
- anything else (a wrap, a longer gap, any step back) is held until the next sample says which
  clock the stream follows: if the next one continues from the sample before, the held one was
  corrupt and is skipped (counted); if it continues from the held one, the held one is accepted
  (a wrap when the counter really was near 2^32, a longer gap, or, for a confirmed step back, a
  device clock restart that is placed one period after the last sample so time stays monotonic);
- if the next one continues from neither, the held one is skipped and the next one is judged alone.
The held sample costs one sample of latency; one still held when the stream ends is skipped and
counted by flush().
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

COUNTER_SPAN_US = 1 << 32
DEFAULT_STEP_LIMIT_S = 0.25
"""Longest step accepted without confirmation: about 20 lost samples at 80 Hz; a corrupted top
timestamp byte moves time by at least 16.7 s, a stale repeat or any step back by less than zero."""
WRAP_WINDOW_S = 4.0
"""A confirmed step across 2^32 is a wrap only if it is this short; longer, it is a clock restart."""

Item = TypeVar("Item")


@dataclass(frozen=True)
class Timed(Generic[Item]):
    """A sample the clock accepted: its unwrapped device time in microseconds and what it carries."""

    t_us: int
    item: Item


class DeviceClock(Generic[Item]):
    """Unwraps a uint32 microsecond counter and skips samples whose time cannot be right."""

    def __init__(self, period_s: float, step_limit_s: float = DEFAULT_STEP_LIMIT_S) -> None:
        self._period_us = max(1, round(period_s * 1e6))
        self._limit_us = max(round(step_limit_s * 1e6), 2 * self._period_us)
        self._wrap_us = max(round(WRAP_WINDOW_S * 1e6), self._limit_us)
        self._last_raw: int | None = None
        self._last_us = 0
        self._held: tuple[int, Item] | None = None
        self.skipped = 0
        """Samples dropped because their timestamp was contradicted by the samples around them."""
        self.restarts = 0
        """Confirmed steps back (the device clock restarted): time was placed one period on."""

    def flush(self) -> int:
        """The stream ended: a sample still held has no next one to confirm it, so it is skipped
        (counted in `skipped`); returns how many (0 or 1)."""
        if self._held is None:
            return 0
        self._held = None
        self.skipped += 1
        return 1

    def take_skipped(self) -> int:
        skipped, self.skipped = self.skipped, 0
        return skipped

    def take_restarts(self) -> int:
        restarts, self.restarts = self.restarts, 0
        return restarts

    def _plain(self, a: int, b: int) -> bool:
        """b follows a by a small step forward, without crossing the counter's end."""
        return 0 < b - a <= self._limit_us

    def push(self, raw_us: int, item: Item) -> list[Timed[Item]]:
        """Accepted samples (zero, one or two) in order, with unwrapped microsecond times."""
        out: list[Timed[Item]] = []
        if self._last_raw is None:
            self._last_raw, self._last_us = raw_us, raw_us
            return [Timed(raw_us, item)]
        if self._held is not None:
            held_raw, held_item = self._held
            self._held = None
            if not self._plain(self._last_raw, raw_us) and self._plain(held_raw, raw_us):
                out.append(self._accept_jump(held_raw, held_item))
            else:
                self.skipped += 1
                log.debug("skipped a sample stamped %d us after %d us: its neighbours disagree", held_raw, self._last_raw)
        if self._plain(self._last_raw, raw_us):
            self._last_us += raw_us - self._last_raw
            self._last_raw = raw_us
            out.append(Timed(self._last_us, item))
        else:
            self._held = (raw_us, item)
        return out

    def _accept_jump(self, raw_us: int, item: Item) -> Timed[Item]:
        """The held sample was confirmed by the next one: place it after the last sample."""
        assert self._last_raw is not None
        forward_us = (raw_us - self._last_raw) % COUNTER_SPAN_US
        if raw_us < self._last_raw and forward_us <= self._wrap_us:
            self._last_us += forward_us  # a wrap, confirmed
        elif raw_us > self._last_raw:
            self._last_us += raw_us - self._last_raw  # a longer gap, confirmed
        else:
            self.restarts += 1
            log.info("device clock went back from %d to %d us and stayed there: placed one period on", self._last_raw, raw_us)
            self._last_us += self._period_us
        self._last_raw = raw_us
        return Timed(self._last_us, item)
