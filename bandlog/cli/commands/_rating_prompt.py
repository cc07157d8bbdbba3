"""The question after a recording: how was the set? (RPE and pain, 0-10), asked at the keyboard.

The phone page rates sets while the recording runs; at the keyboard the natural moment is right
after it, so record asks for the last set's rating when nobody gave one, and adds it to the log.
Underscored: not a verb.
"""

from __future__ import annotations

from collections.abc import Callable

SCORE_RANGE = range(11)
TRIES = 3
QUESTION = "How was set {n}? Effort (RPE) and pain, 0-10 each, e.g. '7 2' (Enter to skip):"


def parse_scores(line: str) -> tuple[int | None, int | None]:
    """'7 2' -> (7, 2); '7' -> (7, None); '' -> (None, None); ValueError with the reason otherwise."""
    words = line.replace(",", " ").split()
    if len(words) > 2:
        raise ValueError("give at most two numbers: effort, then pain")
    scores: list[int | None] = []
    for word in words:
        if not word.isdigit() or int(word) not in SCORE_RANGE:
            raise ValueError(f"{word!r} is not a whole number from 0 to 10")
        scores.append(int(word))
    scores += [None] * (2 - len(scores))
    return scores[0], scores[1]


def ask_rating(set_number: int, read: Callable[[str], str] = input, say: Callable[[str], None] = print) -> tuple[int | None, int | None]:
    """Ask until the answer reads (TRIES at most); (None, None) when skipped, at end of input or Ctrl-C:
    the recording is already safe, so nothing is lost by not answering."""
    say(QUESTION.format(n=set_number))
    for _ in range(TRIES):
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            say("")
            return None, None
        try:
            return parse_scores(line)
        except ValueError as error:
            say(f"  {error}")
    say("  no rating stored")
    return None, None
