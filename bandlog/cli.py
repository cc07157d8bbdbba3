"""The command line: parses arguments, runs one command, turns errors into one sentence and an
exit code. Each verb lives in its own module under bandlog/commands/ (NAME, HELP, add_arguments,
run); this file only finds and dispatches them, so adding a verb touches nothing here.

Start-up stays light: only the standard library's argparse and the verb modules (light by their own
rule, see bandlog/commands/__init__.py) load before a verb runs, and only the verbs named on the
command line get their options built, so `bandlog --help` does not import what `analyze` needs.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import os
import sys
from collections.abc import Collection, Sequence
from types import ModuleType

from bandlog import __version__, commands
from bandlog.errors import (
    BandlogError,
    BluetoothUnavailableError,
    ConfigError,
    DeviceNotFoundError,
    LogFormatError,
    LogWriteError,
    SampleTimeError,
)


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NO_BLUETOOTH = 3
    DEVICE_NOT_FOUND = 4
    BAD_INPUT = 5
    WRITE_FAILED = 6
    INTERRUPTED = 130


_EXIT_BY_ERROR: tuple[tuple[type[BandlogError], ExitStatus], ...] = (
    (BluetoothUnavailableError, ExitStatus.NO_BLUETOOTH),
    (DeviceNotFoundError, ExitStatus.DEVICE_NOT_FOUND),
    (LogFormatError, ExitStatus.BAD_INPUT),
    (SampleTimeError, ExitStatus.BAD_INPUT),
    (LogWriteError, ExitStatus.WRITE_FAILED),
    (ConfigError, ExitStatus.USAGE),
)


def exit_status_for(error: BandlogError) -> ExitStatus:
    for error_type, status in _EXIT_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return ExitStatus.ERROR


def command_modules() -> list[ModuleType]:
    """Every verb module in bandlog.commands, in a stable order (ORDER, then name).

    Found by listing the package's folder: pkgutil.iter_modules would import inspect, a tenth of
    what `bandlog --help` may cost.
    """
    names = sorted({
        entry.removesuffix(".py") for folder in commands.__path__ for entry in os.listdir(folder)
        if entry.endswith(".py") and not entry.startswith("_")
    })
    modules = [importlib.import_module(f"{commands.__name__}.{name}") for name in names]
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


DATA_DIR_HELP = "where recordings and the session index live (default: $BANDLOG_HOME or the user data folder)"


def build_parser(verbs: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser, every verb listed; only the verbs in `verbs` (all when None) get their options.

    main() passes the words of the command line, so the one verb that runs (or prints its --help) is
    complete while the others cost no more than their NAME and HELP.
    """
    parser = argparse.ArgumentParser(
        prog="bandlog",
        description="Measure eccentric hamstring work on a resistance band with a BLE force/IMU sensor.",
    )
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--version", action="version", version=f"bandlog {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log more: -v info, -vv debug; the Bluetooth libraries (bleak, bumble) only log errors, their warnings at -vv and debug at -vvv",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(_run=module.run)
        if verbs is None or module.NAME in verbs:
            # also after the verb (`bandlog sessions --data-dir X`); SUPPRESS keeps one given before it
            sub.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)
            module.add_arguments(sub)
    return parser


THIRD_PARTY_LOGGERS = ("bleak", "bumble")
"""Libraries whose logs stay below the user's verbosity: their warnings (bumble's '!!! no connection'
when a virtual link is torn down, a retried D-Bus call) are not the user's news unless asked for."""
_OWN_LEVELS = ("WARNING", "INFO", "DEBUG", "DEBUG")
_THIRD_PARTY_LEVELS = ("ERROR", "ERROR", "WARNING", "DEBUG")


def configure_logging(verbose: int) -> None:
    """bandlog's own logs at warning (-v info, -vv debug); bleak's and bumble's errors only (-vv their
    warnings, -vvv their debug)."""
    import logging

    step = min(verbose, 3)
    logging.basicConfig(level=_OWN_LEVELS[step], format="%(levelname)s %(name)s: %(message)s")
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(_THIRD_PARTY_LEVELS[step])


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # building the parser imports the verbs, logging is set up: Ctrl-C that early is still one line
        parser = build_parser(verbs=set(argv))
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return ExitStatus.USAGE
        configure_logging(args.verbose)
    except KeyboardInterrupt:
        print("bandlog: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    try:
        return int(args._run(args))
    except BandlogError as error:
        print(f"bandlog: {error}", file=sys.stderr)
        return exit_status_for(error)
    except KeyboardInterrupt:
        print("bandlog: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`bandlog analyze FILE | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
