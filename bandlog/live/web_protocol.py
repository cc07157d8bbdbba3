"""What the phone page may send back: one set rating, validated here, anything else refused.

The page only reads the session; its single message is

    {"rating": {"set": N, "rpe": 0-10 or null, "pain": 0-10 or null}}

with N >= 1 and at least one of the two scores given. Anything else (another shape, an extra key,
a float, a bool, 11, a binary frame, a message over MAX_MESSAGE_BYTES) raises RatingRefused with
one sentence the page shows and the server counts. Pure: no socket, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from bandlog.coach import CoachView, TrackerState
from bandlog.core.errors import BandlogError

MAX_MESSAGE_BYTES = 1024
"""A rating is ~60 bytes; the socket closes on anything this long (websockets' max_size)."""
SCORE_MIN, SCORE_MAX = 0, 10
MAX_SET = 999


RatingCallback = Callable[[int, int | None, int | None], None]
"""on_rating(set_number, rpe, pain): store one set's rating; raise a BandlogError to refuse it."""


class RatingRefused(BandlogError, ValueError):
    """A message from the page that is not a valid set rating."""


@dataclass(frozen=True)
class Rating:
    """A set's rating of perceived exertion and pain, each 0-10 (None: not given)."""

    set_number: int
    rpe: int | None
    pain: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {"set": self.set_number, "rpe": self.rpe, "pain": self.pain}


class CoachFrame(TypedDict):
    """The set tracker's state the page shows (all None without a plan).

    `set`: the set in progress, or the next one while resting; `rep`: reps done in it; `leg`: its leg.
    `rest_left_s` counts down the prescribed rest (negative once over; None when not resting).
    `rate_set`: the set the RPE/pain buttons rate, the last one finished (None: set 1).
    """

    set: int | None
    sets_planned: int | None
    rep: int | None
    reps_planned: int | None
    leg: str | None
    resting: bool | None
    rest_left_s: float | None
    rate_set: int | None


NO_COACH: CoachFrame = {"set": None, "sets_planned": None, "rep": None, "reps_planned": None, "leg": None,
                        "resting": None, "rest_left_s": None, "rate_set": None}


def coach_frame(view: CoachView | None) -> CoachFrame | None:
    """The plan's state as the page shows it (None without a plan); the rating buttons rate the last
    set that ended."""
    if view is None:
        return None
    ended = {TrackerState.WAITING: 0, TrackerState.IN_SET: view.set_number - 1,
             TrackerState.RESTING: view.set_number - 1, TrackerState.DONE: view.set_number}[view.state]
    return {"set": view.set_number, "sets_planned": view.sets_planned, "rep": view.reps_done,
            "reps_planned": view.reps_planned, "leg": view.leg_now, "resting": view.state is TrackerState.RESTING,
            "rest_left_s": view.rest_left_s, "rate_set": ended or None}


def _score(rating: dict[str, Any], key: str) -> int | None:
    value = rating[key]
    if value is None:
        return None
    if type(value) is not int or not SCORE_MIN <= value <= SCORE_MAX:  # type(): a bool is an int to isinstance
        raise RatingRefused(f"{key} must be a whole number from {SCORE_MIN} to {SCORE_MAX} or null, not {value!r}")
    return value


def parse_rating(message: str | bytes) -> Rating:
    """The rating in one message from the page; RatingRefused (one sentence) for anything else."""
    if isinstance(message, bytes):
        raise RatingRefused("the page may only send text messages")
    if len(message) > MAX_MESSAGE_BYTES:
        raise RatingRefused(f"message too long ({len(message)} characters)")
    try:
        data = json.loads(message)
    except ValueError as error:
        raise RatingRefused(f"not JSON: {error}") from error
    if not isinstance(data, dict) or set(data) != {"rating"}:
        raise RatingRefused('the only message accepted is {"rating": {"set": N, "rpe": 0-10, "pain": 0-10}}')
    rating = data["rating"]
    if not isinstance(rating, dict) or set(rating) != {"set", "rpe", "pain"}:
        raise RatingRefused('a rating has exactly the keys "set", "rpe" and "pain"')
    set_number = rating["set"]
    if type(set_number) is not int or not 1 <= set_number <= MAX_SET:
        raise RatingRefused(f"set must be a whole number from 1 to {MAX_SET}, not {set_number!r}")
    rpe, pain = _score(rating, "rpe"), _score(rating, "pain")
    if rpe is None and pain is None:
        raise RatingRefused("a rating needs an RPE or a pain score")
    return Rating(set_number, rpe, pain)
