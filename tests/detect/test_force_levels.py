"""The force-only machine's rest level: it follows a drifting zero through a long rest, and a low
anchor's dips and rebounds do not become the rest."""

from __future__ import annotations

import numpy as np

from bandlog.detect.analysis import analyze_block
from bandlog.detect.levels import MAX_REST_SAMPLES, ForceLevels


def test_a_long_rest_closes_at_its_newest_level() -> None:
    """A load cell's zero drifts through a 2.5 min rest between sets by more than a light band's
    pull. The rest used to keep only its first MAX_REST_SAMPLES samples, so the level it closed at
    was the one from the start of the rest."""
    levels = ForceLevels()
    drifting_n = np.linspace(12.0, 16.0, 3 * MAX_REST_SAMPLES)
    for i in range(0, drifting_n.size, 700):  # in blocks, as the bulk path hands them over
        levels.rest_samples(drifting_n[i : i + 700].tolist())
    assert abs(levels.rest_n() - 16.0) < 0.1  # type: ignore[operator]
    levels.close_rest()
    newest = drifting_n[-MAX_REST_SAMPLES:]
    assert levels.last_rest_n is not None and abs(levels.last_rest_n - float(np.median(newest))) < 1e-9


def test_stepped_and_bulk_rest_samples_agree() -> None:
    stepped, bulk = ForceLevels(), ForceLevels()
    values = np.sin(np.arange(9000) / 300.0).tolist()
    for value in values:
        stepped.rest_sample(value)
    bulk.rest_samples(values[:5000])
    bulk.rest_samples(values[5000:])
    assert stepped.rest_window_n() == bulk.rest_window_n()
    stepped.close_rest()
    bulk.close_rest()
    assert stepped.last_rest_n == bulk.last_rest_n


def test_a_low_anchor_whose_dip_outweighs_the_pull_after_a_drifting_rest_is_counted_right() -> None:
    """Seed 208: the band falls 6 N under its rest at mid-flexion against a 4 N pull over it, and the
    zero drifts 4 N through the rest between sets. The rest used to settle at the dip's bottom (the
    first dip was read from the foot of the recording and judged against a 'noise' holding the
    dips themselves), so every rebound to the true rest became a held 'pull', and after the long
    rest a stale level did the same: 25 false rows and 11 missed reps in 33."""
    from bandlog.sim import random_scenario, random_spec, simulate_session

    spec = random_spec(208, **random_scenario(208))
    session = simulate_session(spec)
    reps, _ = analyze_block(session.record(rate_hz=100.0, channels="force"), spec.target_ecc_s)
    truth = [t for t in session.truth_reps if not t.truncated]
    timed = [r for r in reps if r.ecc_start_s is not None]
    matched = [t for t in truth if any(min(r.ecc_end_s, t.offset_s) > max(r.ecc_start_s, t.onset_s) for r in timed)]
    # one rep of 33 pulls 2 N over the rest and then falls under it in 0.3 s: force alone reads a
    # held pull let go (the fall below the rest is the knee passing the band's shortest length)
    assert len([r for r in reps if "isometric" in r.flags]) <= 1
    assert len(timed) <= len(truth) and len(matched) >= len(truth) - 3


def test_a_very_slow_eccentric_on_a_light_band_is_timed_not_taken_for_a_pull_let_go() -> None:
    """Seed 148: an 11 s eccentric on a 7 N band falls ~0.6 N/s, under the eccentric gate's R / 10 per
    s, so the machine saw the load come off only when it reached the rest. That 'release' made an
    isometric row with no eccentric; a pull let go falls from half its load to rest in 0.1-0.3 s."""
    from bandlog.sim import random_scenario, random_spec, simulate_session

    spec = random_spec(148, **random_scenario(148))
    session = simulate_session(spec)
    [slow] = [t for t in session.truth_reps if t.kind == "very_slow"]
    reps, _ = analyze_block(session.record(rate_hz=100.0, channels="force"), spec.target_ecc_s)
    [row] = [r for r in reps if r.start_s < slow.offset_s and r.end_s > slow.onset_s]
    assert row.ecc_start_s is not None and row.ecc_end_s is not None and "isometric" not in row.flags
    assert abs(row.ecc_start_s - slow.onset_s) < 0.5 and row.ecc_duration_s > 0.75 * slow.ecc_duration_s
