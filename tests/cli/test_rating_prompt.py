"""After `record`, the keyboard asks how the set felt (RPE, pain 0-10) and adds it to the log;
nothing is asked where nobody can answer, and a bad answer is asked again, never fatal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bandlog.cli import main
from bandlog.cli.commands._rating_prompt import ask_rating, parse_scores
from bandlog.core.results import SetRating
from bandlog.io.read import read_log


class Keyboard(io.StringIO):
    """Typed lines on a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("line", "scores"), [("7 2", (7, 2)), ("7", (7, None)), ("", (None, None)), (" 10, 0 ", (10, 0))])
def test_answers_read_as_scores(line: str, scores: tuple[int | None, int | None]) -> None:
    assert parse_scores(line) == scores


@pytest.mark.parametrize("line", ["11", "seven", "1 2 3", "-1", "7.5"])
def test_a_bad_answer_says_why(line: str) -> None:
    with pytest.raises(ValueError, match=r"whole number from 0 to 10|at most two numbers"):
        parse_scores(line)


def test_a_bad_answer_is_asked_again_and_end_of_input_skips() -> None:
    said: list[str] = []
    answers = iter(["eleven", "8 1"])
    assert ask_rating(2, read=lambda _prompt: next(answers), say=said.append) == (8, 1)
    assert said[0].startswith("How was set 2?") and "'eleven' is not a whole number" in said[1]

    def closed(_prompt: str) -> str:
        raise EOFError

    assert ask_rating(1, read=closed, say=said.append) == (None, None)


def test_record_asks_at_the_end_and_the_log_keeps_the_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", Keyboard("7 2\n"))
    log = tmp_path / "set.csv"
    assert main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--speed", "20", "--duration", "4",
                 "--leg", "left", "--view", "none", "--out", str(log)]) == 0
    out = capsys.readouterr().out
    assert "How was set 1?" in out and "set 1 rated: RPE 7, pain 2" in out
    (rating,) = read_log(log).ratings
    (samples,) = read_log(log).sets()
    assert rating == SetRating(1, 7, 2, float(samples.t_s[-1]))


def test_nothing_is_asked_without_a_terminal_or_with_no_rating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    for stdin, extra in ((io.StringIO("7 2\n"), []), (Keyboard("7 2\n"), ["--no-rating"])):
        monkeypatch.setattr("sys.stdin", stdin)
        log = tmp_path / f"set{len(extra)}.csv"
        assert main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--speed", "20", "--duration", "2",
                     "--leg", "left", "--view", "none", "--out", str(log), *extra]) == 0
        assert "How was set" not in capsys.readouterr().out and read_log(log).ratings == []
