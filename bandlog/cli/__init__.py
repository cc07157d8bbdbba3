"""The command line: parses arguments, runs one command, turns errors into one sentence and an
exit code. Each verb lives in its own module under bandlog/cli/commands/ (NAME, HELP, add_arguments,
run); this file only finds and dispatches them, so adding a verb touches nothing here.

Start-up stays light: only the standard library's argparse and the verb modules (light by their own
rule, see bandlog/cli/commands/__init__.py) load before a verb runs, and only the verbs named on the
command line get their options built, so `bandlog --help` does not import what `analyze` needs.
`bandlog --help` (or `-h`, or no words) at a width bandlog/cli/_top_help.py holds does not even build the
parser: it prints argparse's own text for that width, stored there (see bandlog.cli.help_store).
"""

from __future__ import annotations

import enum
import os
import signal
import sys

from bandlog.cli import commands
from bandlog.cli.terminal import terminal_columns
from bandlog.core.errors import (
    BandlogError,
    BluetoothUnavailableError,
    ConfigError,
    DeviceNotFoundError,
    DeviceRefusedError,
    LogFormatError,
    LogWriteError,
    SampleTimeError,
)
from bandlog.core.version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from collections.abc import Collection, Sequence
    from types import ModuleType


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NO_BLUETOOTH = 3
    DEVICE_NOT_FOUND = 4
    BAD_INPUT = 5
    WRITE_FAILED = 6
    DEVICE_REFUSED = 7
    """The sensor refused us (bonded to another host, notifications refused): not fixed by retrying as is."""
    INTERRUPTED = 130


_EXIT_BY_ERROR: tuple[tuple[type[BandlogError], ExitStatus], ...] = (
    (BluetoothUnavailableError, ExitStatus.NO_BLUETOOTH),
    (DeviceNotFoundError, ExitStatus.DEVICE_NOT_FOUND),
    (DeviceRefusedError, ExitStatus.DEVICE_REFUSED),
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
    """Every verb module in bandlog.cli.commands, in a stable order (ORDER, then name).

    Found by listing the package's folder: pkgutil.iter_modules would import inspect, a tenth of
    what `bandlog --help` may cost; imported by __import__, as importlib would bring warnings.
    """
    names = sorted({
        entry.removesuffix(".py") for folder in commands.__path__ for entry in os.listdir(folder)
        if entry.endswith(".py") and not entry.startswith("_")
    })
    modules = [__import__(f"{commands.__name__}.{name}", fromlist=["NAME"]) for name in names]
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


PROG = "bandlog"
DESCRIPTION = "Measure eccentric hamstring work on a resistance band with a BLE force/IMU sensor."
DATA_DIR_HELP = "where recordings and the session index live (default: $BANDLOG_HOME or the user data folder)"
VERBOSE_HELP = (
    "log more: -v info, -vv debug; the Bluetooth libraries (bleak, bumble) only log errors, their warnings at -vv and debug at -vvv"
)


def build_parser(verbs: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser, every verb listed; only the verbs in `verbs` (all when None) get their options.

    main() passes the words of the command line, so the one verb that runs (or prints its --help) is
    complete while the others cost no more than their NAME and HELP.
    """
    import argparse

    from bandlog.cli.help_format import HelpFormatter, RawDescriptionHelpFormatter

    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                                    formatter_class=RawDescriptionHelpFormatter)
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


HELP_WORDS = ((), ("-h",), ("--help",))
"""Command lines that print the top-level help: with no words it exits USAGE, else OK (as argparse)."""


def stored_top_help(argv: Sequence[str]) -> str | None:
    """`bandlog --help`'s text without argparse, when bandlog/cli/_top_help.py holds it for this terminal width,
    this Python and these verbs (stored by bandlog.cli.help_store, which tests/cli proves byte-identical to
    argparse's); None otherwise, and argparse prints it."""
    if tuple(argv) not in HELP_WORDS:
        return None
    from bandlog.cli import _top_help

    if sys.version_info[:2] != _top_help.PYTHON or help_inputs() != _top_help.INPUTS:
        return None
    return _top_help.HELP_BY_COLUMNS.get(terminal_columns())


def help_inputs() -> tuple[object, ...]:
    """What the top-level help says, argparse's layout apart: the stored text is not served when these
    changed since (a changed option of the top-level parser itself fails tests/cli/test_help_format.py)."""
    verbs = tuple((module.NAME, module.HELP) for module in command_modules())
    return (PROG, DESCRIPTION, DATA_DIR_HELP, VERBOSE_HELP, verbs)


def _catch_start_up_ctrl_c(seen: list[bool]) -> object:
    """Have Ctrl-C during start-up also noted in `seen`: raised inside the import machinery's own
    callbacks, Python swallows the KeyboardInterrupt ("Exception ignored in ... _get_module_lock") and
    start-up went on into the recording as if no key was pressed. Returns the handler to put back;
    one that is not Python's default (a shell that ignores Ctrl-C) is left as it is."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:

        def note_and_raise(signum: int, frame: object) -> None:
            seen.append(True)
            raise KeyboardInterrupt

        try:  # noqa: SIM105 (contextlib is not loaded at start-up)
            signal.signal(signal.SIGINT, note_and_raise)
        except ValueError:  # not the main thread: no handler can be set there
            pass
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ctrl_c: list[bool] = []
    handler = _catch_start_up_ctrl_c(ctrl_c)
    try:  # building the parser imports the verbs, logging is set up: Ctrl-C that early is still one line
        text = stored_top_help(argv)
        if text is not None:
            try:  # noqa: SIM105 (contextlib is not loaded at start-up) no stdout, or a closed pipe, is no error (argparse)
                sys.stdout.write(text)
            except (AttributeError, OSError):
                pass
            if argv:
                sys.exit(ExitStatus.OK)  # as argparse's --help does
            return ExitStatus.USAGE
        parser = build_parser(verbs=set(argv))
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return ExitStatus.USAGE
        configure_logging(args.verbose)
    except KeyboardInterrupt:
        ctrl_c.append(True)
    finally:
        if signal.getsignal(signal.SIGINT) is not handler:
            try:  # noqa: SIM105 (as above)
                signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]
            except ValueError:
                pass
    if ctrl_c:
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
