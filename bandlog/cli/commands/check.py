"""`bandlog check`: check a sensor once (rate, loss, noise; a known load for the force's sign and gain).

The figures and the force correction are stored per device address in the data folder
(bandlog.io.sensor_checks); every later recording of that sensor applies the correction and
names it in its log header.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    import asyncio

    from bandlog.app.check import CheckRequest, SensorCheck
    from bandlog.core.samples import StreamInfo
    from bandlog.detect.sensor_check import RestFigures

NAME = "check"
HELP = "check a sensor once: rate, loss, noise, and a known load for its sign and gain (applied to later recordings)"
ORDER = 15
OK, LOOK = "ok", "CHECK"
LOW_BATTERY_PERCENT = 20.0
"""Below this the battery is flagged: a long set may not finish."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bandlog.emulate.faults import FAULT_KEYS

    parser.add_argument(
        "--device", required=True, metavar="NAME|ADDRESS|PROFILE",
        help="the sensor: its advertised name, its address, or a profile key for the first one found",
    )
    parser.add_argument("--load-kg", type=float, default=2.0, metavar="KG", help="the known mass you will hang from a force sensor (default: %(default)g kg)")
    parser.add_argument("--no-load", action="store_true", help="skip the known-load step (rate, loss and noise only)")
    parser.add_argument("--rest-s", type=float, default=10.0, metavar="S", help="seconds still and unloaded, over which rate, loss and noise are measured (default: %(default)g)")
    parser.add_argument("--no-save", action="store_true", help="show the figures but store nothing (later recordings stay as they are)")
    parser.add_argument("--rate", type=float, metavar="HZ", help="ask the sensor for this sample rate (as `record --rate`)")
    parser.add_argument("--emulate", action="store_true", help="check an emulated sensor on a virtual BLE link (Enter hangs the emulated load)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help="with --emulate: run X times faster than real time")
    parser.add_argument(
        "--faults", metavar="SPEC",
        help=f"with --emulate: what is wrong with the emulated sensor, e.g. force_gain=-1 (a wrong sign) (keys: {', '.join(FAULT_KEYS)})",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import math

    from bandlog.app.check import CheckRequest, CheckStopped
    from bandlog.core.errors import ConfigError
    from bandlog.devices.base import StreamOptions
    from bandlog.io.paths import data_home

    if args.faults is not None and not args.emulate:
        raise ConfigError("--faults describes an emulated sensor: add --emulate")
    if not (math.isfinite(args.speed) and args.speed > 0):
        raise ConfigError(f"--speed must be a positive number, not {args.speed}")
    request = CheckRequest(
        target=args.device, load_kg=None if args.no_load else args.load_kg, rest_s=args.rest_s,
        options=StreamOptions(sample_rate_hz=args.rate),
    )
    home = data_home(args.data_dir)
    if request.load_kg is not None and not args.emulate and not sys.stdin.isatty():
        raise ConfigError("the load step waits for you to press Enter: run `bandlog check` in a terminal, or add --no-load")
    print(f"Checking {args.device}: keep the sensor still and unloaded for {request.rest_s:g} s.")
    try:
        check = asyncio.run(_check(request, args))
    except CheckStopped as stopped:
        from bandlog.cli import ExitStatus  # here: cli imports the commands

        print(str(stopped), file=sys.stderr)
        return ExitStatus.INTERRUPTED
    _print_check(check)
    if args.no_save:
        print("nothing stored (--no-save)")
        return 0
    from bandlog.io.sensor_checks import save_check

    path = save_check(home, address=check.info.address, profile=check.info.profile, model=check.info.model,
                      check=check.to_dict(), calibration=check.calibration)
    if check.calibration is None:
        print(f"figures stored in {path}")
    elif check.calibration.is_identity:
        print(f"stored in {path}: sign and gain verified; later recordings of this sensor are used as they are")
    else:
        print(f"stored in {path}: later recordings of this sensor are corrected ({check.calibration.describe()}: "
              f"force x {check.calibration.scale:.4g}), and each log says so in its header")
    return 0


async def _check(request: CheckRequest, args: argparse.Namespace) -> SensorCheck:
    from bandlog.app.check import check_sensor

    if not args.emulate:
        return await check_sensor(request, ask_for_load=_ask_user)
    from bandlog.app.session import emulation_speed, maybe_emulated
    from bandlog.emulate.faults import parse_faults
    from bandlog.sim.bench_load import KnownLoadBench

    bench = KnownLoadBench(load_kg=request.load_kg or 0.0)

    async def hang_it(rest: RestFigures, info: StreamInfo, load_n: float) -> None:
        """In a terminal you press Enter as with a real sensor, and the emulated load hangs; otherwise
        (a script, a test) the emulated person hangs it at once."""
        if sys.stdin.isatty():
            await _ask_user(rest, info, load_n)
        else:
            _print_rest(rest, info)
        print(f"(emulated) the {request.load_kg:g} kg load is hung from the hook")
        bench.hang()

    faults = None if args.faults is None else parse_faults(args.faults)
    speed, slower = emulation_speed(args.speed, [args.device])
    if slower:
        print(slower)
    async with maybe_emulated(bench, speed, faults=faults) as world:
        assert world is not None  # a motion was given
        return await check_sensor(request, ask_for_load=hang_it, backends=world.backends)


async def _ask_user(rest: RestFigures, info: StreamInfo, load_n: float) -> None:
    """Show the rest figures, then wait for Enter without blocking the stream (or Ctrl-C)."""
    import asyncio

    from bandlog.core.errors import ConfigError
    from bandlog.core.motion import STANDARD_GRAVITY_MS2

    _print_rest(rest, info)
    print(f"Now hang the known load ({load_n / STANDARD_GRAVITY_MS2:g} kg) from the hook so that the band side pulls; "
          "when it hangs still, press Enter.", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline) if sys.platform == "win32" else await _line_from_stdin(loop)
    if line == "":
        raise ConfigError("the input ended before Enter was pressed: the load step needs a terminal (or add --no-load)")


async def _line_from_stdin(loop: asyncio.AbstractEventLoop) -> str:
    """One line of stdin, read when it is ready, so Ctrl-C stops the check at once (a thread would not)."""
    ready: asyncio.Future[None] = loop.create_future()
    descriptor = sys.stdin.fileno()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(descriptor, on_ready)
    try:
        await ready
    finally:
        loop.remove_reader(descriptor)
    return sys.stdin.readline()


def _row(label: str, value: str, verdict: str = "") -> None:
    print(f"  {label:<13} {value}" + (f"  [{verdict}]" if verdict else ""))


def _print_rest(rest: RestFigures, info: StreamInfo) -> None:
    from bandlog.detect.sensor_check import FORCE_NOISE_OK_N, GYRO_NOISE_OK_DPS, RATE_OK_FRACTION

    print(f"{info.model} '{info.name}' at {info.address}")
    _row("firmware", info.firmware or "not reported by this sensor")
    battery = info.battery_percent
    if battery is not None:
        _row("battery", f"{battery:.0f} %", OK if battery >= LOW_BATTERY_PERCENT else LOOK)
    else:
        _row("battery", "not reported by this sensor" if info.battery_mv is None else f"{info.battery_mv:.0f} mV (no percentage reported)")
    nominal = ("this sensor sets no fixed rate" if rest.nominal_rate_hz is None
               else f"nominal {rest.nominal_rate_hz:g} Hz; {RATE_OK_FRACTION:.0%} of it passes")
    rate = "?" if rest.rate_hz is None else f"{rest.rate_hz:.1f} Hz"
    _row("sample rate", f"{rate} reached over {rest.duration_s:.1f} s ({nominal})",
         "" if rest.nominal_rate_hz is None else (OK if rest.rate_ok else LOOK))
    if rest.force_noise_n is not None:
        _row("force noise", f"{rest.force_noise_n:.3f} N SD at rest (limit {FORCE_NOISE_OK_N:g} N), drift {rest.force_drift_n_per_min:+.2f} N/min",
             OK if rest.force_noise_n <= FORCE_NOISE_OK_N else LOOK)
    if rest.gyro_noise_dps is not None:
        _row("gyro", f"noise {rest.gyro_noise_dps:.2f} deg/s SD (limit {GYRO_NOISE_OK_DPS:g}), bias {rest.gyro_bias_dps:.2f} deg/s (learned at each start)",
             OK if rest.gyro_noise_dps <= GYRO_NOISE_OK_DPS else LOOK)
    if rest.gravity_ms2 is not None and rest.gravity_error is not None:
        _row("gravity", f"{rest.gravity_ms2:.3f} m/s2 at rest ({rest.gravity_error:+.1%} from 1 g)", OK if rest.gravity_ok else LOOK)


def _print_check(check: SensorCheck) -> None:
    from bandlog.core.status import link_summary

    if check.load is None:
        _print_rest(check.rest, check.info)
    if check.link is not None:
        lost = check.link.dropped_packets or check.link.corrupted_packets or check.link.skipped_samples
        _row("link", link_summary(check.link), LOOK if lost else OK)
    for note in check.notes:
        _row("note", note)
    step = check.load
    if step is None:
        return
    _row("known load", f"{step.expected_n:.2f} N expected, {step.measured_n:+.2f} N read (SD {step.spread_n:.2f} N)")
    _row("sign", "pull reads positive" if step.sign_ok else "INVERTED: a pull reads negative", OK if step.sign_ok else LOOK)
    _row("gain", f"{step.gain:.4f} ({step.gain - 1:+.1%}; within 2 % passes)", OK if step.gain_ok else LOOK)
