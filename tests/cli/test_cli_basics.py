"""The CLI's own contract: fast help, every verb listed, errors as one sentence with an exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bandlog import cli
from bandlog.core.errors import BluetoothUnavailableError, ConfigError, LogFormatError

HEAVY_MODULES = ("numpy", "pandas", "matplotlib", "scipy", "bleak", "bumble", "rich")


def test_help_imports_no_heavy_module() -> None:
    """`bandlog --help` must start fast, so building the parser may not load numerical or BLE stacks."""
    code = (
        "import sys, bandlog.cli as c; c.build_parser(); "
        f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"heavy modules imported while building the CLI: {loaded}"


def test_every_verb_module_has_its_contract() -> None:
    for module in cli.command_modules():
        assert isinstance(module.NAME, str) and module.NAME
        assert isinstance(module.HELP, str) and module.HELP
        assert callable(module.add_arguments) and callable(module.run)


def test_no_command_prints_help_and_returns_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == cli.ExitStatus.USAGE
    assert "usage: bandlog" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BluetoothUnavailableError("x"), cli.ExitStatus.NO_BLUETOOTH),
        (LogFormatError("x"), cli.ExitStatus.BAD_INPUT),
        (ConfigError("x"), cli.ExitStatus.USAGE),
    ],
)
def test_errors_map_to_distinct_exit_codes(error: Exception, status: cli.ExitStatus) -> None:
    assert cli.exit_status_for(error) == status


def test_the_lazy_api_is_listed_by_dir() -> None:
    import bandlog

    assert {"read_log", "analyze", "BandlogError"} <= set(dir(bandlog))
    assert set(bandlog.__all__) <= set(dir(bandlog))


def test_the_flags_and_stalls_legend_names_every_flag_and_the_readme_carries_it() -> None:
    from pathlib import Path

    from bandlog.core.results import REP_FLAGS
    from bandlog.detect.explain import columns_legend

    legend = columns_legend()
    assert all(f"{key}: {text}" in legend for key, text in REP_FLAGS.items())
    assert legend.startswith("stalls: pauses during the eccentric")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert legend in readme, "README.md's flags and stalls block is out of date: paste explain.columns_legend()"


@pytest.mark.parametrize("leg", [None, "left"])
def test_a_recording_without_a_leg_says_where_it_is_filed(tmp_path, capsys: pytest.CaptureFixture[str], leg) -> None:
    """It used to be filed under 'unknown' without a word, outside every left/right chart."""
    out = tmp_path / "set.csv"
    argv = ["--data-dir", str(tmp_path), "record", "--emulate", "--device", "gdx-for", "--duration", "2", "--speed", "10",
            "--view", "none", "--out", str(out), *(["--leg", leg] if leg else [])]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert ("no --leg given" in captured.out) == (leg is None)
    assert captured.out.rstrip().endswith("samples, leg unknown)" if leg is None else "samples)")


def test_version_and_data_dir_after_the_verb(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from bandlog import __version__

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"bandlog {__version__}"
    assert cli.main(["sessions", "--data-dir", str(tmp_path / "after")]) == 0
    assert str(tmp_path / "after") in capsys.readouterr().out
    assert cli.main(["--data-dir", str(tmp_path / "before"), "sessions"]) == 0  # before the verb still counts
    assert str(tmp_path / "before") in capsys.readouterr().out


def test_a_recording_that_ends_normally_reports_no_lost_link(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    """With the disconnected callback firing on bandlog's own disconnect (as on BlueZ), every
    recording used to end with a warning that the link was lost."""
    argv = ["--data-dir", str(tmp_path), "record", "--emulate", "--device", "progressor", "--duration", "2",
            "--speed", "10", "--view", "none", "--leg", "left", "--out", str(tmp_path / "set.csv")]
    with caplog.at_level("WARNING"):
        assert cli.main(argv) == 0
    assert not [r for r in caplog.records if "lost" in r.getMessage()]
