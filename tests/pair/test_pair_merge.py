"""The merger on its own: held until aligned and until the force arrives, Gaps where force is missing."""

from __future__ import annotations

import itertools

import numpy as np
from bench_loader import load_bench

from bandlog.core.pipeline import Gap
from bandlog.core.samples import SampleBlock
from bandlog.sources.pair_merge import MAX_HOLE_S, PairMerger


def _replay(merger: PairMerger, devices, hole: tuple[float, float]) -> list:
    """Feed in arrival order, force samples inside `hole` (force clock) lost; everything released, in order."""
    bench = load_bench("clock_sync")
    force = devices.force
    keep = ~((force.t_s >= hole[0]) & (force.t_s < hole[1]))
    arrivals = [(force.t_host_s[a], 0, a, b) for a, b in bench.notifications(force)]
    arrivals += [(devices.imu.t_host_s[a], 1, a, b) for a, b in bench.notifications(devices.imu)]
    out: list = []
    for _, which, a, b in sorted(arrivals):
        if which == 0:
            part = force.slice(a, b)
            kept = keep[a:b]
            if kept.any():
                merger.add_force(SampleBlock(t_s=part.t_s[kept], force_n=part.force_n[kept], t_host_s=part.t_host_s[kept]))
        else:
            merger.add_imu(devices.imu.slice(a, b))
        released = merger.release()
        if released:
            assert merger.aligner.confident  # nothing goes out before the clocks are aligned
        out += released
    return out + merger.release(final=True)


def test_merged_samples_carry_the_force_of_their_instant_and_a_gap_where_it_was_lost() -> None:
    bench = load_bench("clock_sync")
    devices = bench.two_devices(1, 0.150, 300e-6, 0.060, 0.010)
    merger = PairMerger()
    hole_force_s = (40.0, 42.0)
    out = _replay(merger, devices, hole_force_s)
    blocks = [i for i in out if isinstance(i, SampleBlock)]
    gaps = [i for i in out if isinstance(i, Gap)]
    merged = SampleBlock.concat(blocks)
    assert merged.force_n is not None and merged.gyro_dps is not None and np.all(np.diff(merged.t_s) > 0)
    # one gap, covering the lost force (IMU time = force time - offset, drift aside)
    assert len(gaps) == 1 and "force" in gaps[0].reason
    assert abs(gaps[0].start_s - (hole_force_s[0] - 0.150)) < MAX_HOLE_S + 0.1
    assert abs(gaps[0].end_s - (hole_force_s[1] - 0.150)) < MAX_HOLE_S + 0.1
    inside = (merged.t_s > gaps[0].start_s) & (merged.t_s < gaps[0].end_s)
    assert not inside.any()
    # every IMU sample is either merged or accounted for by the gap (none lost silently)
    assert len(merged) + merger.dropped_imu_samples == len(devices.imu)
    # the force put on each IMU sample is the force the force device measured at that instant
    truth = np.interp(devices.true_force_time(merged.t_s), devices.force.t_s, devices.force.force_n)
    assert np.median(np.abs(merged.force_n - truth)) < 0.3
    # items are in time order: the gap sits between the blocks around it
    times = [(i.t_s[0], i.t_s[-1]) if isinstance(i, SampleBlock) else (i.start_s, i.end_s) for i in out]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))


def _still_pair(imu_s: float, force_s: float) -> tuple[PairMerger, np.ndarray]:
    """A merger fed a still IMU (100 Hz) and a steady 3 N force (80 Hz), both arrived 10 ms late:
    nothing to align the clocks on. Returns it with the IMU times."""
    merger = PairMerger()
    t = np.arange(0, imu_s, 0.01)
    merger.add_imu(SampleBlock(t_s=t, gyro_dps=np.zeros((len(t), 3)), acc_ms2=np.zeros((len(t), 3)), t_host_s=t + 0.01))
    tf = np.arange(0, force_s, 1 / 80)
    merger.add_force(SampleBlock(t_s=tf, force_n=np.full(len(tf), 3.0), t_host_s=tf + 0.01))
    return merger, t


def test_without_reps_the_samples_go_out_by_host_arrival_times_at_the_end() -> None:
    merger, t = _still_pair(20.0, 21.0)
    assert merger.release() == []  # still waiting for reps to align on
    out = merger.release(final=True)
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) == len(t) and np.allclose(merged.force_n, 3.0)


def test_a_link_loss_before_the_clocks_are_aligned_keeps_what_was_held() -> None:
    # A link lost before the first reps used to drop every held sample: a paired soak with a link
    # loss every 15 s logged nothing at all.
    merger, t = _still_pair(15.0, 15.0)
    assert merger.release() == []  # not aligned yet: held
    out = merger.imu_gap(Gap(15.0, 15.3))
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) + merger.dropped_imu_samples == len(t)
    assert len(merged) >= len(t) - 2 and np.allclose(merged.force_n, 3.0)


def test_a_recording_that_ends_during_the_tare_search_keeps_every_sample() -> None:
    # the force held while the software tare searched is merged at the end: what that merge settles
    # must go out too (it used to be dropped when the clocks aligned on it)
    from bandlog.core.meta import RecordingMeta
    from bandlog.core.pipeline import Tare
    from bandlog.sources.pair import FORCE, IMU, _Pair

    bench = load_bench("clock_sync")
    devices = bench.two_devices(1, 0.150, 300e-6, 0.060, 0.010)
    pair = _Pair(RecordingMeta(), None)
    out = pair.take(FORCE, Tare(None, decided=False))
    arrivals = [(devices.force.t_host_s[a], FORCE, devices.force.slice(a, b)) for a, b in bench.notifications(devices.force)]
    arrivals += [(devices.imu.t_host_s[a], IMU, devices.imu.slice(a, b)) for a, b in bench.notifications(devices.imu)]
    for _, role, block in sorted(arrivals, key=lambda item: item[0]):
        out += pair.take(role, block)
    out += pair.finish()
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) + pair.merger.dropped_imu_samples == len(devices.imu)


def test_force_falling_far_behind_the_imu_is_waited_for_not_a_crash() -> None:
    # Under load the force link can lag the IMU by more than the force kept for interpolation; all
    # the force held was then trimmed away and asking whether force is awaited raised IndexError
    # (a paired recording crashed at its end on a busy 2-core machine).
    bench = load_bench("clock_sync")
    devices = bench.two_devices(1, 0.150, 300e-6, 0.060, 0.010)
    merger = PairMerger()
    force, imu = devices.force, devices.imu
    cut_s = 40.0  # force stops arriving here; the IMU goes on for 4 s more (less than HOLD_MAX_S)
    for a, b in bench.notifications(force):
        if force.t_s[a] < cut_s:
            merger.add_force(force.slice(a, b))
    for a, b in bench.notifications(imu):
        if imu.t_s[a] < cut_s + 4.0:
            merger.add_imu(imu.slice(a, b))
    merger.release()
    assert merger.aligner.confident
    later = imu.t_s >= cut_s + 4.0
    merger.add_imu(imu.slice(int(np.argmax(later)), int(np.argmax(later)) + 500))
    merger.release()  # gives up samples held > HOLD_MAX_S; the force before the rest is trimmed: all of it
    assert merger.needs_force()
    assert merger.release(final=True) == [] and merger.dropped_imu_samples > 0 and not merger.needs_force()
