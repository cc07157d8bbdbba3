"""The prescription a session follows: sets x reps at an eccentric tempo, the rest, the legs, stop rules.

Written as `--plan "3x8@4 r90 LR"` (sets x reps @ eccentric seconds; `r90` rest seconds, default 120;
`L`, `R`, `LR` legs alternating set by set, `LLRR` one leg's sets then the other's) or as a small TOML
plan file (`name`, `sets`, `reps`, `ecc_s`, `rest_s`, `legs`, optional `stop_on`). With both legs,
`sets` counts per leg, as a physio prescribes it ("3 x 8 each leg"): "3x8@4 LR" is six sets. Pure: the
caller reads the file; this module only parses text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bandlog.core.errors import ConfigError
from bandlog.core.results import ADHERENCE_TOLERANCE, adheres

DEFAULT_REST_S = 120.0

LEG_CODES: dict[str, str] = {"L": "left", "R": "right", "LR": "both-alternating", "LLRR": "both-blocked"}
"""Plan-text code -> the legs a plan names (None when the plan names none: the recording's --leg)."""
LEGS = tuple(LEG_CODES.values())
CONTROL_KINDS: dict[str, str] = {
    "drop": "a drop mid-eccentric (control lost)",
    "fast": "a release faster than the plan allows",
    "under": "a second eccentric in a row under the target",
}
"""What a ControlLost event's `kind` can be, and what `--stop-on` counts."""

LIMITS: dict[str, tuple[float, float]] = {"sets": (1, 20), "reps": (1, 50), "ecc_s": (0.5, 30.0), "rest_s": (0.0, 1800.0)}
PLAN_EXAMPLE = '"3x8@4" (3 sets of 8 reps, 4 s eccentrics), optionally with a rest and legs: "3x8@4 r90 LR"'
STOP_EXAMPLE = '"2 fast" (two fast releases end the set), "drop", or several: "2 fast, 3 under"'

_HEAD = re.compile(r"(\d+)x(\d+)@(\d+(?:\.\d+)?)s?", re.IGNORECASE)
_REST = re.compile(r"r(\d+(?:\.\d+)?)s?", re.IGNORECASE)
_STOP = re.compile(r"(?:(\d+)\s+)?([a-z]+)")


@dataclass(frozen=True)
class StopRule:
    """End the set early once `count` ControlLost events of `kind` happened in it."""

    kind: str
    count: int = 1

    def text(self) -> str:
        return self.kind if self.count == 1 else f"{self.count} {self.kind}"


@dataclass(frozen=True)
class Plan:
    sets: int
    """Sets per leg (both legs: twice as many sets in the session)."""
    reps: int
    ecc_s: float
    rest_s: float = DEFAULT_REST_S
    legs: str | None = None
    """One of LEGS, or None: the plan names no leg (the recording's --leg applies)."""
    stop_on: tuple[StopRule, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        for field, (low, high) in LIMITS.items():
            value = getattr(self, field)
            if not low <= value <= high:
                raise ConfigError(f"the plan's {field} must be within {low:g}-{high:g}, not {value:g}; e.g. {PLAN_EXAMPLE}")
        if self.legs is not None and self.legs not in LEGS:
            raise ConfigError(f"the plan's legs must be one of {', '.join(LEGS)}, not {self.legs!r}")

    @property
    def both_legs(self) -> bool:
        """Whether the session works both legs, set by set (one log, a session per leg in the index)."""
        return self.legs in ("both-alternating", "both-blocked")

    @property
    def total_sets(self) -> int:
        return self.sets * 2 if self.both_legs else self.sets

    def leg(self, set_number: int) -> str | None:
        """The leg of set `set_number` (1-based), or None when the plan names none."""
        if self.legs in (None, "left", "right"):
            return self.legs
        first_leg = set_number % 2 == 1 if self.legs == "both-alternating" else set_number <= self.sets
        return "left" if first_leg else "right"

    def on_tempo(self, ecc_duration_s: float | None) -> bool:
        """Whether an eccentric met the plan's tempo: ecc_s +- 20 %, the same rule as the index's
        adherence and the charts' target band (core.results.adheres); none timed: no."""
        return ecc_duration_s is not None and bool(adheres(ecc_duration_s, self.ecc_s))

    @property
    def under_line_s(self) -> float:
        """The short end of the plan's tempo band: ecc_s - 20 %."""
        return self.ecc_s * (1.0 - ADHERENCE_TOLERANCE)

    def under(self, ecc_duration_s: float | None) -> bool:
        """Whether an eccentric fell short of the plan's tempo band (under under_line_s); none timed: yes."""
        return ecc_duration_s is None or ecc_duration_s < self.under_line_s

    def text(self) -> str:
        """The plan as `--plan` text (parse_plan(text()) gives the plan back, stop rules and name aside)."""
        parts = [f"{self.sets}x{self.reps}@{_number(self.ecc_s)}", f"r{_number(self.rest_s)}"]
        codes = {leg: code for code, leg in LEG_CODES.items()}
        if self.legs is not None:
            parts.append(codes[self.legs])
        return " ".join(parts)

    def describe(self) -> str:
        """One line for people, e.g. '3x8@4 r90 LR: 3 sets of 8 reps per leg, legs alternating (6 sets), ...'."""
        per_leg = " per leg" if self.total_sets != self.sets else ""
        legs = {
            None: "",
            "left": ", left leg",
            "right": ", right leg",
            "both-alternating": f", legs alternating set by set ({self.total_sets} sets)",
            "both-blocked": f", all left sets then all right ({self.total_sets} sets)",
        }[self.legs]
        words = (
            f"{self.sets} sets of {self.reps} reps{per_leg}{legs}, eccentrics of {_number(self.ecc_s)} s, "
            f"{_number(self.rest_s)} s rest between sets"
        )
        if self.stop_on:
            words += f", set ends early on {', '.join(r.text() for r in self.stop_on)}"
        head = f"{self.name}: " if self.name else ""
        return f"{head}{self.text()}: {words}"

    def to_dict(self) -> dict[str, Any]:
        """For the log's metadata and the index (from_dict reads it back)."""
        return {
            "name": self.name,
            "sets": self.sets,
            "reps": self.reps,
            "ecc_s": self.ecc_s,
            "rest_s": self.rest_s,
            "legs": self.legs,
            "stop_on": ", ".join(r.text() for r in self.stop_on),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Plan:
        """A plan from to_dict() or a plan file's table; unknown or mistyped keys are a ConfigError."""
        unknown = sorted(set(data) - {"name", "sets", "reps", "ecc_s", "rest_s", "legs", "stop_on"})
        if unknown:
            raise ConfigError(f"unknown plan key(s) {', '.join(unknown)}: a plan has name, sets, reps, ecc_s, rest_s, legs, stop_on")
        missing = [key for key in ("sets", "reps", "ecc_s") if key not in data]
        if missing:
            raise ConfigError(f"the plan lacks {', '.join(missing)}: e.g. sets = 3, reps = 8, ecc_s = 4")
        legs = data.get("legs")
        if isinstance(legs, str) and legs.upper() in LEG_CODES:
            legs = LEG_CODES[legs.upper()]
        stop_on = data.get("stop_on") or ""
        if isinstance(stop_on, list):
            stop_on = ", ".join(str(s) for s in stop_on)
        name = data.get("name")
        return Plan(
            sets=_whole(data["sets"], "sets"),
            reps=_whole(data["reps"], "reps"),
            ecc_s=_seconds(data["ecc_s"], "ecc_s"),
            rest_s=_seconds(data.get("rest_s", DEFAULT_REST_S), "rest_s"),
            legs=legs if legs is None else str(legs),
            stop_on=parse_stop_on(str(stop_on)),
            name=None if name is None else str(name),
        )


def parse_plan(text: str, stop_on: str = "") -> Plan:
    """A Plan from `--plan` text such as '3x8@4 r90 LR' (and `--stop-on` text such as '2 fast')."""
    tokens = text.split()
    head = _HEAD.fullmatch(tokens[0]) if tokens else None
    if head is None:
        raise ConfigError(f"could not read the plan {text!r}: expected SETSxREPS@ECCENTRIC_S first, e.g. {PLAN_EXAMPLE}")
    rest_s: float | None = None
    legs: str | None = None
    for token in tokens[1:]:
        rest = _REST.fullmatch(token)
        if rest is not None and rest_s is None:
            rest_s = float(rest.group(1))
        elif token.upper() in LEG_CODES and legs is None:
            legs = LEG_CODES[token.upper()]
        else:
            raise ConfigError(
                f"could not read {token!r} in the plan {text!r}: after SETSxREPS@ECCENTRIC_S come at most one rest "
                f"(r90: 90 s) and one of L, R, LR (legs alternating), LLRR (one leg then the other), e.g. {PLAN_EXAMPLE}"
            )
    return Plan(
        sets=int(head.group(1)),
        reps=int(head.group(2)),
        ecc_s=float(head.group(3)),
        rest_s=DEFAULT_REST_S if rest_s is None else rest_s,
        legs=legs,
        stop_on=parse_stop_on(stop_on),
    )


def parse_stop_on(text: str) -> tuple[StopRule, ...]:
    """Stop rules from `--stop-on` text: '2 fast', 'drop', '2 fast, 3 under' ('' for none)."""
    rules: list[StopRule] = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        match = _STOP.fullmatch(part)
        if match is None or match.group(2) not in CONTROL_KINDS or match.group(1) == "0":
            raise ConfigError(
                f"could not read the stop rule {part!r}: expected an optional count and one of "
                f"{', '.join(CONTROL_KINDS)}, e.g. {STOP_EXAMPLE}"
            )
        kind = match.group(2)
        if any(r.kind == kind for r in rules):
            raise ConfigError(f"the stop rule for {kind!r} is given twice in {text!r}: give each kind once, e.g. {STOP_EXAMPLE}")
        rules.append(StopRule(kind, int(match.group(1) or 1)))
    return tuple(rules)


def plan_from_toml(text: str) -> Plan:
    """A Plan from a plan file's text, e.g. 'name = "rehab"\\nsets = 3\\nreps = 8\\necc_s = 4\\nlegs = "LR"'."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"the plan file is not valid TOML ({e}); write e.g. sets = 3, reps = 8, ecc_s = 4, one per line") from e
    return Plan.from_dict(data)


def _number(value: float) -> str:
    """A number as plan text: '4' for whole numbers, otherwise exactly and never with an exponent (so
    parsing gives it back)."""
    return str(int(value)) if float(value).is_integer() else format(Decimal(repr(float(value))), "f")


def _whole(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"the plan's {key} must be a whole number, not {value!r}; e.g. {key} = 3")
    return value


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"the plan's {key} must be a number of seconds, not {value!r}; e.g. {key} = 4")
    return float(value)
