"""The thigh merger on its own, and the merging state with a thigh (and a force sensor) in it."""

from __future__ import annotations

import itertools

import numpy as np
from thigh_devices import ShankAndThigh, arrivals, shank_and_thigh

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap
from bandlog.core.samples import THIGH_CHANNELS, SampleBlock, StreamInfo
from bandlog.core.status import LinkState, LinkStatus
from bandlog.sources.thigh_merge import ThighMerger


def _merge(devices: ShankAndThigh, thigh_kept: np.ndarray | None = None) -> tuple[ThighMerger, list]:
    merger = ThighMerger()
    out: list = []
    for role, block in arrivals(devices, thigh_kept):
        (merger.add_partner if role == "thigh" else merger.add_line)(block)
        released = merger.release()
        if released:
            assert merger.aligner.confident  # nothing goes out before the clocks are aligned
        out += released
    return merger, out + merger.release(final=True)


def _thigh_rows(block: SampleBlock) -> np.ndarray:
    return np.concatenate([block.thigh_acc_ms2, block.thigh_gyro_dps], axis=1)


def test_each_shank_sample_carries_the_thigh_reading_of_its_instant() -> None:
    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    merger, out = _merge(devices)
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert not [i for i in out if isinstance(i, Gap)]
    # every shank sample goes out, unchanged, in order
    assert len(merged) == len(devices.shank) and np.array_equal(merged.gyro_dps, devices.shank.gyro_dps)
    rows = _thigh_rows(merged)
    finite = np.isfinite(rows).all(axis=1)
    assert finite.mean() > 0.99 and merger.missing_samples == np.count_nonzero(~finite)
    # the thigh reading put on each shank sample is the thigh's at that instant (its own samples interpolated)
    truth = np.stack([np.interp(devices.true_thigh_time(merged.t_s[finite]), devices.thigh.t_s, devices.thigh.gyro_dps[:, k])
                      for k in range(3)], axis=1)
    assert np.median(np.abs(merged.thigh_gyro_dps[finite] - truth)) < 0.1


def test_a_thigh_hole_leaves_empty_cells_counted_and_one_lost_sample_is_bridged() -> None:
    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    t = devices.thigh.t_s
    hole_s = (40.0, 42.0)  # thigh clock
    kept = ~((t >= hole_s[0]) & (t < hole_s[1]))
    kept[np.searchsorted(t, 30.0)] = False  # one lost notification's worth: one sample
    merger, out = _merge(devices, kept)
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) == len(devices.shank)  # a thigh gap costs the shank nothing
    empty = ~np.isfinite(_thigh_rows(merged)).any(axis=1)
    assert merger.missing_samples == np.count_nonzero(empty)
    at = devices.true_thigh_time(merged.t_s)
    inside = (at > hole_s[0] - 0.01) & (at < hole_s[1])
    assert empty[inside].all(), "nothing invented inside the hole"
    # around it: at most the two thigh intervals interpolation may bridge (plus the first second, before any thigh reading)
    outside = empty & ~inside & (merged.t_s > 1.0)
    assert np.count_nonzero(outside) <= 4
    near_single = np.abs(at - t[np.searchsorted(t, 30.0)]) < 0.02
    assert not empty[near_single].any(), "a single lost thigh sample is interpolated over"


def test_a_shank_reconnect_is_a_gap_and_the_thigh_goes_on() -> None:
    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    merger = ThighMerger()
    out: list = []
    cut_s = 35.0
    shift_s = 1.5  # the shank's time line after its reconnect: 1.5 s later than before the loss
    reconnected = False
    for role, block in arrivals(devices):
        if role == "thigh":
            merger.add_partner(block)
        elif block.t_s[0] < cut_s:
            merger.add_line(block)
        elif block.t_s[0] >= cut_s + shift_s:  # what the shank took in between was lost with the link
            if not reconnected:
                assert merger.aligner.confident
                out += merger.line_gap(Gap(cut_s, cut_s + shift_s, "link lost"))
                reconnected = True
            merger.add_line(block)
        out += merger.release()
    out += merger.release(final=True)
    gaps = [i for i in out if isinstance(i, Gap)]
    assert len(gaps) == 1 and gaps[0].reason == "motion sensor link lost"
    times = [(i.t_s[0], i.t_s[-1]) if isinstance(i, SampleBlock) else (i.start_s, i.end_s) for i in out]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    after = merged.t_s > gaps[0].end_s + 5.0
    assert after.sum() > 1000 and np.isfinite(_thigh_rows(merged)[after]).mean() > 0.99


def _meta(role: str, name: str) -> RecordingMeta:
    channels = ("force_n",) if role == "force" else ("acc_x_ms2", "gyro_x_dps")
    return RecordingMeta(stream=StreamInfo(profile="witmotion" if role != "force" else "progressor", model="m", name=name,
                                           channels=channels, sample_rate_hz=100.0))


def test_the_merged_meta_and_status_name_the_thigh_sensor() -> None:
    from bandlog.sources.pair import IMU, THIGH, _Pair

    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    pair = _Pair(RecordingMeta(leg="left"), None, roles=(THIGH, IMU))
    out = pair.take(THIGH, _meta(THIGH, "WT-thigh")) + pair.take(IMU, _meta(IMU, "WT-shank"))
    for role, block in arrivals(devices):
        out += pair.take(THIGH if role == "thigh" else IMU, block)
    out += pair.take(IMU, LinkStatus(LinkState.STREAMING, device="WT-shank", samples_per_s=100.0))
    out += pair.finish()
    meta = next(i for i in out if isinstance(i, RecordingMeta))
    assert meta.stream is not None and meta.stream.name == "WT-shank" and meta.stream.channels[-6:] == THIGH_CHANNELS
    assert meta.extra["thigh_device.name"] == "WT-thigh" and meta.extra["thigh_clock_sync"] == "gyro-correlation"
    assert "clock_offset_ms" not in meta.extra  # no force clock
    assert out.index(meta) < min(out.index(b) for b in out if isinstance(b, SampleBlock))
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) == len(devices.shank) and merged.force_n is None and merged.has_thigh
    final = [i for i in out if isinstance(i, LinkStatus)][-1]
    assert final.state is LinkState.ENDED and final.samples_total == len(merged) and "thigh clock offset" in final.message


def test_force_shank_and_thigh_become_one_stream() -> None:
    """Three sensors: the shank's samples through the thigh's merger, then the force's; each clock its own."""
    from bandlog.sources.pair import FORCE, IMU, THIGH, _Pair

    devices = shank_and_thigh(2, 0.120, 300e-6, 0.010, 0.060, exercise="runners-stretch")
    session = devices.session
    t_force = 0.3 + np.arange(0.0, session.duration_s, 1 / 80)  # a third clock, 300 ms ahead of the shank's
    force = SampleBlock(t_s=t_force, force_n=10.0 + session.knee_angle_deg(t_force - 0.3) / 10.0, t_host_s=t_force - 0.3 + 0.02)
    pair = _Pair(RecordingMeta(), None, roles=(FORCE, THIGH, IMU))
    feed = [(float(b.t_host_s[0]), role, b) for role, b in arrivals(devices)]
    feed += [(float(force.t_host_s[a]), "force", force.slice(a, a + 4)) for a in range(0, len(force), 4)]
    out = pair.take(FORCE, _meta(FORCE, "F")) + pair.take(THIGH, _meta(THIGH, "T")) + pair.take(IMU, _meta(IMU, "S"))
    for _, role, block in sorted(feed, key=lambda item: item[0]):
        out += pair.take({"thigh": THIGH, "shank": IMU, "force": FORCE}[role], block)
    out += pair.finish()
    meta = next(i for i in out if isinstance(i, RecordingMeta))
    assert meta.stream is not None and meta.stream.channels[0] == "force_n" and meta.stream.channels[-6:] == THIGH_CHANNELS
    assert meta.extra["force_device.name"] == "F" and meta.extra["thigh_device.name"] == "T"
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert merged.force_n is not None and merged.has_thigh
    assert len(merged) + pair.merger.dropped_imu_samples == len(devices.shank)
    assert np.isfinite(merged.force_n).all() and np.isfinite(_thigh_rows(merged)).all(axis=1).mean() > 0.99
    assert pair.thigh is not None and pair.thigh.aligner.confident


def test_a_shank_sensor_that_measures_force_is_tared_before_its_samples_are_merged() -> None:
    """Without a force sensor the tare is the shank device's own (a GDX-FOR on the shank measures force too)."""
    from dataclasses import replace

    from bandlog.core.pipeline import Tare
    from bandlog.sources.pair import IMU, THIGH, _Pair

    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    pair = _Pair(RecordingMeta(), None, roles=(THIGH, IMU))
    out = pair.take(THIGH, _meta(THIGH, "T")) + pair.take(IMU, _meta(IMU, "S")) + pair.take(IMU, Tare(decided=False))
    decided = False
    for role, block in arrivals(devices):
        if role == "shank":
            block = replace(block, force_n=np.full(len(block), 3.0 if not decided else 0.0))  # tared by the stream once decided
        out += pair.take(THIGH if role == "thigh" else IMU, block)
        if role == "shank" and not decided and block.t_s[-1] > 2.0:
            out += pair.take(IMU, Tare(3.0))
            decided = True
    out += pair.finish()
    meta = next(i for i in out if isinstance(i, RecordingMeta))
    assert meta.tare_offset_n == 3.0
    merged = SampleBlock.concat([i for i in out if isinstance(i, SampleBlock)])
    assert len(merged) == len(devices.shank) and np.all(merged.force_n == 0.0) and merged.has_thigh
