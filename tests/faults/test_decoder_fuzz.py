"""Decoder fuzzing (a fixed, small subset of bench/decoder_fuzz.py with the same code).

For every device profile: random bytes and mutated valid notifications must raise nothing but
bandlog's own errors, never yield a NaN or infinity, and never move t_s back within a stream.
The full run (>= 100,000 inputs per decoder) is `python bench/decoder_fuzz.py`.
"""

from __future__ import annotations

import random

import pytest
from bench_loader import load_bench
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bandlog.devices import registry

fuzz = load_bench("decoder_fuzz")
KEYS = list(registry())


@pytest.fixture(scope="module")
def targets() -> dict[str, object]:
    return {t.key: t for t in fuzz.build_targets(KEYS, corpus_size=300)}


def assert_clean(tally: object) -> None:
    assert tally.foreign == 0, tally.examples  # type: ignore[attr-defined]
    assert tally.non_finite == 0, tally.examples  # type: ignore[attr-defined]
    assert tally.backwards == 0, tally.examples  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), junk=st.lists(st.binary(max_size=40), max_size=10), at=st.integers(0, 200))
def test_mutated_and_random_inputs_keep_every_promise(targets: dict, key: str, seed: int, junk: list[bytes], at: int) -> None:
    target = targets[key]
    rng = random.Random(seed)
    stream = list(fuzz.inputs(rng, target, 200))
    for payload in junk:
        stream.insert(min(at, len(stream)), (rng.choice(target.uuids), payload))
    assert_clean(fuzz.run_stream(target, stream, rng))


@pytest.mark.parametrize("key", KEYS)
def test_seeded_fuzz_subset_reaches_the_decoders_and_stays_clean(targets: dict, key: str) -> None:
    tally = fuzz.fuzz(targets[key], 3000, seed=11, stream_len=500)
    assert tally.inputs == 3000
    assert tally.samples > 100  # valid packets get through, so the checks saw real output
    assert_clean(tally)
