"""Every bad input to read_log is one LogFormatError sentence, never a traceback or silent NaN."""

from __future__ import annotations

from pathlib import Path

import pytest

from bandlog import cli
from bandlog.core.errors import LogFormatError
from bandlog.io.read import read_log


def one_sentence(error: pytest.ExceptionInfo[LogFormatError]) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError) as error:
        read_log(tmp_path / "nope.csv")
    assert one_sentence(error) == f"no such file: {tmp_path / 'nope.csv'}"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="is a directory, not a log file"):
        read_log(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match="is empty"):
        read_log(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(LogFormatError, match="not a text CSV file"):
        read_log(path)


def test_unknown_format_says_what_was_expected(tmp_path: Path) -> None:
    # Grip Connect's export: no header row, a variable number of columns.
    path = tmp_path / "data-export-2026-01-01-10-00-00.csv"
    path.write_text('"1767261600000","12.1","12.5","11.9","0.1","1","3712"\n"1767261600012","12.2","12.5","11.9","0.1","2","3712"\n')
    with pytest.raises(LogFormatError) as error:
        read_log(path)
    message = one_sentence(error)
    assert message.startswith(f"{path} is not a log bandlog can read: expected a bandlog log")
    assert "Tindeq export" in message and "Vernier" in message and "t_s, time_s, time, timestamp" in message


def test_wrong_number_of_cells_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("t_s,force_n\n0,1\n0.1\n0.2,3\n")
    with pytest.raises(LogFormatError, match=r"line 3 has 1; expected 2 \(t_s,force_n\)"):
        read_log(path)


def test_several_bad_rows_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("t_s,force_n\n0,1\n0.1,NA\n0.2,3\n0.3,#REF!\n")
    with pytest.raises(LogFormatError, match=r"line 3 \(force_n='NA'\), line 5 \(force_n='#REF!'\)"):
        read_log(path)


def test_missing_time_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "notime.csv"
    path.write_text("t_s,force_n\n0,1\n,2\n")
    with pytest.raises(LogFormatError, match="missing or non-finite time at line 3"):
        read_log(path)


def test_cli_turns_bad_input_into_one_line_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", str(tmp_path / "nope.csv")]) == cli.ExitStatus.BAD_INPUT
    err = capsys.readouterr().err
    assert err.strip() == f"bandlog: no such file: {tmp_path / 'nope.csv'}"
