"""When to move up a band, and to which: the rule, and the colour table's next step.

The rule (README, "Moving up a band"): for one leg, when the last N sessions in a row (default 3) with
its current band all had a mean eccentric at or above the session's target, at full range (the
session's median range of motion within FULL_RANGE_DEG of the leg's usual, the median over all its
sessions), the band is suggested one colour up, with the same strand count, from the Thera-Band order
of science.md 1.1 (tan, yellow, red, green, blue, black, silver, gold: ~25 % more force a step, ~40 %
from black up). A label that names no colour of the table gets a sentence saying so, not a guess.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bandlog.core.errors import ConfigError
from bandlog.detect.explain import counted
from bandlog.progress.index_rows import sql_value

BAND_COLOURS = ("tan", "yellow", "red", "green", "blue", "black", "silver", "gold")
"""The Thera-Band order of science.md 1.1 (bandlog.sim.band's table, which a test holds this to; not
imported from there so that a warm `bandlog sessions` needs no numpy)."""
DEFAULT_SESSIONS = 3
FULL_RANGE_DEG = 10.0
_STRANDS = re.compile(r"(?:[x×*]\s*(\d+))|(?:(\d+)\s*[x×*])")


def parse_band(label: str) -> tuple[str, int] | None:
    """'Green x2' -> ('green', 2); 'red' -> ('red', 1); None when no colour of the table is named."""
    text = label.lower()
    colours = [c for c in BAND_COLOURS if re.search(rf"\b{c}\b", text)]
    if len(colours) != 1:
        return None
    match = _STRANDS.search(text)
    strands = int(match.group(1) or match.group(2)) if match else 1
    return colours[0], strands


def next_band(label: str) -> str | None:
    """The next colour up with the same strands ('green x2' -> 'blue x2'); None for gold or an unknown label."""
    parsed = parse_band(label)
    if parsed is None:
        return None
    colour, strands = parsed
    i = BAND_COLOURS.index(colour)
    if i + 1 >= len(BAND_COLOURS):
        return None
    return BAND_COLOURS[i + 1] + (f" x{strands}" if strands > 1 else "")


@dataclass(frozen=True)
class MoveUp:
    leg: str
    band: str
    sentence: str
    suggest: str | None
    """The next band, when the rule is met and the table has one."""


def check_sessions_needed(n: int) -> int:
    if n < 1:
        raise ConfigError(f"the move-up rule needs at least 1 session in a row, not {n}")
    return n


def move_up(sessions: Sequence[Mapping[str, Any]], n: int = DEFAULT_SESSIONS) -> list[MoveUp]:
    """Per leg, from sessions oldest first (plain records with leg, band, target_ecc_s,
    mean_ecc_duration_s, rom_deg), the verdict when its last `n` sessions, all with its current band,
    meet the rule; a leg that does not meet it gets nothing (there is nothing to say)."""
    n = check_sessions_needed(n)
    by_leg: dict[str, list[Mapping[str, Any]]] = {}
    for record in sessions:
        if record.get("band"):
            by_leg.setdefault(str(record.get("leg") or ""), []).append(record)
    out = []
    for leg, rows in sorted(by_leg.items()):
        band = str(rows[-1]["band"])
        roms = [float(r["rom_deg"]) for r in rows if sql_value(r.get("rom_deg")) is not None]
        last = rows[-n:]
        if not roms or len(last) < n or any(r["band"] != band for r in last):
            continue
        usual = statistics.median(roms)
        if not all(_meets(r, usual) for r in last):
            continue
        who = f"{leg} leg, " if leg else ""
        done = (f"{who}{band}: eccentrics at or above target at full range (within {FULL_RANGE_DEG:.0f} deg of the usual "
                f"{usual:.0f} deg) in the last {counted(n, 'session')}")
        nxt = next_band(band)
        if nxt is not None:
            sentence = f"{done}: try {nxt}"
        elif parse_band(band) is None:
            sentence = f"{done}; '{band}' names no colour of the band table (tan ... gold), so no next band to suggest"
        else:
            sentence = f"{done}; {band} is the heaviest colour: add a strand or lengthen the target eccentric"
        out.append(MoveUp(leg, band, sentence, nxt))
    return out


def _meets(record: Mapping[str, Any], usual_rom_deg: float) -> bool:
    ecc, rom, target = (sql_value(record.get(k)) for k in ("mean_ecc_duration_s", "rom_deg", "target_ecc_s"))
    return ecc is not None and rom is not None and target is not None and ecc >= target and rom >= usual_rom_deg - FULL_RANGE_DEG
