"""Decoder fuzzing: random and mutated-valid notifications through every device decoder, one command:

    python bench/decoder_fuzz.py [--inputs 100000] [--seed 0] [--stream 500] [--profile KEY ...]

For each profile in bandlog.devices, valid notifications are first recorded from its emulated twin
(over LoopbackLink, no BLE). Then --inputs notifications are fed to fresh decoders, --stream at a
time (each stream is one connection): a mix of valid ones, valid ones with random edits (bit flips,
byte changes, truncation, extension, a wrong length byte, splices, stale repeats of an earlier
notification), and random bytes, with increasing host arrival times. Checked for every input:
- nothing but bandlog.core.errors.BandlogError escapes feed();
- no block carries a NaN or infinity;
- t_s never goes back within a stream.
Prints per decoder: inputs, foreign exceptions, non-finite outputs, steps back, samples out, seconds.
Exit status 1 when any count that must be 0 is not. tests/faults/test_decoder_fuzz.py runs a small
fixed subset of this with the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bandlog.core.errors import BandlogError
from bandlog.core.link import Notification
from bandlog.devices import get_profile, registry
from bandlog.devices.base import StreamDecoder
from bandlog.devices.pasco import PascoDecoder, PascoProfile
from bandlog.devices.pasco_codec import Channel
from bandlog.devices.pasco_poll import PollPlan, RoundBook
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins import twin_registry

CORPUS_NOTIFICATIONS = 600


@dataclass
class Target:
    """One decoder under test: how to make a fresh one, and valid notifications to start from."""

    key: str
    corpus: list[Notification]
    make: Callable[[Callable[[], float]], tuple[StreamDecoder, Callable[[], None]]]
    """clock -> (decoder, hook called before every feed); the hook stands in for a polling task."""

    @property
    def uuids(self) -> list[str]:
        return sorted({n.char_uuid for n in self.corpus})


async def _record(key: str, count: int) -> Target:
    twin = twin_registry()[key]()
    link = LoopbackLink(twin)
    profile = PascoProfile(clock=lambda: link.now_s) if key == PascoProfile.key else get_profile(key)()
    info = await profile.start(link)
    recorder = profile.new_decoder(info)  # PASCO polls again only once its answers are filed
    corpus: list[Notification] = []
    for _ in range(count):
        await asyncio.sleep(0)  # the PASCO poller writes its next requests
        corpus.append(await link.next_notification(1.0))
        recorder.feed(corpus[-1])
    await profile.stop(link)
    if key != PascoProfile.key:
        return Target(key, corpus, lambda clock: (profile.new_decoder(info), lambda: None))

    def make_pasco(clock: Callable[[], float]) -> tuple[StreamDecoder, Callable[[], None]]:
        # The Poller's part, done synchronously: a stage is always requested, so replies are filed.
        book = RoundBook(PollPlan.pipelined({c: c.service for c in Channel}), 0.0, clock=clock)

        def poll() -> None:
            if not book.outstanding:
                book.open_stage()

        return PascoDecoder(book), poll

    return Target(key, corpus, make_pasco)


def build_targets(keys: list[str] | None = None, corpus_size: int = CORPUS_NOTIFICATIONS) -> list[Target]:
    """A target per device profile (or per key asked for), with valid notifications from its twin."""

    async def build() -> list[Target]:
        return [await _record(key, corpus_size) for key in (keys or list(registry()))]

    logging.disable(logging.WARNING)  # the twins and decoders log every damaged packet
    try:
        return asyncio.run(build())
    finally:
        logging.disable(logging.NOTSET)


def mutate(rng: random.Random, payload: bytes, corpus: list[Notification]) -> bytes:
    """One random edit of a valid payload."""
    data = bytearray(payload)
    edit = rng.randrange(9)
    if edit == 0 and data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif edit == 1 and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif edit == 2 and data:
        del data[rng.randrange(len(data)) :]
    elif edit == 3:
        data += rng.randbytes(rng.randrange(1, 9))
    elif edit == 4 and len(data) > 1:
        data[1] = (data[1] + rng.choice((-2, -1, 1, 2, 128))) % 256
    elif edit == 5:
        other = rng.choice(corpus).payload
        cut = rng.randrange(len(data) + 1)
        data = data[:cut] + other[rng.randrange(len(other) + 1) :]
    elif edit == 6 and len(data) >= 4:
        start = rng.randrange(len(data) - 3)  # a corrupt 32-bit field (timestamps, floats)
        data[start : start + 4] = rng.choice((b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", rng.randbytes(4)))
    elif edit == 7 and data:
        data[rng.randrange(len(data))] = rng.choice((0x00, 0x20, 0x55, 0x80, 0xFF))
    return bytes(data)


DAMAGE_LEVELS = (0.01, 0.05, 0.2, 0.6)
"""Share of a stream's inputs that are damaged; drawn per stream, so multi-fragment packets also
arrive whole often enough for the decoders' later stages to be reached."""


def inputs(rng: random.Random, target: Target, count: int) -> Iterator[tuple[str, bytes]]:
    """(characteristic, payload) pairs: valid in order, edited, lost, repeated stale, or random."""
    corpus = target.corpus
    uuids = target.uuids
    damage = rng.choice(DAMAGE_LEVELS)
    at = rng.randrange(len(corpus))
    emitted = 0
    while emitted < count:
        note = corpus[at]
        at = (at + 1) % len(corpus)
        kind = rng.random() / damage
        if kind >= 1.0:
            yield note.char_uuid, note.payload
        elif kind < 0.6:
            yield note.char_uuid, mutate(rng, note.payload, corpus)
        elif kind < 0.75:
            continue  # lost
        elif kind < 0.9:
            yield note.char_uuid, corpus[rng.randrange(len(corpus))].payload  # stale or out of order
        else:
            yield rng.choice(uuids), rng.randbytes(rng.randrange(0, 41))
        emitted += 1


@dataclass
class Tally:
    inputs: int = 0
    foreign: int = 0
    non_finite: int = 0
    backwards: int = 0
    samples: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.foreign == self.non_finite == self.backwards == 0

    def add(self, other: Tally) -> None:
        self.inputs += other.inputs
        self.foreign += other.foreign
        self.non_finite += other.non_finite
        self.backwards += other.backwards
        self.samples += other.samples
        self.seconds += other.seconds
        self.examples += other.examples[: max(0, 3 - len(self.examples))]


def run_stream(target: Target, stream: list[tuple[str, bytes]], rng: random.Random) -> Tally:
    """Feed one stream to a fresh decoder and check every promise on every output."""
    now_s = [0.0]
    decoder, before_feed = target.make(lambda: now_s[0])
    tally = Tally()
    last_t_s = -np.inf
    started = time.perf_counter()
    for char_uuid, payload in stream:
        now_s[0] += rng.random() * 0.02
        before_feed()
        tally.inputs += 1
        try:
            out = decoder.feed(Notification(char_uuid, payload, now_s[0]))
        except BandlogError:
            continue
        except Exception as error:
            tally.foreign += 1
            if len(tally.examples) < 3:
                tally.examples.append(f"{type(error).__name__}: {error} <- {payload.hex(' ')}")
            continue
        for block in out.blocks:
            if not len(block):
                continue
            tally.samples += len(block)
            arrays = [a for a in (block.t_s, block.force_n, block.acc_ms2, block.gyro_dps) if a is not None]
            if not all(np.isfinite(a).all() for a in arrays):
                tally.non_finite += 1
                if len(tally.examples) < 3:
                    tally.examples.append(f"non-finite output <- {payload.hex(' ')}")
            t_s = np.concatenate([[last_t_s], block.t_s])
            if np.any(np.diff(t_s) < 0):
                tally.backwards += 1
                if len(tally.examples) < 3:
                    tally.examples.append(f"t_s went back from {last_t_s} to {block.t_s.min()} <- {payload.hex(' ')}")
            last_t_s = max(last_t_s, float(np.nanmax(block.t_s))) if np.isfinite(block.t_s).any() else last_t_s
    tally.seconds = time.perf_counter() - started
    return tally


def fuzz(target: Target, count: int, seed: int = 0, stream_len: int = 500) -> Tally:
    """count inputs in streams of stream_len, each to a fresh decoder."""
    rng = random.Random(f"{seed}:{target.key}")
    total = Tally()
    done = 0
    logging.disable(logging.WARNING)
    try:
        while done < count:
            n = min(stream_len, count - done)
            total.add(run_stream(target, list(inputs(rng, target, n)), rng))
            done += n
    finally:
        logging.disable(logging.NOTSET)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per decoder (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stream", type=int, default=500, help="inputs per decoder instance (one connection)")
    parser.add_argument("--profile", action="append", help="only this profile key (repeatable)")
    args = parser.parse_args(argv)
    targets = build_targets(args.profile)
    print(f"{'decoder':<20} {'inputs':>8} {'foreign exc':>11} {'non-finite':>10} {'t back':>6} {'samples out':>11} {'seconds':>8}")
    all_clean = True
    for target in targets:
        tally = fuzz(target, args.inputs, args.seed, args.stream)
        all_clean &= tally.clean
        print(f"{target.key:<20} {tally.inputs:>8} {tally.foreign:>11} {tally.non_finite:>10} {tally.backwards:>6} {tally.samples:>11} {tally.seconds:>8.1f}")
        for example in tally.examples:
            print(f"    {example[:300]}")
    return 0 if all_clean else 1


if __name__ == "__main__":
    sys.exit(main())
