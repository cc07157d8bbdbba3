"""`bandlog check`: a sensor's figures at rest and under a known load, the correction it stores, and
every later recording of that sensor applying it (log header, raw capture and its replay alike)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from bandlog.app.check import CheckRequest, CheckStopped, SensorCheck, check_sensor
from bandlog.app.session import RecordRequest, maybe_emulated, record_stream, replay_raw_capture
from bandlog.cli import main
from bandlog.core.calibration import FORCE_SCALE_KEY, ForceCalibration, force_correction
from bandlog.core.errors import CheckFailedError, ConfigError, LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import SampleBlock, StreamInfo, force_range_extra
from bandlog.detect.sensor_check import find_load_step, rest_figures
from bandlog.emulate.faults import Faults, parse_faults
from bandlog.io.raw_capture import read_raw_capture
from bandlog.io.read import read_log
from bandlog.io.sensor_checks import check_file, load_calibration, save_check
from bandlog.sim import random_spec, simulate_session
from bandlog.sim.bench_load import FORCE_NOISE_N, GYRO_BIAS_DPS, KnownLoadBench

LOAD_N = 2.0 * STANDARD_GRAVITY_MS2


def bench_samples(gain: float = 1.0, rate_hz: float = 100.0, hang_after_s: float = 10.0, until_s: float = 16.0) -> tuple[SampleBlock, SampleBlock]:
    """(rest, after the user said the load hangs) as a sensor with `gain` reads them."""
    bench = KnownLoadBench(load_kg=2.0)
    t = np.arange(0.0, until_s, 1.0 / rate_hz)
    rest = bench.sample(t[t < hang_after_s])
    bench.hang()
    after = bench.sample(t[t >= hang_after_s])
    scaled = [SampleBlock(b.t_s, None if b.force_n is None else b.force_n * gain, b.acc_ms2, b.gyro_dps) for b in (rest, after)]
    return scaled[0], scaled[1]


def test_rest_figures_are_the_bench_s_known_answers() -> None:
    rest, _ = bench_samples()
    figures = rest_figures(rest, nominal_rate_hz=100.0)
    assert figures.rate_hz == pytest.approx(100.0, rel=1e-9) and figures.rate_ok
    assert figures.force_noise_n == pytest.approx(FORCE_NOISE_N, rel=0.1)
    assert figures.gyro_bias_dps == pytest.approx(float(np.linalg.norm(GYRO_BIAS_DPS)), rel=0.02)
    assert figures.gravity_error is not None and abs(figures.gravity_error) < 0.001 and figures.gravity_ok
    thinned = rest.take(np.flatnonzero(np.arange(len(rest)) % 10 != 3))  # every 10th sample lost
    assert not rest_figures(thinned, nominal_rate_hz=100.0).rate_ok


@pytest.mark.parametrize(("gain", "scale"), [(1.0, 1.0), (1.015, 1.0), (-1.0, -1.0), (-0.99, -1.0), (0.9, 1 / 0.9), (-1.05, -1 / 1.05)])
def test_the_load_step_finds_sign_and_gain(gain: float, scale: float) -> None:
    rest, after = bench_samples(gain)
    rest_level = rest_figures(rest, 100.0).force_mean_n
    assert rest_level is not None
    assert find_load_step(after.slice(0, 20), rest_level, LOAD_N) is None  # before the bag hangs still
    step = find_load_step(after, rest_level, LOAD_N)
    assert step is not None
    assert step.measured_n == pytest.approx(gain * LOAD_N, rel=0.005)
    assert step.sign_ok == (gain > 0) and step.gain_ok == (abs(abs(gain) - 1) <= 0.02)
    assert step.correction_scale() == pytest.approx(scale, rel=0.006)
    assert step.window_start_s > 10.3  # not the still rest before the load went on


def test_an_implausible_reading_is_refused_not_stored() -> None:
    _rest, after = bench_samples(gain=4.0)
    step = find_load_step(after, 0.0, LOAD_N)
    assert step is not None and not step.plausible
    with pytest.raises(CheckFailedError, match=r"check the mass given \(--load-kg\)"):
        step.calibration("test")


def test_a_correction_scales_force_and_its_range() -> None:
    info = StreamInfo(profile="x", model="X", extra=force_range_extra(-50.0, 50.0))
    calibration = ForceCalibration(-1.1, "a check")
    corrected = calibration.apply_to_info(info)
    assert corrected.force_range_n == pytest.approx((-55.0, 55.0))
    assert corrected.extra[FORCE_SCALE_KEY] == "-1.1000000000000001"
    block = calibration.apply(SampleBlock(np.array([0.0, 0.01]), force_n=np.array([-10.0, 2.0])))
    assert block.force_n is not None and block.force_n.tolist() == pytest.approx([11.0, -2.2])
    text = force_correction(RecordingMeta(stream=corrected))
    assert text is not None and text.startswith("sign inverted and gain x1.1") and "a check" in text
    assert force_correction(RecordingMeta(stream=info)) is None
    with pytest.raises(ConfigError):
        ForceCalibration(0.0, "no")


def test_the_store_keeps_every_check_and_the_latest_correction(tmp_path: Path) -> None:
    address = "D0:BA:4D:00:01:03"
    assert load_calibration(tmp_path, address) is None
    save_check(tmp_path, address=address, profile="p", model="M", check={"n": 1}, calibration=ForceCalibration(-1.0, "first"))
    assert load_calibration(tmp_path, address) == ForceCalibration(-1.0, "first")
    save_check(tmp_path, address=address, profile="p", model="M", check={"n": 2}, calibration=None)  # e.g. --no-load
    assert load_calibration(tmp_path, address) == ForceCalibration(-1.0, "first")
    save_check(tmp_path, address=address, profile="p", model="M", check={"n": 3}, calibration=ForceCalibration(1.0, "fixed"))
    assert load_calibration(tmp_path, address) is None  # verified as it is: nothing to apply
    record = json.loads(check_file(tmp_path, address).read_text(encoding="utf-8"))
    assert [c["n"] for c in record["checks"]] == [1, 2, 3]
    assert check_file(tmp_path, address).name == "D0-BA-4D-00-01-03.json"


@pytest.mark.parametrize("content", ["{not json", '{"format": "other"}', '{"format": "bandlog-sensor-check", "version": 9, "checks": []}',
                                     '{"format": "bandlog-sensor-check", "version": 1, "checks": [], "calibration": {"scale": 0}}'])
def test_a_damaged_check_file_stops_the_recording_with_its_name(tmp_path: Path, content: str) -> None:
    path = check_file(tmp_path, "AA:BB")
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LogFormatError, match=f"the sensor check file {path} is damaged: .*; move it away"):
        load_calibration(tmp_path, "AA:BB")
    assert path.read_text(encoding="utf-8") == content


def test_twins_misread_force_when_told() -> None:
    assert parse_faults("force_gain=-1").force_gain == -1.0
    with pytest.raises(ConfigError, match="force_gain"):
        parse_faults("force_gain=0")


async def _emulated_check(key: str, faults: Faults | None, *, speed: float, rest_s: float = 2.0) -> tuple[SensorCheck, list[float]]:
    bench = KnownLoadBench()
    asked: list[float] = []

    async def hang(rest: object, info: object, load_n: float) -> None:
        asked.append(load_n)
        bench.hang()

    async with maybe_emulated(bench, speed, faults=faults) as world:
        assert world is not None
        check = await check_sensor(CheckRequest(key, rest_s=rest_s), ask_for_load=hang, backends=world.backends)
    return check, asked


@pytest.mark.parametrize(("key", "gain"), [("gdx-for", 1.0), ("progressor", -1.0), ("gdx-for", 0.93)])
async def test_the_check_over_the_emulated_link_catches_sign_and_gain(key: str, gain: float) -> None:
    check, asked = await _emulated_check(key, Faults(force_gain=gain), speed=10.0)
    assert asked == [pytest.approx(LOAD_N)]
    assert check.load is not None and check.calibration is not None and check.link is not None
    assert check.load.measured_n == pytest.approx(gain * LOAD_N, rel=0.01)
    expected = 1.0 if gain == 1.0 else (-1.0 if gain == -1.0 else 1 / gain)
    assert check.calibration.scale == pytest.approx(expected, rel=0.01)
    assert check.rest.rate_ok and check.rest.nominal_rate_hz
    assert check.link.dropped_packets == 0


async def test_a_motion_only_sensor_gets_rest_figures_and_no_load_step() -> None:
    check, asked = await _emulated_check("witmotion", None, speed=10.0)
    assert asked == [] and check.load is None and check.calibration is None
    assert check.rest.gravity_ok and check.rest.gyro_noise_dps is not None
    assert check.notes == ["no load step: this sensor streams no force"]


async def test_a_load_that_never_hangs_still_fails_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import bandlog.app.check as app_check

    monkeypatch.setattr(app_check, "LOAD_WAIT_S", 2.0)

    async def never(rest: object, info: object, load_n: float) -> None:
        return None  # the user pressed Enter, but hung nothing

    async with maybe_emulated(KnownLoadBench(), 10.0) as world:
        assert world is not None
        with pytest.raises(CheckFailedError, match=r"no still load was seen within 2 s: the force moved by 0\.\d\d N at most"):
            await check_sensor(CheckRequest("gdx-for", rest_s=2.0), ask_for_load=never, backends=world.backends)


async def test_a_stored_correction_is_applied_to_the_recording_and_its_raw_replay(tmp_path: Path) -> None:
    """A GDX-FOR reading 10 % low and inverted: after its check, the log holds the true force, says
    so in its header, and the raw capture's replay applies the same correction sample for sample."""
    faults = Faults(force_gain=-0.9)
    check, _ = await _emulated_check("gdx-for", faults, speed=10.0)
    save_check(tmp_path, address=check.info.address, profile="gdx-for", model="m", check={}, calibration=check.calibration)
    motion = simulate_session(random_spec(1, n_sets=1, target_ecc_s=3.0))
    logs = {}
    for name, home in (("wrong", None), ("corrected", tmp_path)):
        out = tmp_path / f"{name}.csv"
        request = RecordRequest(target="gdx-for", out_path=out, meta=RecordingMeta(leg="left"), duration_s=20.0, tare=False,
                                sensors_home=home, raw_path=tmp_path / f"{name}.jsonl")
        await record_stream(request, motion=motion, speed=20.0, faults=faults)
        logs[name] = read_log(out)
    (wrong,), (corrected,) = logs["wrong"].sets(), logs["corrected"].sets()
    truth = motion.sample(corrected.t_s).force_n
    assert corrected.force_n is not None and wrong.force_n is not None and truth is not None
    assert np.max(np.abs(corrected.force_n - truth)) < 0.01 * np.max(truth) + 0.1  # the true force, within 1 % of the peak
    assert np.max(wrong.force_n) < 1.0 < np.max(corrected.force_n)  # uncorrected, every pull reads negative
    assert force_correction(logs["corrected"].meta) is not None and force_correction(logs["wrong"].meta) is None
    assert check.calibration is not None and logs["corrected"].meta.stream is not None
    scale = check.calibration.scale
    assert logs["corrected"].meta.stream.force_range_n == pytest.approx(sorted((-50 * scale, 50 * scale)))  # where it clips now
    capture = read_raw_capture(tmp_path / "corrected.jsonl")
    assert capture.header.calibration == check.calibration
    await replay_raw_capture(capture, out_path=tmp_path / "replayed.csv")
    (replayed,) = read_log(tmp_path / "replayed.csv").sets()
    assert replayed.force_n is not None
    np.testing.assert_array_equal(replayed.force_n, corrected.force_n)


def test_cli_check_of_a_wrong_sign_pasco_then_its_next_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's Done-when: the check reports the wrong sign, and the stored correction fixes the next recording."""
    common = ["--data-dir", str(tmp_path)]
    assert main(["check", *common, "--device", "pasco-force-accel", "--emulate", "--faults", "force_gain=-1", "--rest-s", "2"]) == 0
    out = capsys.readouterr().out
    assert "INVERTED: a pull reads negative  [CHECK]" in out
    assert "later recordings of this sensor are corrected (sign inverted: force x -1)" in out
    log = tmp_path / "next.csv"
    assert main(["record", *common, "--device", "pasco-force-accel", "--emulate", "--faults", "force_gain=-1", "--duration", "9",
                 "--leg", "left", "--view", "none", "--out", str(log)]) == 0
    assert "force corrected by the sensor's check: sign inverted (force x -1)" in capsys.readouterr().out
    (samples,) = read_log(log).sets()
    assert samples.force_n is not None and np.max(samples.force_n) > 10.0 and np.min(samples.force_n) > -3.0
    assert "# stream.force_scale: '-1" in log.read_text(encoding="utf-8")


async def test_ctrl_c_stops_the_check_without_a_false_failure() -> None:
    """Ctrl-C ends the stream cleanly (as for a recording): the check says it was stopped, not that the
    sensor failed, and the CLI stores nothing (exit 130, seen in a terminal under tmux)."""
    async with maybe_emulated(KnownLoadBench(), 10.0) as world:
        assert world is not None

        async def never_answered(rest: object, info: object, load_n: float) -> None:
            await asyncio.sleep(3600)

        task = asyncio.create_task(check_sensor(CheckRequest("gdx-for", rest_s=2.0), ask_for_load=never_answered,
                                                backends=world.backends))
        await asyncio.sleep(1.0)  # connected and measuring at rest (2 s of device time take 0.2 s at 10x)
        task.cancel()
        with pytest.raises(CheckStopped, match="the check was stopped while waiting for the load: nothing was stored"):
            await task
