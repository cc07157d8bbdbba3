"""Issue 12, point 4: `record` checks its log path before it connects (one sentence for a folder, an
existing file, a place it cannot write; no sensor connected, no "link lost" after it), and the
Bluetooth libraries' log chatter stays below the user's verbosity."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bandlog import cli
from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test if the emulated BLE world is started or a sensor is streamed from."""
    import bandlog.emulate.stack
    import bandlog.sources.ble

    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def called(*_args: object, **_kwargs: object) -> None:
            attempts.append(what)
            raise AssertionError(f"{what} before the log path was checked")

        return called

    monkeypatch.setattr(bandlog.emulate.stack, "emulated_sensors", refuse("emulated sensors started"))
    monkeypatch.setattr(bandlog.sources.ble, "stream", refuse("sensor connected"))
    return attempts


def bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, int, str]]:
    """name -> (--out, exit status, the one sentence)."""
    folder = tmp_path / "logs"
    folder.mkdir()
    existing = tmp_path / "set1.csv"
    existing.write_text("an earlier log\n")
    return {
        "folder": (folder, cli.ExitStatus.USAGE, f"--out {folder} is a folder; give the log a file name"),
        "existing file": (
            existing, cli.ExitStatus.WRITE_FAILED,
            f"cannot write the log {existing}: the file already exists (bandlog never overwrites a log)",
        ),
        "under a file": (
            existing / "new" / "set2.csv", cli.ExitStatus.WRITE_FAILED,
            f"cannot write the log {existing / 'new' / 'set2.csv'}: {existing} is a file, not a folder",
        ),
    }


@pytest.mark.parametrize("case", ["folder", "existing file", "under a file"])
def test_bad_out_is_one_sentence_before_connecting(
    tmp_path: Path, case: str, connections: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    out, status, sentence = bad_outputs(tmp_path)[case]
    caplog.set_level(logging.DEBUG)
    argv = ["--data-dir", str(tmp_path / "home"), "record", "--emulate", "--device", "gdx-for", "--view", "none", "--out", str(out)]
    assert cli.main(argv) == status
    assert connections == []
    captured = capsys.readouterr()
    assert captured.err == f"bandlog: {sentence}\n" and captured.out == ""
    assert not [r for r in caplog.records if "lost" in r.getMessage() or r.name.startswith(("bumble", "bleak"))]
    assert not (tmp_path / "home").exists()  # nothing written either
    if case == "existing file":
        assert out.read_text() == "an earlier log\n"


@pytest.fixture
def locked_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no file can be created in: a read-only one, or for root (who may write anywhere) a
    /proc process folder, which the kernel keeps read-only even for root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not os.path.isdir("/proc/self") or os.access("/proc/self", os.W_OK):
            pytest.skip("running as root, with no folder root cannot write into")
        yield Path("/proc/self")
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    yield locked
    locked.chmod(0o755)


def test_unwritable_folder_is_one_sentence_before_connecting(
    tmp_path: Path, locked_folder: Path, connections: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = locked_folder / "sub" / "set.csv"
    argv = ["--data-dir", str(tmp_path / "home"), "record", "--emulate", "--device", "gdx-for", "--view", "none", "--out", str(out)]
    assert cli.main(argv) == cli.ExitStatus.WRITE_FAILED
    assert connections == []
    assert capsys.readouterr().err == f"bandlog: cannot write the log {out}: permission denied in the folder {locked_folder}\n"


def test_paired_recording_refuses_a_leftover_journal_before_connecting(
    tmp_path: Path, connections: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A paired recording killed before its clocks aligned leaves `<name>-unaligned-imu.csv`: a new
    one with the same --out says so at once instead of connecting both sensors and then failing."""
    out = tmp_path / "set.csv"
    journal = tmp_path / "set-unaligned-imu.csv"
    journal.write_text("the start of an earlier paired recording\n")
    argv = ["--data-dir", str(tmp_path / "home"), "record", "--emulate", "--device", "progressor", "--imu", "witmotion",
            "--view", "none", "--out", str(out)]
    assert cli.main(argv) == cli.ExitStatus.WRITE_FAILED
    assert connections == []
    assert capsys.readouterr().err == (
        f"bandlog: cannot write the log {out}: set-unaligned-imu.csv beside it is the start of an earlier paired "
        "recording that was stopped before its clocks aligned; move it away or choose another --out\n"
    )
    assert journal.read_text() == "the start of an earlier paired recording\n" and not out.exists()


def test_record_stream_checks_the_path_before_connecting(tmp_path: Path, connections: list[str]) -> None:
    """The library entry point (used by record and demo) refuses a bad path before the link too."""
    from bandlog.app.session import RecordRequest, record_stream

    with pytest.raises(ConfigError, match="is a folder"):
        asyncio.run(record_stream(RecordRequest("gdx-for", tmp_path, RecordingMeta())))
    assert connections == []


def test_bad_out_at_the_terminal(tmp_path: Path) -> None:
    """As a user runs it: one line on stderr, the usage exit status, within seconds."""
    folder = tmp_path / "logs"
    folder.mkdir()
    argv = ["--data-dir", str(tmp_path / "home"), "record", "--emulate", "--device", "gdx-for", "--view", "none", "--out", str(folder)]
    done = subprocess.run([sys.executable, "-m", "bandlog", *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == cli.ExitStatus.USAGE
    assert done.stderr == f"bandlog: --out {folder} is a folder; give the log a file name\n" and done.stdout == ""


NOISY_COMMAND = """
import logging, sys
from bandlog import cli
from bandlog.cli.commands import sessions

def noisy(args):
    logging.getLogger("bumble.controller").warning("!!! no connection for handle 0x0001")
    logging.getLogger("bleak.backends.bluezdbus.manager").warning("bleak warning")
    logging.getLogger("bumble.host").error("bumble error")
    logging.getLogger("bumble.host").debug("bumble debug")
    logging.getLogger("bandlog.sources.ble_link").warning("own warning")
    logging.getLogger("bandlog.sources.ble_session").info("own info")
    logging.getLogger("bandlog.sources.ble_session").debug("own debug")
    return 0

sessions.run = noisy
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "flags, shown",
    [
        ([], {"own warning", "bumble error"}),
        (["-v"], {"own warning", "own info", "bumble error"}),
        (["-vv"], {"own warning", "own info", "own debug", "bumble error", "!!! no connection", "bleak warning"}),
        (["-vvv"], {"own warning", "own info", "own debug", "bumble error", "!!! no connection", "bleak warning", "bumble debug"}),
    ],
)
def test_bluetooth_library_logs_stay_below_the_users_verbosity(tmp_path: Path, flags: list[str], shown: set[str]) -> None:
    """bleak's and bumble's warnings only from -vv, their debug from -vvv; bandlog's own logs as before."""
    everything = {"own warning", "own info", "own debug", "bumble error", "bumble debug", "!!! no connection", "bleak warning"}
    done = subprocess.run([sys.executable, "-c", NOISY_COMMAND, *flags, "--data-dir", str(tmp_path), "sessions"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {message for message in everything if message in done.stderr} == shown
