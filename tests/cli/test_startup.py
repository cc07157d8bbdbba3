"""`bandlog --help` starts fast: what it imports, checked in a fresh interpreter (the time itself is
bench/perf.py's figure, bounded in tests/perf)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bandlog import cli

HEAVY = ("numpy", "pandas", "asyncio", "matplotlib", "scipy", "bleak", "bumble", "rich")
VERBS = [module.NAME for module in cli.command_modules()]


def imported_by(code: str, columns: int = 80) -> list[str]:
    """The modules a fresh interpreter holds after running `code` (its output silenced) for a terminal
    `columns` wide: bandlog/cli/_top_help.py holds the top-level help at 80 (a pipe's width), not at 81."""
    script = (
        "import contextlib, io, json, sys\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "COLUMNS": str(columns)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.splitlines()[-1])


def running(*argvs: list[str]) -> str:
    """Code that runs `bandlog ARGV` for each ARGV in one interpreter (the --help exits caught)."""
    return "from bandlog import cli\n" + "".join(f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n" for argv in argvs)


@pytest.mark.parametrize(
    "code",
    ["from bandlog import cli\ncli.build_parser()", running(["--help"], *([verb, "--help"] for verb in VERBS))],
    ids=["the whole parser", "bandlog --help and every verb's --help"],
)
def test_parsing_and_help_import_nothing_heavy(code: str) -> None:
    """asyncio was imported by `scan` at start-up; the others must stay out too, until a verb runs."""
    loaded = imported_by(code)
    assert [name for name in HEAVY if name in loaded] == []


def test_bandlog_help_builds_no_verb_options() -> None:
    """Listing the verbs needs their NAME and HELP only: what their options need (the detector's
    exercises, the fault keys, the legend of analyze's epilog) loads for the verb on the command line."""
    loaded = imported_by(running(["--help"]), columns=81)
    ours = [name for name in loaded if name.startswith("bandlog.") and not name.startswith("bandlog.cli.commands")]
    assert ours == ["bandlog.cli", "bandlog.cli._top_help", "bandlog.cli.help_format", "bandlog.cli.terminal", "bandlog.core", "bandlog.core.errors", "bandlog.core.version"]


@pytest.mark.parametrize("columns", [80, 81])
def test_bandlog_help_imports_no_pathlib_nor_shutil(columns: int) -> None:
    """pathlib (with urllib.parse and ipaddress, imported by the verb modules for `type=Path`) and
    shutil (with bz2 and lzma, imported by argparse for the terminal's width) were a third of what
    `bandlog --help` cost beyond Python's own start-up."""
    loaded = set(imported_by(running(["--help"]), columns)) - set(imported_by("pass"))  # an editable install's finder has pathlib
    assert [name for name in ("pathlib", "shutil", "urllib.parse", "bz2") if name in loaded] == []


def test_the_stored_bandlog_help_imports_no_argparse() -> None:
    """At a stored width (80: also a pipe's) the help is printed as stored, without building a parser:
    argparse with gettext and locale, textwrap, and the parser's build were most of what was left."""
    loaded = set(imported_by(running(["--help"], []), columns=80)) - set(imported_by("pass"))
    assert [name for name in ("argparse", "gettext", "locale", "textwrap", "bandlog.cli.help_format") if name in loaded] == []


def test_a_verb_named_on_the_command_line_gets_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["analyze", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--exercise {reverse-curl,runners-stretch,standing-l,other}" in text and "columns of the reps table:" in text


def test_a_verb_name_as_an_option_value_does_not_hide_the_verb(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Options are built for every verb word on the line: in `--data-dir plot sessions --format csv`
    the verb is sessions, though the word `plot` comes first (argparse would exit 2 on --format)."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--data-dir", "plot", "sessions", "--format", "csv"]) == cli.ExitStatus.OK
    assert capsys.readouterr().out.startswith("date,")
    assert (tmp_path / "plot").is_dir()
