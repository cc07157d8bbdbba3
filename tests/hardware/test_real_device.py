"""A real sensor, end to end: connect, stream 30 s through the CLI, reconnect after a power cycle, tare.

Run by hand with the sensor in reach (see conftest.py and firmware_notes/hardware_checklist.md); the
reconnect test asks the person running it to switch the sensor off and on, and gives up after
BANDLOG_TEST_PROMPT_S seconds (default 90). Logs go to BANDLOG_TEST_OUT (default: pytest's tmp dir),
and their path is printed: they are what a report sends back.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from bandlog.app.api import read_log
from bandlog.cli import ExitStatus, main
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.pipeline import SourceItem, Tare
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus
from bandlog.sources.ble import stream

if TYPE_CHECKING:
    from conftest import HardwareTarget  # tests/hardware/conftest.py: the fixture's type, for readers

pytestmark = pytest.mark.hardware

STREAM_S = 30.0
RATE_TOLERANCE = 0.05
"""The rate reached over 30 s may fall short of the nominal by this much (a few lost packets) and still pass."""
LONGEST_GAP_S = 1.0
"""A sensor at rest next to the adapter should never go silent this long."""
TARE_TOLERANCE_N = 0.5
"""After a tare, an unloaded sensor at rest reads within this of zero (well above the noise of the supported sensors)."""


def _prompt_s() -> float:
    return float(os.environ.get("BANDLOG_TEST_PROMPT_S", "90"))


def _out_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BANDLOG_TEST_OUT", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _say(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """To the person at the sensor, past pytest's capture."""
    with capsys.disabled():
        print(f"\n[bandlog hardware] {text}", flush=True)


async def _collect(source: AsyncIterator[SourceItem]) -> list[SourceItem]:
    return [item async for item in source]


async def test_connects_and_says_what_it_is(hardware: HardwareTarget, capsys: pytest.CaptureFixture[str]) -> None:
    items = await _collect(stream(hardware.target, duration_s=3.0, tare=False))
    meta = next(item for item in items if isinstance(item, RecordingMeta))
    assert meta.stream is not None and meta.stream.profile == hardware.profile.key
    assert sum(len(item) for item in items if isinstance(item, SampleBlock)) > 0
    assert isinstance(items[-1], LinkStatus) and items[-1].message == "duration reached"
    info = meta.stream
    _say(capsys, f"{info.model} {info.name} {info.address}: firmware {info.firmware or '?'}, "
         f"{info.sample_rate_hz or '?'} Hz, battery {info.battery_percent or '?'} %, channels {', '.join(info.channels)}")


def test_streams_30_s_through_the_cli(
    hardware: HardwareTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _out_dir(tmp_path) / f"hardware-{hardware.profile.key}-{time.strftime('%Y%m%dT%H%M%S')}.csv"
    argv = ["--data-dir", str(tmp_path / "home"), "record", "--device", hardware.target, "--duration", f"{STREAM_S:g}",
            "--view", "none", "--leg", "left", "--note", "bandlog hardware suite", "--out", str(out)]
    assert main(argv) == ExitStatus.OK
    log = read_log(out)
    t_s = log.samples["t_s"].to_numpy()
    span_s = float(t_s[-1] - t_s[0])
    rate_hz = (len(t_s) - 1) / span_s
    nominal_hz = log.meta.stream.sample_rate_hz if log.meta.stream is not None else None
    _say(capsys, f"log {out}: {len(t_s)} samples over {span_s:.2f} s = {rate_hz:.2f} Hz (nominal {nominal_hz or '?'} Hz), "
         f"longest step {np.diff(t_s).max():.3f} s, gaps {len(log.gaps)}, repairs {log.repairs or 'none'}")
    assert span_s >= STREAM_S - 1.0
    assert float(np.diff(t_s).max()) < LONGEST_GAP_S and not log.gaps
    if nominal_hz:
        assert rate_hz >= (1.0 - RATE_TOLERANCE) * nominal_hz


async def test_reconnects_after_the_sensor_is_switched_off_and_on(
    hardware: HardwareTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt_s = _prompt_s()
    deadline_s = time.monotonic() + prompt_s
    prompted = lost = False
    back: LinkStatus | None = None
    async with contextlib.aclosing(stream(hardware.target, tare=False, reconnect_timeout_s=prompt_s)) as items:
        async for item in items:
            if not isinstance(item, LinkStatus):
                continue
            if item.state is LinkState.STREAMING and not prompted:
                _say(capsys, f"switch the sensor OFF now, then ON again (within {prompt_s:g} s)")
                prompted = True
            elif item.state is LinkState.RECONNECTING and not lost:
                _say(capsys, f"link lost ({item.message}): switch the sensor ON again")
                lost = True
            elif item.state is LinkState.STREAMING and lost and item.reconnects >= 1:
                back = item
                break
            if not lost and time.monotonic() > deadline_s:
                pytest.fail(f"the link never dropped within {prompt_s:g} s: switch the sensor off when asked", pytrace=False)
    assert back is not None
    _say(capsys, f"reconnected ({back.message or 'first attempt'}), {back.samples_total} samples so far")


async def test_tare_zeroes_the_force_at_rest(hardware: HardwareTarget, capsys: pytest.CaptureFixture[str]) -> None:
    if not hardware.profile.measures_force:
        pytest.skip(f"{hardware.profile.key} measures no force: nothing to tare")
    _say(capsys, "leave the sensor unloaded and still for 10 s")
    items = await _collect(stream(hardware.target, duration_s=10.0, tare=True))
    meta = next(item for item in items if isinstance(item, RecordingMeta))
    assert meta.stream is not None
    tares = [item for item in items if isinstance(item, Tare) and item.decided]
    assert meta.stream.hardware_tare or tares, "neither a hardware tare nor a decided software tare"
    after = items.index(tares[-1]) if tares else 0
    force_n = np.concatenate([item.force_n for item in items[after:] if isinstance(item, SampleBlock) and item.force_n is not None])
    _say(capsys, f"tare: {'hardware' if meta.stream.hardware_tare else f'software, offset {tares[-1].offset_n} N'}; "
         f"at rest after it: median {np.median(force_n):+.3f} N, sd {np.std(force_n):.3f} N over {len(force_n)} samples")
    assert abs(float(np.median(force_n))) < TARE_TOLERANCE_N


async def test_the_guided_check(hardware: HardwareTarget, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`bandlog check`'s measurement: the rate over 10 s, loss and noise at rest; for a force sensor with
    BANDLOG_TEST_LOAD_KG set, the sign and gain from that known mass. The check's figures are kept in
    BANDLOG_TEST_OUT (sensors/ADDRESS.json): a failing sign here is the finding to report (PASCO)."""
    import bandlog.app.check as app_check
    from bandlog.app.check import CheckRequest, check_sensor
    from bandlog.io.sensor_checks import save_check

    load = os.environ.get("BANDLOG_TEST_LOAD_KG", "").strip()
    load_kg = float(load) if load and hardware.profile.measures_force else None
    monkeypatch.setattr(app_check, "LOAD_WAIT_S", _prompt_s())

    async def ask(rest: object, info: object, load_n: float) -> None:
        _say(capsys, f"now hang the {load_n / STANDARD_GRAVITY_MS2:g} kg load from the hook (band side) and let it hang still; "
             f"it is read once still, within {_prompt_s():g} s")

    _say(capsys, "leave the sensor unloaded and still for 10 s")
    check = await check_sensor(CheckRequest(hardware.target, load_kg=load_kg), ask_for_load=ask)
    path = save_check(_out_dir(tmp_path), address=check.info.address, profile=check.info.profile, model=check.info.model,
                      check=check.to_dict(), calibration=check.calibration)
    rest = check.rest
    _say(capsys, f"check: {rest.rate_hz} Hz reached (nominal {rest.nominal_rate_hz}), force noise {rest.force_noise_n} N, "
         f"gyro noise {rest.gyro_noise_dps} deg/s, gravity {rest.gravity_ms2} m/s2; figures in {path}")
    assert rest.rate_ok and rest.noise_ok and rest.gravity_ok
    if check.load is None:
        _say(capsys, "no load step (set BANDLOG_TEST_LOAD_KG=2 to check a force sensor's sign and gain)")
        return
    _say(capsys, f"load: {check.load.measured_n:+.3f} N read for {check.load.expected_n:.3f} N (gain {check.load.gain:.4f})")
    assert check.load.sign_ok, "a pull reads negative on this unit: report it (the check stores the correction)"
    assert check.load.gain_ok
