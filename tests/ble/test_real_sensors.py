"""The real device profiles and their twins over the virtual link: the path a live sensor takes."""

from __future__ import annotations

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus
from bandlog.devices.base import StreamOptions
from bandlog.emulate.faults import Faults
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.gdx_for import GdxForTwin
from bandlog.emulate.twins.progressor import ProgressorTwin
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import scan


async def collect(source) -> list:
    return [item async for item in source]


def samples_of(items: list) -> SampleBlock:
    return SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])


def truth(twin) -> SampleBlock:
    return SampleBlock.concat(twin.sent_samples)


async def test_scan_finds_both_force_sensors_with_their_profiles() -> None:
    async with emulated_sensors([GdxForTwin(), ProgressorTwin()]) as world:
        found = await scan(0.4, backends=world.backends)
    assert {(d.name, d.profile) for d in found} == {("GDX-FOR 071000U9", "gdx-for"), ("Progressor_1234", "progressor")}


async def test_gdx_for_ten_seconds_at_100_hz_equal_what_it_sent() -> None:
    twin = GdxForTwin()
    async with emulated_sensors([twin], speed=20) as world:
        items = await collect(
            stream("gdx-for", options=StreamOptions(sample_rate_hz=100.0), backends=world.backends, duration_s=10.0, tare=False)
        )
    meta = items[0]
    assert isinstance(meta, RecordingMeta) and meta.stream is not None and meta.stream.sample_rate_hz == 100.0
    got, sent = samples_of(items), truth(twin)
    assert abs(len(got) - 1000) <= 2
    n = len(got)
    np.testing.assert_allclose(got.t_s, sent.t_s[:n], atol=1e-9)
    np.testing.assert_allclose(got.force_n, sent.force_n[:n], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got.acc_ms2, sent.acc_ms2[:n], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got.gyro_dps, sent.gyro_dps[:n], rtol=1e-5, atol=1e-4)


async def test_progressor_ten_seconds_at_80_hz_on_device_time() -> None:
    twin = ProgressorTwin()
    async with emulated_sensors([twin], speed=20) as world:
        items = await collect(stream("Progressor_1234", backends=world.backends, duration_s=10.0, tare=False))
    got, sent = samples_of(items), truth(twin)
    assert abs(len(got) - 800) <= 2
    n = len(got)
    np.testing.assert_allclose(got.t_s, sent.t_s[:n], atol=1e-9)  # the device's own us clock
    np.testing.assert_allclose(got.force_n, sent.force_n[:n], rtol=1e-6)


async def test_progressor_hardware_tare_is_used_instead_of_software_tare() -> None:
    twin = ProgressorTwin(zero_offset_kg=0.65)
    async with emulated_sensors([twin], speed=20) as world:
        items = await collect(stream("progressor", backends=world.backends, duration_s=2.0))
    meta = items[0]
    assert meta.tare_offset_n is None and meta.stream.hardware_tare
    assert twin.tare_kg > 0.5  # the device zeroed itself at the moment bandlog asked


async def test_gdx_for_corrupted_packets_are_counted_and_skipped() -> None:
    twin = GdxForTwin()
    faults = {"gdx-for": Faults(corrupt_at_s=(1.0, 2.0))}
    async with emulated_sensors([twin], speed=20, faults=faults) as world:
        items = await collect(
            stream("gdx-for", options=StreamOptions(sample_rate_hz=100.0), backends=world.backends, duration_s=4.0, tare=False)
        )
    final = [i for i in items if isinstance(i, LinkStatus)][-1]
    assert final.corrupted_packets == 2  # one per damaged packet, however many fragments it had
    got, sent = samples_of(items), truth(twin)
    # every received row is the next sent row, except the two damaged 3-row packets
    kept = np.flatnonzero(np.isin(np.round(sent.force_n, 5), np.round(got.force_n, 5)))
    kept = kept[kept <= kept[len(got) - 1]]
    np.testing.assert_array_equal(sent.force_n[kept], got.force_n)
    assert kept[-1] + 1 - len(kept) == 6
    # the rolling packet counter dates the rows after a lost packet: each keeps its sent spacing
    # (the log's time starts at the first packet received, which may come after a damaged one)
    np.testing.assert_allclose(got.t_s - got.t_s[0], sent.t_s[kept] - sent.t_s[kept[0]], atol=1e-6)


async def test_progressor_reconnects_after_a_drop_and_keeps_every_sample() -> None:
    twin = ProgressorTwin()
    faults = {"progressor": Faults(disconnect_at_s=(3.0,), low_battery_at_s=1.0)}
    async with emulated_sensors([twin], speed=10, faults=faults) as world:
        items = await collect(stream("progressor", backends=world.backends, duration_s=6.0, tare=False))
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(gaps) == 1 and gaps[0].end_s - gaps[0].start_s < 2.0
    got, sent = samples_of(items), truth(twin)
    assert np.all(np.diff(got.t_s) > 0)
    np.testing.assert_allclose(got.force_n, sent.force_n[: len(got)], rtol=1e-6)
    statuses = [i for i in items if isinstance(i, LinkStatus)]
    assert statuses[-1].reconnects == 1
    assert any("battery" in s.message for s in statuses)
