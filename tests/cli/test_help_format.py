"""Every --help is argparse's own text, byte for byte, though the CLI sizes it without shutil and
prints the top-level one from bandlog/cli/_top_help.py at the widths stored there (issue 13: start-up)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pytest

from bandlog import cli
from bandlog.cli import _top_help, help_format, help_store

VERBS = [module.NAME for module in cli.command_modules()]
WIDTHS = (60, 80, 120, 200)


def printed_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, int]:
    """What `bandlog ARGV` prints and its exit status (argparse's --help exits, no words returns)."""
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    return capsys.readouterr().out, int(status)


def argparse_help(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The same with argparse's own formatters (shutil's terminal size) and no stored text."""
    with monkeypatch.context() as patch:
        patch.setattr(help_format, "HelpFormatter", argparse.HelpFormatter)
        patch.setattr(help_format, "RawDescriptionHelpFormatter", argparse.RawDescriptionHelpFormatter)
        patch.setattr(cli, "stored_top_help", lambda argv: None)
        return printed_help(argv, capsys)


@pytest.mark.parametrize("columns", [None, "", "0", "-5", "wide", "1", "60", "80", "81", "200"])
def test_terminal_columns_follow_shutils_rule(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """COLUMNS when a positive number, else the size of stdout (not a terminal under pytest), else 80."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli.terminal_columns() == shutil.get_terminal_size().columns


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"], *([verb, "--help"] for verb in VERBS)], ids=" ".join)
def test_every_help_is_argparses_own(
    argv: list[str], width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    ours = printed_help(argv, capsys)
    assert ours == argparse_help(argv, capsys, monkeypatch)
    assert ours[1] == (cli.ExitStatus.USAGE if argv == [] else cli.ExitStatus.OK)


def test_help_without_columns_is_argparses_own(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """No COLUMNS and no terminal (a pipe): the 80 columns of shutil's fallback, served from the store."""
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli.stored_top_help(["--help"]) is not None
    assert printed_help(["--help"], capsys) == argparse_help(["--help"], capsys, monkeypatch)


@pytest.mark.parametrize("columns", sorted(_top_help.HELP_BY_COLUMNS))
def test_the_stored_help_is_argparses_own_at_every_stored_width(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte for byte, with argparse's formatter, at each width the stored text is served for."""
    if sys.version_info[:2] != _top_help.PYTHON:
        pytest.skip(f"stored for Python {_top_help.PYTHON}: not served here (argparse prints the help)")
    monkeypatch.setenv("COLUMNS", str(columns))
    parser = cli.build_parser(verbs=())
    parser.formatter_class = argparse.HelpFormatter
    assert _top_help.HELP_BY_COLUMNS[columns] == parser.format_help()


def test_the_stored_help_is_up_to_date() -> None:
    """A changed top-level help, verb or verb HELP needs `python -m bandlog.cli.help_store` (the fast path
    would not serve the stale text, so `bandlog --help` would only be slower)."""
    if sys.version_info[:2] != _top_help.PYTHON:
        pytest.skip(f"stored for Python {_top_help.PYTHON}")
    assert Path(_top_help.__file__).read_text(encoding="utf-8") == help_store.stored_module_text(), (
        "bandlog/cli/_top_help.py is stale: run `python -m bandlog.cli.help_store`"
    )


@pytest.mark.parametrize(
    ("argv", "columns", "change"),
    [
        (["--help"], "81", None),  # a width not stored
        (["--help", "--version"], "80", None),  # more than asking for help
        (["sessions", "--help"], "80", None),
        (["--help"], "80", ("PYTHON", (2, 7))),  # another Python's argparse may format differently
        (["--help"], "80", ("INPUTS", ())),  # a verb or a help text changed since it was stored
    ],
)
def test_argparse_prints_what_the_store_does_not_hold(
    argv: list[str], columns: str, change: tuple[str, object] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert cli.stored_top_help(["--help"]) is not None or columns != "80"
    if change:
        monkeypatch.setattr(_top_help, *change)
    assert cli.stored_top_help(argv) is None


@pytest.mark.parametrize("where", ["stored_top_help", "build_parser"])
def test_ctrl_c_while_starting_is_one_line(where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, where, interrupted)
    assert cli.main(["sessions"]) == cli.ExitStatus.INTERRUPTED
    assert capsys.readouterr().err == "bandlog: interrupted\n"


def test_ctrl_c_that_python_swallows_while_starting_still_stops_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Ctrl-C landing in the import machinery's own callback is printed as "Exception ignored" and lost:
    # start-up then went on into the verb (a live recording) as if no key had been pressed
    import contextlib
    import signal

    real_build_parser = cli.build_parser

    def build_parser_hit_by_a_lost_ctrl_c(*args: object, **kwargs: object) -> object:
        with contextlib.suppress(KeyboardInterrupt):  # as the import lock's weakref callback does
            signal.raise_signal(signal.SIGINT)
        return real_build_parser(*args, **kwargs)

    monkeypatch.setattr(cli, "build_parser", build_parser_hit_by_a_lost_ctrl_c)
    assert cli.main(["sessions"]) == cli.ExitStatus.INTERRUPTED  # not the listing `sessions` gives
    assert capsys.readouterr().err == "bandlog: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own again for the verb
