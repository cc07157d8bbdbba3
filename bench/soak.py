"""Long emulated recordings with every fault, and SIGKILLs at random moments: nothing lost unseen.

    python bench/soak.py [--minutes 20] [--speed 40] [--profiles gdx-for,progressor] [--no-pair]
    python bench/soak.py --kills 20 [--pair-kills | --kill-device witmotion] [--seed 1]

Soak: per sensor profile, one emulated recording through the code `bandlog record --emulate` runs
(bleak over a Bumble link, BleSession, Pipeline with the Analyzer, CsvLogSink), with dropped and
damaged notifications and periodic link losses, faster than real time; then one force + IMU pair.
Every sample a twin sends is streamed to a scratch file as it goes (the twins keep only the last
ones), so memory stays what the recording itself needs. Checks, per recording:

- each sample sent is in the log, or was lost to an injected fault (its notification batch was
  dropped or damaged), or lies inside a gap the log records, or came after the recording stopped;
  anything else is "unexplained" and must be 0;
- no phantom row: every log row is a sample the twin sent (values as encoded, force tared);
- time never goes back; the process's RSS (MB) at the first emulated minute and at the end;
- the recording ends without an error.

Kills: `bandlog record --emulate` (a process of its own) is killed with SIGKILL at a random moment,
from the scan through the tare search to mid-set; the loss is the device time the twin had sent
minus the last sample the log holds (the README promises at most 1 s).

Prints one line per profile (or per kill) with the figures; exits 1 when a bound is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Pipeline, Sink
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus
from bandlog.detect.analysis import Analyzer
from bandlog.emulate.faults import Faults
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.io.schema import FRAME_CHANNELS, TIME_COLUMN

PROFILES = ("bandlog-open", "gdx-for", "pasco-force-accel", "progressor", "sig-force", "thingy52", "witmotion")
PAIR = ("progressor", "witmotion")
PAIR_MAX_SPEED = 10.0
"""Two emulated sensors in one process: at 40x the virtual link saturated on 2 shared cores (GATT
timeouts until the reconnect window ran out), so the pair runs at most this fast."""
TRUTH_COLUMNS = ("t_s", "faulted", *FRAME_CHANNELS, "send")
"""faulted: 1 when the sample's notification was dropped or damaged (its whole send when the twin
does not make one block per notification), 0.5 when another of its send or of the send before or
after was (a decoder may lose a packet while it resynchronises, or a PASCO force answer whose
paired acceleration answer was lost), else 0. send: which send (poll batch) carried it."""
_HOST_DATED_MINUTES = float(os.environ.get("SOAK_HOST_DATED_MINUTES", "2"))
HOST_DATED = {"pasco-force-accel": _HOST_DATED_MINUTES, "sig-force": _HOST_DATED_MINUTES}
"""Sensors whose samples bandlog dates by host arrival (the PASCO is polled, the SIG gauge sends no
clock): faster than real time would squeeze their times, so they run at real speed, for at most
this many minutes (env SOAK_HOST_DATED_MINUTES; 20 for the full soak, 20 wall minutes each)."""
INDEX_TIMED_MAX_SPEED = float(os.environ.get("SOAK_INDEX_TIMED_SPEED", "1"))
"""Sensors with no counter and no clock (Thingy:52, WitMotion) have lost notifications found from
arrival times, which needs arrivals steadier than one sample period: faster than real time the
emulator sends each 4 ms tick's samples in one burst (at 2x, 2 minutes gave 145 slips against 11 a
minute at 1x), so these run at most this fast (the pair too); env SOAK_INDEX_TIMED_SPEED overrides."""
SLIP_BESIDE_FAULT = 2
"""Sent samples from an injected fault within which a slip counts as "at a fault" in the figures
(a loss placed by arrival time can be a sample or two off); reported, still a failure."""
INDEX_TIMED = ("thingy52", "witmotion")
MAX_INDEX_TIMED_SLIP_S = 0.05
"""An index-timed sensor's losses are placed by arrival time, which host load can mislead (a busy
event loop delays a run of arrivals like a loss would): its slips are reported, and fail only past
this, half the detector's onset/offset target (median 100 ms, ../shared/science.md)."""
COMPARED_CHANNELS = {"pasco-force-accel": ("force_n",)}
"""The PASCO sensor answers force and acceleration polls separately; the log pairs them, so each
row's force is a sent force sample but its acceleration may come from the neighbouring answer."""
REPEAT_SPAN = 64
"""Value matches weighed when a log row's sample is not simply the next one sent."""
RUN_CHECK, RUN_SKIP = 12, 4
"""A candidate is weighed by how many of the next RUN_CHECK rows follow it, each within RUN_SKIP sent samples."""
MATCH_WINDOW = 20_000
"""Sent samples searched ahead for a log row (longer runs of loss than this are not expected)."""
KEEP_SENT = 2_000
"""Samples each twin keeps itself during a soak: the scratch file holds the truth."""
MAX_KILL_LOSS_S = 1.0


def soak_faults(minutes: float, seed: int) -> Faults:
    """Every fault at once: 1 % drops, 0.1 % damaged, a link loss every 2 min (at least 3 per run)."""
    return Faults(
        drop_fraction=0.01, corrupt_fraction=0.001, seed=seed, disconnect_every_s=min(120.0, minutes * 60 / 4),
    )


def rss_mb() -> float:
    """Resident memory of this process (Linux), MB; NaN where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


class TruthFile:
    """Every block one peripheral sent, as float64 rows (TRUTH_COLUMNS) appended to a scratch file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 (kept open across sends, closed by close())
        self.samples = 0
        self.sends = 0

    def __call__(self, blocks: list[tuple[SampleBlock, bool]]) -> None:
        self.sends += 1
        for block, faulted in blocks:
            rows = np.full((len(block), len(TRUTH_COLUMNS)), np.nan)
            rows[:, 0], rows[:, 1] = block.t_s, float(faulted)
            if block.force_n is not None:
                rows[:, 2] = block.force_n
            if block.acc_ms2 is not None:
                rows[:, 3:6] = block.acc_ms2
            if block.gyro_dps is not None:
                rows[:, 6:9] = block.gyro_dps
            rows[:, 9] = self.sends
            self._file.write(rows.tobytes())
            self.samples += len(block)

    def read(self) -> np.ndarray:
        self._file.close()
        return np.fromfile(self.path, dtype=np.float64).reshape(-1, len(TRUTH_COLUMNS))


class StatusKeeper(Sink):
    """Keeps the last LinkStatus (its packet counters are what the user is shown)."""

    def __init__(self) -> None:
        self.last: LinkStatus | None = None

    def on_status(self, status: LinkStatus) -> None:
        self.last = status


class RssProbe(Sink):
    """Notes the RSS when the recording passes its first emulated minute, and at the end."""

    def __init__(self, start_at_s: float) -> None:
        self.start_at_s = start_at_s
        self.start_mb = math.nan
        self.end_mb = math.nan

    def on_samples(self, block: SampleBlock) -> None:
        if math.isnan(self.start_mb) and len(block) and block.t_s[-1] >= self.start_at_s:
            self.start_mb = rss_mb()

    def close(self) -> None:
        self.end_mb = rss_mb()


@dataclass
class Check:
    """How the log compares with what the twin sent."""

    sent: int = 0
    logged: int = 0
    lost_to_faults: int = 0
    next_to_faults: int = 0
    in_gaps: int = 0
    after_stop: int = 0
    before_start: int = 0
    """Sent before the recording's first sample (host-dated sensors: probing polls while connecting)."""
    unexplained: int = 0
    phantom: int = 0
    backwards: int = 0
    time_slips: int = 0
    """Rows whose time moved against the device clock by over a millisecond, with no gap between."""
    max_slip_s: float = 0.0
    slip_times_s: list[float] = field(default_factory=list)
    """Log times of the first few slips, to look them up (--keep)."""
    slips_at_faults: int = 0
    """Slips within SLIP_BESIDE_FAULT sent samples of an injected fault (a loss dated a little off,
    or not found at all: at a recording's start or just before a link loss)."""


@dataclass
class SoakResult:
    name: str
    emulated_s: float
    wall_s: float
    check: Check = field(default_factory=Check)
    gaps: int = 0
    dropped_packets: int = 0
    corrupted_packets: int = 0
    injected: str = ""
    injected_dropped: int = 0
    injected_damaged: int = 0
    rss_start_mb: float = math.nan
    rss_end_mb: float = math.nan
    error: str = ""
    host_dated: bool = False
    """Times from host arrival: they jitter against the device clock, so slips are not failures."""
    index_timed: bool = False
    """Losses placed by arrival time: slips up to MAX_INDEX_TIMED_SLIP_S are reported, not failures."""

    @property
    def ok(self) -> bool:
        c = self.check
        slips = 0 if self.host_dated or (self.index_timed and c.max_slip_s <= MAX_INDEX_TIMED_SLIP_S) else c.time_slips
        return not self.error and c.unexplained == 0 and c.phantom == 0 and c.backwards == 0 and slips == 0

    def line(self) -> str:
        c = self.check
        return (
            f"{self.name:<22} {self.emulated_s / 60:5.1f} min in {self.wall_s:5.1f} s: sent {c.sent}, logged {c.logged}, "
            f"lost to faults {c.lost_to_faults} (+{c.next_to_faults} beside one; {self.injected}; counted {self.dropped_packets} dropped, "
            f"{self.corrupted_packets} damaged), in {self.gaps} gaps {c.in_gaps}, before start {c.before_start}, after stop {c.after_stop}, "
            f"UNEXPLAINED {c.unexplained}, PHANTOM {c.phantom}, time back {c.backwards}, "
            f"time slips {c.time_slips} ({c.slips_at_faults} at a fault; max {1e3 * c.max_slip_s:.1f} ms"
            + (f"; first at {', '.join(f'{t:.2f}' for t in c.slip_times_s)} s" if c.slip_times_s else "")
            + "); "
            f"RSS {self.rss_start_mb:.0f} -> {self.rss_end_mb:.0f} MB; "
            + ("clean exit" if not self.error else f"ERROR {self.error}")
            + ("" if self.ok else "  <-- FAILED")
        )


def compare(truth: np.ndarray, log_values: np.ndarray, log_t_s: np.ndarray, gaps: Sequence[tuple[float, float]],
            channels: Sequence[int]) -> Check:
    """Walk the log rows and the sent samples together (both in order); see the module docstring.

    truth: TRUTH_COLUMNS rows; log_values: the log's channels, tare added back, in TRUTH_COLUMNS
    order from column 2; channels: which of those to compare (the ones the twin sends exactly).
    A row matches a sent sample with the same values; where several close ones do, the one whose
    time keeps the log's offset from the device clock wins (so a loss is pinned on the right sample).
    """
    check = Check(sent=len(truth), logged=len(log_values), backwards=int(np.count_nonzero(np.diff(log_t_s) < 0)))
    sent = truth[:, [2 + c for c in channels]]
    sent_t = truth[:, 0]
    got = log_values[:, channels]
    faulted = truth[:, 1] == 1.0
    near_fault = truth[:, 1] == 0.5
    tolerance = 1e-6 + 1e-9 * np.abs(sent)
    offset_s: float | None = None
    previous_row: int | None = None
    previous_k = -1
    j = 0
    missing: list[tuple[int, int, int]] = []  # (first sent index, end, log row before which they are missing)
    def same(index: int, row: np.ndarray) -> bool:
        return index < len(sent) and bool(np.all(np.abs(sent[index] - row) <= tolerance[index]))

    def run_length(i: int, k: int) -> int:
        """How many of the next log rows follow sample k in the sent order (a skip of a few allowed)."""
        count, m = 0, k + 1
        for row in got[i + 1 : i + 1 + RUN_CHECK]:
            step = next((m + d for d in range(RUN_SKIP) if same(m + d, row)), None)
            if step is None:
                continue
            count, m = count + 1, step + 1
        return count

    for i in range(len(got)):
        row = got[i]
        across_gap = previous_row is not None and _gap_between(gaps, log_t_s[previous_row], log_t_s[i])
        if same(j, row) and (offset_s is None or abs(log_t_s[i] - sent_t[j] - offset_s) < 1e-3):
            k = j
        else:
            hits = np.empty(0, dtype=np.int64)
            for span in (REPEAT_SPAN * 4, MATCH_WINDOW):  # near first: a long search per row is slow
                window = slice(j, min(j + span, len(sent)))
                hits = j + np.flatnonzero(np.all(np.abs(sent[window] - row) <= tolerance[window], axis=1))
                if len(hits):
                    break
            if len(hits) == 0:
                check.phantom += 1
                continue
            # values repeat (a force at rest keeps its quantised value): the candidate the next rows
            # follow wins; then one whose notification arrived (a dropped or damaged one never reaches
            # the log); then the one keeping the log's offset from the device clock, but not across a
            # gap, where the device clock restarted and the old offset says nothing: there the first.
            # (Right after a reconnect a row of 0.78 N once matched the dropped 0.78 N sample after
            # its own, and the next row read as a 12.5 ms time slip.)
            close = hits[:REPEAT_SPAN]
            runs = np.array([run_length(i, int(c)) for c in close])
            best = close[runs == runs.max()]
            delivered = best[~faulted[best]]
            best = delivered if len(delivered) else best
            k = int(best[0]) if offset_s is None or across_gap else int(best[np.argmin(np.abs(log_t_s[i] - sent_t[best] - offset_s))])
        new_offset_s = log_t_s[i] - sent_t[k]
        if offset_s is not None and previous_row is not None and not across_gap:
            slip_s = abs(new_offset_s - offset_s)
            check.max_slip_s = max(check.max_slip_s, slip_s)
            check.time_slips += slip_s > 1e-3
            if slip_s > 1e-3 and len(check.slip_times_s) < 5:
                check.slip_times_s.append(float(log_t_s[i]))
            if slip_s > 1e-3 and np.any(faulted[max(previous_k - SLIP_BESIDE_FAULT, 0) : k + SLIP_BESIDE_FAULT + 1]):
                check.slips_at_faults += 1
        offset_s, previous_row, previous_k = new_offset_s, i, k
        if k > j:
            missing.append((j, k, i))
        j = k + 1
    check.after_stop = len(sent) - j
    for first, end, before_row in missing:
        lost = np.arange(first, end)
        by_fault, by_neighbour = faulted[lost], near_fault[lost]
        check.lost_to_faults += int(np.count_nonzero(by_fault))
        check.next_to_faults += int(np.count_nonzero(by_neighbour))
        rest = int(np.count_nonzero(~by_fault & ~by_neighbour))
        if rest and before_row > 0 and _gap_between(gaps, log_t_s[before_row - 1], log_t_s[before_row]):
            check.in_gaps += rest
        else:
            check.unexplained += rest
    return check


def _gap_between(gaps: Sequence[tuple[float, float]], t0_s: float, t1_s: float) -> bool:
    return any(t0_s - 1e-6 <= start <= end <= t1_s + 1e-6 for start, end in gaps)


def check_log(log_path: Path, truth: np.ndarray, channels: Sequence[str] | None = None, by_time: bool = False,
              beside_sends: int = 1) -> Check:
    """Compare a log with a twin's truth file; channels default to every one the log carries.

    by_time: a host-dated sensor (compare_host_dated), whose repeating values lose the value walk."""
    data = read_log(log_path)
    frame = data.samples
    present = [c for c in FRAME_CHANNELS if c in frame and frame[c].notna().any()] if channels is None else list(channels)
    values = np.full((len(frame), len(FRAME_CHANNELS)), np.nan)
    for name in present:
        values[:, FRAME_CHANNELS.index(name)] = frame[name].to_numpy(dtype=np.float64)
    tare_n = data.meta.tare_offset_n
    if tare_n is not None and "force_n" in present:
        values[:, 0] += tare_n
    gaps = [(g.start_s, g.end_s) for g in data.gaps]
    compared = [2 + FRAME_CHANNELS.index(c) for c in present]
    truth = truth.copy()
    own = truth[:, 1] == 1.0
    faulted_sends = np.unique(truth[own, 9])
    beside = np.isin(truth[:, 9], np.concatenate([faulted_sends + d for d in range(-beside_sends, beside_sends + 1)]))
    truth[beside & ~own, 1] = 0.5
    truth = truth[np.all(np.isfinite(truth[:, compared]), axis=1)]  # samples of the channels compared
    compare_log = compare_host_dated if by_time else compare
    return compare_log(truth, values, frame[TIME_COLUMN].to_numpy(dtype=np.float64), gaps,
                       [FRAME_CHANNELS.index(c) for c in present])


MATCHED_BY_TIME = ("pasco-force-accel",)
"""Host-dated sensors whose values repeat too much to walk by value (compare_host_dated). The SIG
gauge's values walk fine, and its log time restarts with each connection, which time matching
would have to follow."""
BESIDE_SENDS = {"pasco-force-accel": 3}
"""Sends either side of a faulted one whose samples count as lost "beside" it: a PASCO polling round
is three polls (force, acceleration, gyro), and a round whose answer was lost is abandoned whole
after its timeout (the decoder counts it once, as an unanswered round)."""
HOST_MATCH_PERIODS = 1.0
"""How far, in typical log intervals, a host-dated row may sit from its sample's send time before it
counts as a slip (a PASCO row is dated at its polling round's midpoint, a SIG gauge's at arrival)."""
HOST_MATCH_MAX_S = 0.3
"""How far a host-dated row may sit from its sample's send time and still be matched to it: half the
longest polling round seen on a loaded machine (a busy host's rounds took up to ~0.5 s)."""


def compare_host_dated(truth: np.ndarray, log_values: np.ndarray, log_t_s: np.ndarray, gaps: Sequence[tuple[float, float]],
                       channels: Sequence[int]) -> Check:
    """`compare` for a sensor dated by host time: a force at rest repeats a few quantised values, so
    walking by value loses its place (PASCO: 1,314 "unexplained" and 1,387 "phantom" for a clean
    log), and matching each row greedily to the nearest sample of its values lets a row take its
    neighbour's sample when host dating jitters (hundreds of "phantoms" on a loaded machine). The
    log's clock and the twin's are one host clock here (real speed), so after one constant offset
    found on the first rows, rows are aligned to samples as the longest chain of equal-valued
    (row, sample) pairs in time order on both sides, each within HOST_MATCH_MAX_S: rows are a
    subsequence of what was sent, and no row or sample is used twice. Rows outside the chain are
    phantoms, samples outside it lost. Samples sent before the first matched one (a PASCO's probing
    polls while connecting) are not part of the recording; a slip is a matched row further than
    HOST_MATCH_PERIODS intervals from its sample (reported only: host dating jitters)."""
    check = Check(sent=len(truth), logged=len(log_values), backwards=int(np.count_nonzero(np.diff(log_t_s) < 0)))
    if not len(log_values) or not len(truth):
        return check
    sent_t, sent = truth[:, 0], truth[:, [2 + c for c in channels]]
    got = log_values[:, channels]
    tolerance = 1e-6 + 1e-9 * np.abs(sent)
    step_s = float(np.median(np.diff(log_t_s))) if len(log_t_s) > 1 else 0.01
    window_s = HOST_MATCH_PERIODS * step_s

    def equal(rows: np.ndarray, value: np.ndarray) -> np.ndarray:
        return np.all(np.abs(sent[rows] - value) <= tolerance[rows], axis=1)

    def same(rows: np.ndarray, i: int) -> np.ndarray:
        return equal(rows, got[i])

    def fit(offset_s: float) -> float:
        """How well the first OFFSET_ROWS rows align with this offset: pairs, then closeness."""
        head = _aligned(sent_t[:OFFSET_SAMPLES] + offset_s, log_t_s[:OFFSET_ROWS], same)
        return len(head) * MATCH_SCORE - sum(abs(sent_t[k] + offset_s - log_t_s[i]) for i, k in head)

    first = np.flatnonzero(equal(np.arange(min(len(sent), OFFSET_SAMPLES)), got[0]))
    if not len(first):
        check.phantom = len(got)
        return check
    offsets_s = np.unique(np.round(log_t_s[0] - sent_t[first], 3))  # the first row is one of these samples
    offset_s = float(max(offsets_s, key=fit))
    pairs = _aligned(sent_t + offset_s, log_t_s, same)
    used = np.zeros(len(truth), dtype=bool)
    used[[k for _, k in pairs]] = True
    check.phantom = len(got) - len(pairs)
    slips_s = np.array([abs(sent_t[k] + offset_s - log_t_s[i]) for i, k in pairs])
    if len(slips_s):
        check.time_slips = int(np.count_nonzero(slips_s > window_s))
        check.max_slip_s = float(slips_s.max()) if check.time_slips else 0.0
    if not pairs:
        return check
    done = np.flatnonzero(used)
    check.before_start, check.after_stop = int(done[0]), int(len(truth) - 1 - done[-1])
    missing = np.flatnonzero(~used[done[0] : done[-1]]) + done[0]
    faulted, near_fault = truth[missing, 1] == 1.0, truth[missing, 1] == 0.5
    check.lost_to_faults = int(np.count_nonzero(faulted))
    check.next_to_faults = int(np.count_nonzero(near_fault))
    rest = missing[~faulted & ~near_fault]
    in_gap = np.array([any(start - window_s <= sent_t[k] + offset_s <= end + window_s for start, end in gaps) for k in rest], dtype=bool)
    check.in_gaps = int(np.count_nonzero(in_gap))
    check.unexplained = int(np.count_nonzero(~in_gap))
    return check


def _aligned(sample_t_s: np.ndarray, row_t_s: np.ndarray, same: Callable[[np.ndarray, int], np.ndarray]) -> list[tuple[int, int]]:
    """The chain of (row, sample) pairs, both strictly increasing, each of equal values
    (`same(samples, row)`) and within HOST_MATCH_MAX_S, with the most pairs and among those the least
    total time apart: a weighted longest increasing subsequence (each pair scores MATCH_SCORE minus
    its distance), kept in a prefix-maximum Fenwick tree over sample indices."""
    size = len(sample_t_s)
    best = [-math.inf] * (size + 1)  # Fenwick tree: best chain score ending at a sample below an index
    best_at = [-1] * (size + 1)
    pairs: list[tuple[int, int]] = []
    parent: list[int] = []
    order = np.argsort(sample_t_s, kind="stable")
    sorted_t = sample_t_s[order]

    def query(k: int) -> tuple[float, int]:
        """Best score (and its pair) of a chain whose last sample is below k."""
        score, at = 0.0, -1
        while k > 0:
            if best[k] > score:
                score, at = best[k], best_at[k]
            k -= k & -k
        return score, at

    def update(k: int, score: float, at: int) -> None:
        k += 1
        while k <= size:
            if score > best[k]:
                best[k], best_at[k] = score, at
            k += k & -k

    for i, t_s in enumerate(row_t_s):
        lo, hi = np.searchsorted(sorted_t, [t_s - HOST_MATCH_MAX_S, t_s + HOST_MATCH_MAX_S])
        near = np.sort(order[lo:hi])
        near = near[same(near, i)] if len(near) else near
        found = []
        for k in near.tolist():  # scored against earlier rows only, then entered: a row pairs once
            score, at = query(k)
            found.append((k, score + MATCH_SCORE - abs(float(sample_t_s[k]) - t_s), at))
        for k, score, at in found:
            pairs.append((i, k))
            parent.append(at)
            update(k, score, len(pairs) - 1)
    _, at = query(size)
    chain: list[tuple[int, int]] = []
    while at >= 0:
        chain.append(pairs[at])
        at = parent[at]
    return chain[::-1]


MATCH_SCORE = 1e6
"""A matched pair outweighs any sum of distances (seconds): the chain first has the most pairs."""
OFFSET_SAMPLES, OFFSET_ROWS = 2000, 100
"""The offset between log and twin clocks is the one that aligns the first rows best with the first
samples (a PASCO's probing polls while connecting come before the first row)."""


async def _record_one(profile: str, minutes: float, speed: float, seed: int, out: Path, scratch: Path) -> SoakResult:
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.emulate.twins import twin_registry
    from bandlog.sim import random_spec, simulate_session
    from bandlog.sources.ble import stream

    if profile in HOST_DATED:
        minutes, speed = min(minutes, HOST_DATED[profile]), 1.0
    if profile in INDEX_TIMED:
        speed = min(speed, INDEX_TIMED_MAX_SPEED)
    duration_s = minutes * 60
    motion = simulate_session(random_spec(seed, n_sets=max(1, math.ceil(duration_s / 150))))
    twin = twin_registry()[profile](motion)
    twin.sent_samples.keep_samples = KEEP_SENT
    faults = soak_faults(minutes, seed)
    truth = TruthFile(scratch / f"{profile}.truth")
    probe, keeper = RssProbe(start_at_s=min(60.0, duration_s / 4)), StatusKeeper()
    result = SoakResult(profile, duration_s, 0.0, host_dated=profile in HOST_DATED, index_timed=profile in INDEX_TIMED)
    started = time.monotonic()
    pipeline = Pipeline(Analyzer(), [CsvLogSink(out), probe, keeper])
    async with emulated_sensors([twin], speed=speed, faults={twin.name: faults}) as world:
        peripheral = world.peripheral(twin.name)
        peripheral.truth_listener = truth
        try:
            piped = await pipeline.run(stream(profile, backends=world.backends, duration_s=duration_s, meta=RecordingMeta()))
            result.gaps = len(piped.gaps)
        except Exception as error:  # a soak reports any failure as a figure, then goes on
            result.error = f"{type(error).__name__}: {error}"
        result.injected = f"injected {peripheral.dropped_total} dropped, {peripheral.corrupted_total} damaged"
        result.injected_dropped, result.injected_damaged = peripheral.dropped_total, peripheral.corrupted_total
    if _finish(result, started, probe, keeper, out):
        result.check = check_log(out, truth.read(), COMPARED_CHANNELS.get(profile), by_time=profile in MATCHED_BY_TIME,
                                 beside_sends=BESIDE_SENDS.get(profile, 1))
    return result


def _finish(result: SoakResult, started: float, probe: RssProbe, keeper: StatusKeeper, out: Path) -> bool:
    """Wall time, memory and the link's own counts into the result; False when no log was written."""
    result.wall_s = time.monotonic() - started
    result.rss_start_mb, result.rss_end_mb = probe.start_mb, probe.end_mb
    if keeper.last is not None:
        result.dropped_packets, result.corrupted_packets = keeper.last.dropped_packets, keeper.last.corrupted_packets
    if not out.exists():
        result.error = result.error or "no log written"
        return False
    return True


async def _record_pair(minutes: float, speed: float, seed: int, out: Path, scratch: Path) -> SoakResult:
    from bandlog.emulate.shared_clock import SharedClockMotion
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.emulate.twins import twin_registry
    from bandlog.sim import random_spec, simulate_session
    from bandlog.sources.pair import paired_stream

    duration_s = minutes * 60
    motion = simulate_session(random_spec(seed, n_sets=max(1, math.ceil(duration_s / 150))))
    loop = asyncio.get_running_loop()
    shared = SharedClockMotion(motion, lambda: loop.time() * speed)
    force_twin, imu_twin = (twin_registry()[key](shared.view()) for key in PAIR)
    truths = {}
    faults = soak_faults(minutes, seed)
    probe, keeper = RssProbe(start_at_s=min(60.0, duration_s / 4)), StatusKeeper()
    result = SoakResult(" + ".join(PAIR), duration_s, 0.0, index_timed=any(key in INDEX_TIMED for key in PAIR))
    started = time.monotonic()
    pipeline = Pipeline(Analyzer(), [CsvLogSink(out), probe, keeper])
    twins = [force_twin, imu_twin]
    async with emulated_sensors(twins, speed=speed, faults={t.name: faults for t in twins}) as world:
        for twin in twins:
            twin.sent_samples.keep_samples = KEEP_SENT
            truths[twin.profile_key] = TruthFile(scratch / f"pair-{twin.profile_key}.truth")
            world.peripheral(twin.name).truth_listener = truths[twin.profile_key]
        try:
            piped = await pipeline.run(
                paired_stream(PAIR[0], PAIR[1], backends=world.backends, duration_s=duration_s, meta=RecordingMeta())
            )
            result.gaps = len(piped.gaps)
        except Exception as error:  # reported as a figure
            result.error = f"{type(error).__name__}: {error}"
        injected = [world.peripheral(t.name) for t in twins]
        result.injected = "injected " + ", ".join(f"{p.dropped_total} dropped, {p.corrupted_total} damaged" for p in injected)
        result.injected_dropped = sum(p.dropped_total for p in injected)
        result.injected_damaged = sum(p.corrupted_total for p in injected)
    if _finish(result, started, probe, keeper, out):
        # force is interpolated onto the IMU's times: the IMU's channels must be exactly what it sent
        result.check = check_log(out, truths[PAIR[1]].read(), channels=("acc_x_ms2", "acc_y_ms2", "acc_z_ms2",
                                                                        "gyro_x_dps", "gyro_y_dps", "gyro_z_dps"))
    return result


def soak(profiles: Sequence[str], minutes: float, speed: float, seed: int, pair: bool, folder: Path) -> list[SoakResult]:
    """Run the soak recordings one after another (each in a fresh event loop); their results."""
    results = []
    for profile in profiles:
        result = asyncio.run(_record_one(profile, minutes, speed, seed, folder / f"{profile}.csv", folder))
        results.append(result)
        print(result.line(), flush=True)
    if pair:
        pair_speed = min(speed, PAIR_MAX_SPEED, INDEX_TIMED_MAX_SPEED if set(PAIR) & set(INDEX_TIMED) else math.inf)
        result = asyncio.run(_record_pair(minutes, pair_speed, seed, folder / "pair.csv", folder))
        results.append(result)
        print(result.line(), flush=True)
    return results


# --- SIGKILL -------------------------------------------------------------------------------------

KILL_CHILD = textwrap.dedent(
    """
    import os, sys
    progress = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    from bandlog.emulate.twins import base

    append = base.SentSamples.append

    def noting(self, block):  # unbuffered: what the twin had sent when the kill came
        append(self, block)
        if len(block):
            kind = "imu" if block.gyro_dps is not None else "force"
            os.write(progress, f"{kind} {self.total} {float(block.t_s[-1])!r}\\n".encode())

    base.SentSamples.append = noting
    if sys.argv[2] == "moving":  # the leg moves from the first sample: the tare searches its full 5 s
        import bandlog.sim
        from bandlog.core.motion import PeriodicMotion
        bandlog.sim.simulate_session = lambda spec: PeriodicMotion(duration_s=600.0)
    from bandlog.cli import main
    sys.exit(main(sys.argv[3:]))
    """
)


@dataclass(frozen=True)
class KillResult:
    delay_s: float
    moving: bool
    sent_t_s: float | None
    logged_t_s: float | None

    @property
    def lost_s(self) -> float:
        if self.sent_t_s is None:
            return 0.0
        return self.sent_t_s - (self.logged_t_s if self.logged_t_s is not None else 0.0)

    def line(self) -> str:
        when = "before any sample" if self.sent_t_s is None else f"{self.sent_t_s:6.2f} s into the stream"
        start = "moving start" if self.moving else "still start"
        logged = "no sample in the log" if self.logged_t_s is None else f"log to {self.logged_t_s:6.2f} s"
        flag = "" if self.lost_s <= MAX_KILL_LOSS_S else "  <-- over 1 s"
        return f"kill at +{self.delay_s:4.2f} s ({start}), {when}: {logged}, lost {self.lost_s:.2f} s{flag}"


def kill_recording(folder: Path, delay_s: float, *, moving: bool, device: str = "gdx-for", after_first_sample: bool = True,
                   imu: str | None = None) -> KillResult:
    """Run `bandlog record --emulate` in a child, SIGKILL it delay_s after its first sample (or its start).

    With `imu`, a paired recording (force from `device`, motion from `imu`)."""
    tag = f"{delay_s:.3f}-{'m' if moving else 's'}-{time.monotonic_ns()}"
    log_path, progress = folder / f"kill-{tag}.csv", folder / f"kill-{tag}.progress"
    argv = ["record", "--emulate", "--device", device, "--view", "none", "--out", str(log_path)]
    if imu is not None:
        argv += ["--imu", imu]
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(progress), "moving" if moving else "still", *argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        if after_first_sample:
            while not (progress.exists() and progress.stat().st_size > 0):
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the recording never started streaming")
                time.sleep(0.01)
        time.sleep(delay_s)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    if imu is not None or device in INDEX_TIMED:  # their log times start at 0 on the first sample received
        return _counted_kill_result(delay_s, moving, log_path, progress)
    sent = progress.read_text().split() if progress.exists() else []
    logged = None
    if log_path.exists():
        samples = read_log(log_path).samples
        logged = float(samples[TIME_COLUMN].iloc[-1]) if len(samples) else None
    return KillResult(delay_s, moving, float(sent[-1]) if sent else None, logged)


def _counted_kill_result(delay_s: float, moving: bool, log_path: Path, progress: Path) -> KillResult:
    """A loss counted on the IMU (a pair's time line, or an index-timed sensor alone): the IMU
    samples sent minus the most any file kept (the log, or a pair's unaligned IMU part kept until
    the clocks align), in seconds at the IMU's rate."""
    from bandlog.io.pair_journal import journal_path

    lines = [line.split() for line in progress.read_text().splitlines()] if progress.exists() else []
    imu = [(int(n), float(t)) for kind, n, t in lines if kind == "imu"]
    if len(imu) < 2:
        return KillResult(delay_s, moving, None, None)
    (n0, t0), (n1, t1) = imu[0], imu[-1]
    period_s = (t1 - t0) / max(n1 - n0, 1)
    kept = 0
    for path in (log_path, journal_path(log_path, "imu")):
        if path.exists():
            kept = max(kept, len(read_log(path).samples))
    return KillResult(delay_s, moving, n1 * period_s, kept * period_s if kept else None)


def kills(count: int, seed: int, folder: Path, pair: bool = False, device: str = "gdx-for") -> list[KillResult]:
    """count kills at random moments from process start to mid-set, half with a tare searching 5 s.

    pair: paired recordings (PAIR), killed up to 20 s in, mostly before their clocks are aligned."""
    rng = random.Random(seed)
    results = []
    for index in range(count):
        moving = index % 2 == 0
        delay_s = rng.uniform(0.0, 20.0 if pair else 8.0)
        result = kill_recording(folder, delay_s, moving=moving, after_first_sample=rng.random() < 0.8,
                                **({"device": PAIR[0], "imu": PAIR[1]} if pair else {"device": device}))
        results.append(result)
        print(result.line(), flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="emulated minutes per recording (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=40.0, help="times faster than real time (default: %(default)s)")
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated profile keys")
    parser.add_argument("--no-pair", action="store_true", help="skip the two-device soak")
    parser.add_argument("--kills", type=int, default=0, help="instead of soaking: SIGKILL this many recordings")
    parser.add_argument("--pair-kills", action="store_true", help="with --kills: kill paired recordings ({})".format(" + ".join(PAIR)))
    parser.add_argument("--kill-device", default="gdx-for", help="with --kills: the emulated sensor recorded (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the logs and truth files here and keep them (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the faults make bandlog warn on purpose, hundreds of times
    with tempfile.TemporaryDirectory(prefix="bandlog-soak-") as scratch:
        folder = Path(scratch)
        if args.keep:
            folder = args.keep
            folder.mkdir(parents=True, exist_ok=True)
        if args.kills:
            results = kills(args.kills, args.seed, folder, pair=args.pair_kills, device=args.kill_device)
            worst = max(r.lost_s for r in results)
            print(f"{len(results)} kills: worst loss {worst:.2f} s (bound {MAX_KILL_LOSS_S:g} s)")
            return 0 if worst <= MAX_KILL_LOSS_S else 1
        profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
        results = soak(profiles, args.minutes, args.speed, args.seed, not args.no_pair, folder)
        return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
