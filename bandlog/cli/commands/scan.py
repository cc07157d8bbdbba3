"""`bandlog scan`: list the supported sensors in range (or the emulated ones with --emulate)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse

NAME = "scan"
HELP = "list supported force/IMU sensors in Bluetooth range"
ORDER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to scan (default 5)")
    parser.add_argument(
        "--emulate",
        action="store_true",
        help="start the emulated sensors in-process on a virtual Bluetooth link and scan those",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bandlog.core.errors import ConfigError

    if args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout:g}")
    found = asyncio.run(_scan(args.timeout, emulate=args.emulate))
    if not found:
        print(f"no supported sensor found within {args.timeout:g} s")
        return 0
    _print_table(found)
    return 0


async def _scan(timeout_s: float, *, emulate: bool) -> list:
    from bandlog.sources.ble_scan import scan

    if not emulate:
        return await scan(timeout_s)
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.emulate.twins import twin_registry

    twins = [twin_class() for twin_class in twin_registry().values()]
    async with emulated_sensors(twins) as world:
        return await scan(timeout_s, backends=world.backends)


def _print_table(found: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Supported sensors")
    for column in ("name", "address", "RSSI (dBm)", "profile"):
        table.add_column(column)
    for device in found:
        table.add_row(device.name, device.address, "" if device.rssi is None else str(device.rssi), device.profile)
    Console().print(table)
