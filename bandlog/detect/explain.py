"""Words for what a rep table cannot say by itself: rows without an eccentric, their flags, the
candidates that were not counted as reps, and what was repaired on the way in.

The CLI table, the live view and the charts all explain these the same way, so the sentences live
here, built only from the vocabularies in bandlog.core.results (REP_FLAGS, REJECT_REASONS).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from bandlog.core.results import REJECT_REASONS, REP_FLAGS

NO_ECCENTRIC_FLAGS = ("isometric", "no_eccentric")
"""Flags that say why a row has no eccentric, most specific first."""
NO_ECCENTRIC_WORDS = {"isometric": "isometric pull, no eccentric", "no_eccentric": "no eccentric"}


def split_flags(flags: str | None) -> list[str]:
    """The REP_FLAGS keys of a row's `flags` cell ('drop;band_slack' -> ['drop', 'band_slack'])."""
    if not isinstance(flags, str):
        return []
    return [key.strip() for key in flags.split(";") if key.strip()]


def flags_legend(flag_cells: Iterable[str | None]) -> str:
    """One line explaining every flag that occurs in `flag_cells`, in REP_FLAGS order; '' if none."""
    present = {key for cell in flag_cells for key in split_flags(cell)}
    known = [key for key in REP_FLAGS if key in present]
    unknown = sorted(present - set(REP_FLAGS))
    parts = [f"{key}: {REP_FLAGS[key]}" for key in known] + unknown
    return "flags: " + " | ".join(parts) if parts else ""


def no_eccentric_label(flags: str | None) -> str:
    """What a row without an eccentric was, e.g. 'isometric pull, no eccentric'."""
    keys = split_flags(flags)
    for key in NO_ECCENTRIC_FLAGS:
        if key in keys:
            return NO_ECCENTRIC_WORDS[key]
    return "no eccentric"


def rejection_counts(codes: Iterable[str]) -> dict[str, int]:
    """How many candidates were rejected for each REJECT_REASONS code, most frequent first."""
    counts = Counter(codes)
    order = {code: i for i, code in enumerate(REJECT_REASONS)}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0])))


def rejected_footnote(counts: Mapping[str, int]) -> str:
    """'2 candidates not counted as reps: 1 movement too small for a rep, 1 a hole in the data'; '' if none."""
    total = sum(counts.values())
    if total == 0:
        return ""
    noun = "candidate not counted as a rep" if total == 1 else "candidates not counted as reps"
    reasons = ", ".join(f"{n} {REJECT_REASONS.get(code, code)}" for code, n in counts.items())
    return f"{total} {noun}: {reasons}"


def stalls_meaning() -> str:
    """What the `stalls` column counts, with the detector's own thresholds."""
    from bandlog.detect.params import DetectorParams

    p = DetectorParams()
    return (f"pauses during the eccentric where the knee all but stopped (slower than {p.stall_floor_dps:g} °/s or "
            f"{p.stall_rate_fraction:.0%} of the eccentric's mean speed, whichever is higher) for {p.debounce_stall_s:g} s or longer")


def columns_legend() -> str:
    """The rep table's coded columns in words, for `--help` and the README (kept equal by a test)."""
    lines = [f"stalls: {stalls_meaning()}.", "flags (several are joined with ';'):"]
    lines += [f"  {key}: {text}" for key, text in REP_FLAGS.items()]
    return "\n".join(lines)


SATURATION_HINT = "a lighter band, a single strand, or a force sensor with more range"
"""What to change when the band pulls harder than the force sensor can read."""


def saturation_note(samples: int, reps: int, range_n: tuple[float, float]) -> str:
    """The set's note on clipped force, with what to change; e.g. '40 force samples at the sensor's
    -50..50 N range limit (clipped), in 2 reps flagged saturated: use a lighter band, ...'."""
    low_n, high_n = range_n
    where = f"in {counted(reps, 'rep')} flagged saturated" if reps else "outside any rep"
    return (f"{_count_phrase(samples, 'force samples')} at the sensor's {low_n:g}..{high_n:g} N range limit (clipped), "
            f"{where}: use {SATURATION_HINT}")


def saturation_warning(reps: int) -> str:
    """The live view's line once reps have clipped; '' while none has."""
    if not reps:
        return ""
    return f"force clipped at the sensor's range in {counted(reps, 'rep')}: use {SATURATION_HINT}"


def counted(n: int, noun: str) -> str:
    """'1 week', '4 weeks': a count with its noun, singular for one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def reps_phrase(reps: int, eccentrics: int | None) -> str:
    """'12 reps', or '12 reps (10 with an eccentric)' when some rows had no eccentric."""
    text = counted(reps, "rep")
    if eccentrics is not None and eccentrics != reps:
        text += f" ({eccentrics} with an eccentric)"
    return text


_PLURAL_RE = re.compile(r"\b(row|value|timestamp|sample)s\b")


def _count_phrase(n: int, words: str) -> str:
    """'2 out-of-order rows dropped'; '1 out-of-order row dropped'."""
    if n == 1:
        words = _PLURAL_RE.sub(r"\1", words, count=1)
    return f"{n} {words}"


def repairs_footnote(repairs: Mapping[str, int]) -> str:
    """One line saying what reading the file repaired (LogData.repairs); '' when nothing was.

    What the detector itself filled or left out is in each set's notes, printed with the set.
    """
    parts = [_count_phrase(n, what) for what, n in repairs.items() if n]
    return "repairs: " + ", ".join(parts) if parts else ""
