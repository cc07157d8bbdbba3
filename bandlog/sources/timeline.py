"""One continuous session time line across reconnects.

A device's clock (or sample counter) restarts at zero on every new connection. The session keeps
t_s increasing by shifting each connection's samples: the first new sample lands after the last
old one by the host-measured gap, converted to device seconds with the measured device/host clock
ratio (1 for real sensors; the speed-up when an emulated sensor runs faster than real time).
Pure computation; the session feeds it sample times and host arrival times.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

MIN_RATIO_SPAN_S = 1.0
"""Device seconds of one connection's stream needed before trusting the measured clock ratio."""


@dataclass(frozen=True)
class Placed:
    """Samples moved onto the session time line; gap is (start_s, end_s) after a reconnect."""

    t_s: np.ndarray
    gap: tuple[float, float] | None
    jumps: int
    """Steps longer than 1.5 sample periods: each is at least one lost notification."""


class Timeline:
    def __init__(self) -> None:
        self.offset_s = 0.0
        self.ratio = 1.0
        self.last_t_s: float | None = None
        self._last_host_s: float | None = None
        self._period_s: float | None = None
        self._gap_pending = False
        self._anchor: tuple[float, float] | None = None

    def new_connection(self, sample_rate_hz: float | None) -> None:
        """A (re)connected stream starts; its device clock restarts."""
        self._period_s = 1.0 / sample_rate_hz if sample_rate_hz else None
        self._gap_pending = self.last_t_s is not None
        self._anchor = None

    def place(self, t_device_s: np.ndarray, first_host_s: float, last_host_s: float) -> Placed:
        """Session times for samples that arrived between first_host_s and last_host_s."""
        gap = None
        if self._gap_pending and self.last_t_s is not None and self._last_host_s is not None:
            gap_host_s = max(first_host_s - self._last_host_s, 0.0)
            self.offset_s = self.last_t_s + max(gap_host_s * self.ratio, self._period_s or 0.0) - float(t_device_s[0])
            gap = (self.last_t_s, float(t_device_s[0]) + self.offset_s)
        t_s = t_device_s + self.offset_s
        jumps = 0
        if self._period_s is not None:
            previous = [] if self.last_t_s is None or self._gap_pending else [self.last_t_s]
            jumps = int(np.count_nonzero(np.diff(np.concatenate([previous, t_s])) > 1.5 * self._period_s))
        self._gap_pending = False
        if self._anchor is None:
            self._anchor = (float(t_device_s[0]), first_host_s)
        self._update_ratio(float(t_device_s[-1]), last_host_s)
        self.last_t_s, self._last_host_s = float(t_s[-1]), last_host_s
        return Placed(t_s, gap, jumps)

    def _update_ratio(self, t_device_s: float, t_host_s: float) -> None:
        assert self._anchor is not None
        span_device_s = t_device_s - self._anchor[0]
        span_host_s = t_host_s - self._anchor[1]
        if span_device_s >= MIN_RATIO_SPAN_S and span_host_s > 0:
            self.ratio = span_device_s / span_host_s


LOSS_TOLERANCE = 0.25
"""Share of a notification's duration the arrival lead may fall short of and still count as a loss."""
SUSTAIN_HOST_S = 0.25
"""Host seconds a lead must last before it counts (BLE batches notifications per connection interval)."""
BASELINE_HOST_S = 3.0
"""Host seconds of released samples whose promptest arrival sets the expected lateness."""
RATIO_SPAN_S = 2.0
"""Device seconds of a connection's stream needed before its clock ratio is trusted for loss finding."""
MAX_JITTER_PERIODS = 3.0
"""Median lateness beyond the promptest, in periods, above which one lost notification cannot be told
from arrival jitter (an emulation far faster than real time sends in bursts of many samples)."""
FINAL_SUSTAIN_HOST_S = SUSTAIN_HOST_S / 2
"""Host seconds a lead reaching the end of a link must last to count (a loss just before is not seen)."""
START_HOST_S = 4 * SUSTAIN_HOST_S
"""Host seconds a stream's start is held at least, so most losses in it have shown a sustained lead."""
CATCH_UP_MARGIN = 0.5
"""Periods by which the later half of a held lead must undercut the earlier half to be a backlog
draining (a busy host) rather than a loss; BLE batching moves a half's promptest sample far less."""
MAX_CATCH_UP_HOST_S = 4 * SUSTAIN_HOST_S
"""Host seconds a draining lead is held at most; then its samples go as they are, no loss guessed."""
QUICK_HOST_S = 2 * SUSTAIN_HOST_S
"""Host seconds of a stream's start after which one running at the host's pace is released."""
REAL_TIME_TOLERANCE = 0.05
"""How far the start's rough clock ratio may be from 1 to count as real time (emulations run at 2x
and more; a loss in the start shortens device time by a period, ~1 % of QUICK_HOST_S at 200 Hz)."""
MIN_PERIOD_HOST_S = 0.00225
"""Host seconds a sample period must span for one lost notification to be told from host latency:
an emulation far faster than real time (10x at 100 Hz: 1 ms a period) has a whole run of arrivals
moved by more than that whenever its event loop is busier for a moment, which reads as a loss.
Real index-timed sensors stream at 200 Hz at most (Thingy:52, WitMotion): 5 ms a period. At 100 Hz
an emulation 4x faster is judged (2.5 ms), one 5x faster is not (2 ms)."""
REPLAY_STEP_HOST_S = SUSTAIN_HOST_S / 5
"""Host seconds of held arrivals judged together when a stream's start is judged afterwards."""
MAX_REFITS = 4
"""Fits of the clock ratio on a stream's held start, each on times corrected by the losses the last found."""
RATIO_SETTLED = 1e-6
"""Relative change of the clock ratio between two fits below which the fit has settled."""


@dataclass(frozen=True)
class Released:
    """Held samples let go: how many (from the front), their corrected device times, losses found."""

    count: int
    t_device_s: np.ndarray
    lost: int


class ArrivalLossFinder:
    """Lost notifications of a stream with no counter and no clock, found from host arrival times.

    Such a sensor (Thingy:52, WitMotion) is timed by sample index, so one lost notification dates
    every later sample a period early without a word. Each sample's lateness, arrival time x clock
    ratio minus its index time, stays near the promptest recent one; after a loss every later sample
    is a period later still. A lead counts only when every sample for SUSTAIN_HOST_S is at least
    (1 - LOSS_TOLERANCE) periods behind the baseline, so arrival jitter and per-interval batching
    below a period pass, and a lead that shrinks while it lasts is a busy host working through a
    backlog, not a loss. Samples are held that long so the loss is dated where it happened; the
    ratio is measured on the corrected times (an emulated sensor runs faster than real time). A
    stream at the host's pace (any real sensor) is judged from its first half second with a ratio of
    1, kept; a faster one has its first seconds held until the ratio can be measured,
    then judged afterwards.
    """

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.ratio: float | None = None
        self.lost_total = 0
        self._shift_s = 0.0
        self._held_dev = np.empty(0)
        self._held_host = np.empty(0)
        self._done_dev = np.empty(0)
        self._done_host = np.empty(0)
        self._anchor: tuple[float, float] | None = None
        self._sums = np.zeros(5)
        """Least-squares sums (n, x, y, xx, xy) of this connection's released (host, device) times."""
        self._ratio_fixed = False
        """The stream runs at the host's pace: the ratio stays 1. A real sensor's clock is within
        ~100 ppm of the host's, 0.3 ms over the baseline's window; a fit on times its own losses
        corrected could only add jitter, which feeds back (a lead read as a loss raises the fit)."""

    def new_connection(self) -> None:
        """The device clock restarted: lateness starts afresh (call flush() first)."""
        self._shift_s = 0.0
        self._done_dev = self._done_host = np.empty(0)
        self._anchor = None
        self._sums = np.zeros(5)

    def feed(self, t_device_s: np.ndarray, t_host_s: np.ndarray) -> Released:
        """Hold these samples; release those whose dating is settled."""
        self._held_dev = np.concatenate([self._held_dev, np.asarray(t_device_s, dtype=np.float64)])
        self._held_host = np.concatenate([self._held_host, np.asarray(t_host_s, dtype=np.float64)])
        if self._anchor is None and len(self._held_dev):
            self._anchor = (float(self._held_dev[0]), float(self._held_host[0]))
        if self.ratio is None:
            if self._real_time():
                self.ratio, self._ratio_fixed = 1.0, True
                return self._judge()
            if not self._measurable() or self._held_host[-1] - self._held_host[0] < START_HOST_S:
                return Released(0, np.empty(0), 0)  # held until the ratio can be measured
            return self._judge_start()
        return self._judge()

    def _real_time(self) -> bool:
        """Whether the held start clearly runs at the host's pace (any real sensor: its clock is within
        ~100 ppm of the host's), so it need not be held until the ratio is fitted: a kill then loses
        what is held, and the live view waits for it."""
        host_s = self._held_host
        if not len(host_s) or host_s[-1] - host_s[0] < QUICK_HOST_S:
            return False
        return abs(_fit(host_s, self._held_dev) - 1.0) <= REAL_TIME_TOLERANCE

    def _judge(self, sustain_host_s: float = SUSTAIN_HOST_S) -> Released:
        """Release the held samples whose dating is settled, shifting later ones past each loss found."""
        parts_dev: list[np.ndarray] = []
        released = lost = 0
        while len(self._held_dev):
            late = self._lateness(self._held_dev + self._shift_s, self._held_host)
            baseline = self._baseline()
            threshold = baseline + (1.0 - LOSS_TOLERANCE) * self.period_s
            prompt = np.flatnonzero(late < threshold)
            if len(prompt):  # nothing before a prompt sample can have been lost
                n = int(prompt[-1]) + 1
            elif not self._resolvable(baseline):
                n = len(self._held_dev)
            elif self._held_host[-1] - self._held_host[0] >= sustain_host_s and self._catching_up(late):
                if self._held_host[-1] - self._held_host[0] < MAX_CATCH_UP_HOST_S:
                    break  # a backlog draining: wait for its lead to settle (a loss) or vanish (none)
                n = len(self._held_dev)  # still draining: released as they are, no loss guessed
            elif self._held_host[-1] - self._held_host[0] >= sustain_host_s:
                steps = max(1, int(np.floor((late.min() - baseline) / self.period_s + LOSS_TOLERANCE)))
                # a sample clearly less late than the lead (jitter) came before the loss: it goes first
                before = np.flatnonzero(late < baseline + (steps - LOSS_TOLERANCE / 2) * self.period_s)
                split = int(before[-1]) + 1 if len(before) else 0
                if split:
                    parts_dev.append(self._take(split))
                    released += split
                self._shift_s += steps * self.period_s
                lost += steps
                continue
            else:
                break
            parts_dev.append(self._take(n))
            released += n
        self.lost_total += lost
        t_dev = np.concatenate(parts_dev) if parts_dev else np.empty(0)
        return Released(released, t_dev, lost)

    def flush(self) -> Released:
        """The link ended: judge what is held as far as its arrivals tell, then release all of it.

        A lead reaching the last arrival counts after FINAL_SUSTAIN_HOST_S, as no later one can end it.
        """
        judged = Released(0, np.empty(0), 0)
        if self.ratio is not None:
            judged = self._judge(FINAL_SUSTAIN_HOST_S)
        elif self._measurable():
            judged = self._judge_start()
            judged = _joined(judged, self._judge(FINAL_SUSTAIN_HOST_S))
        n = len(self._held_dev)
        return _joined(judged, Released(n, self._take(n), 0))

    def _measurable(self) -> bool:
        """Whether the held start of the stream spans enough to fit the clock ratio on."""
        dev_s, host_s = self._held_dev, self._held_host
        return bool(len(dev_s)) and dev_s[-1] - dev_s[0] >= RATIO_SPAN_S and host_s[-1] > host_s[0]

    def _judge_start(self) -> Released:
        """Fit the clock ratio on the held start of the stream, then judge that start as it arrived.

        The first RATIO_SPAN_S device seconds stay held until then, so a loss in them is found and
        dated too. A loss there lowers a plain fit of the ratio (later samples are dated early), so
        the fit is repeated on the times corrected by the losses the last fit finds, until it settles.
        A lowered ratio only makes lateness fall, so it misses losses but never invents one.
        """
        host_s = self._held_host
        ratio = _fit(host_s, self._held_dev + self._shift_s)
        late = host_s * ratio - (self._held_dev + self._shift_s)
        if np.median(late) - late.min() > MAX_JITTER_PERIODS * self.period_s:
            # arrivals too ragged to tell one lost notification from jitter (an emulation far faster
            # than real time on a busy machine): judged one sample at a time from the start, the few
            # first and promptest set a baseline that the rest, all later, read as a loss
            self.ratio = ratio
            return Released(len(self._held_dev), self._take(len(self._held_dev)), 0)
        for _ in range(MAX_REFITS):
            trial = copy.copy(self)
            trial._sums = self._sums.copy()  # the only state changed in place
            released = trial._replay(ratio)
            refit = _fit(host_s, np.concatenate([released.t_device_s, trial._held_dev + trial._shift_s]))
            if abs(refit - ratio) <= RATIO_SETTLED * ratio:
                break
            ratio = refit
        return self._replay(ratio)

    def _replay(self, ratio: float) -> Released:
        """Judge the held samples with this ratio in the order they arrived, as if they came now."""
        self.ratio = ratio
        dev_s, host_s = self._held_dev, self._held_host
        self._held_dev, self._held_host = np.empty(0), np.empty(0)
        parts: list[np.ndarray] = []
        count = lost = 0
        steps = np.floor((host_s - host_s[0]) / REPLAY_STEP_HOST_S)
        for start, end in pairwise([0, *(np.flatnonzero(np.diff(steps) > 0) + 1), len(host_s)]):
            self._held_dev = np.concatenate([self._held_dev, dev_s[start:end]])
            self._held_host = np.concatenate([self._held_host, host_s[start:end]])
            released = self._judge()
            parts.append(released.t_device_s)
            count, lost = count + released.count, lost + released.lost
        return Released(count, np.concatenate(parts), lost)

    def _take(self, n: int) -> np.ndarray:
        dev = self._held_dev[:n] + self._shift_s
        host = self._held_host[:n]
        self._held_dev, self._held_host = self._held_dev[n:], self._held_host[n:]
        keep = self._done_host >= (host[-1] - BASELINE_HOST_S if n else -np.inf)
        self._done_dev = np.concatenate([self._done_dev[keep], dev])
        self._done_host = np.concatenate([self._done_host[keep], host])
        if n and self._anchor is not None and not self._ratio_fixed:
            # the slope of device time against arrival time, fitted by least squares: jitter averages out
            x, y = host - self._anchor[1], dev - self._anchor[0]
            self._sums += np.array([len(x), x.sum(), y.sum(), (x * x).sum(), (x * y).sum()])
            count, sx, sy, sxx, sxy = self._sums
            spread = count * sxx - sx * sx
            if float(y[-1]) >= RATIO_SPAN_S and spread > 0:
                self.ratio = float((count * sxy - sx * sy) / spread)
        return dev

    def _catching_up(self, late: np.ndarray) -> bool:
        """Whether the held lead is shrinking: the host was busy and is working through a backlog
        faster than the sensor sends. A lost notification leaves a lead that stays put."""
        host_s = self._held_host
        later = host_s >= (host_s[0] + host_s[-1]) / 2
        if later.all() or not later.any():
            return False
        return bool(late[later].min() < late[~later].min() - CATCH_UP_MARGIN * self.period_s)

    def _lateness(self, t_dev_s: np.ndarray, t_host_s: np.ndarray) -> np.ndarray:
        assert self.ratio is not None
        return t_host_s * self.ratio - t_dev_s

    @property
    def countable(self) -> bool:
        """Whether this stream's losses can be told from its arrival times at all: its period spans
        MIN_PERIOD_HOST_S of host time (unknown, so assumed, until the clock ratio is measured)."""
        return self.ratio is None or self.period_s / self.ratio >= MIN_PERIOD_HOST_S

    def _resolvable(self, baseline: float) -> bool:
        """Whether arrivals are steady enough to tell one lost notification from jitter."""
        if not self.countable:
            return False
        if not len(self._done_dev):
            return True
        typical = float(np.median(self._lateness(self._done_dev, self._done_host))) - baseline
        return typical <= MAX_JITTER_PERIODS * self.period_s

    def _baseline(self) -> float:
        if not len(self._done_dev):  # a fresh connection: its first samples set the baseline
            return float(self._lateness(self._held_dev[:1] + self._shift_s, self._held_host[:1])[0])
        return float(self._lateness(self._done_dev, self._done_host).min())


def _joined(first: Released, second: Released) -> Released:
    """Two releases in a row as one."""
    t_device_s = np.concatenate([first.t_device_s, second.t_device_s])
    return Released(first.count + second.count, t_device_s, first.lost + second.lost)


def _fit(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y against x."""
    dx = x - x.mean()
    return float((dx * (y - y.mean())).sum() / (dx * dx).sum())
