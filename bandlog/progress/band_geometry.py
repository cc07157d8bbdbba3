"""The setup's geometry for the knee torque: the shank length a person gives once, the anchor a session records.

The shank length (knee to ankle cuff) is per person, stored once in the data folder (geometry.json
beside the index, `bandlog record --shank-cm 40` remembers it); the anchor (forward and height relative
to the knee, in the world: what a tape measure gives) is per session, in the log header's extra lines.
What is missing is assumed and said, never guessed silently: without a shank length, 40 cm (the
middle of 36-46 cm, science.md 6.1); without an anchor, the band at right angles to the shank (the
largest moment arm, so the torque is an upper bound). No numpy here: the index reads the shank
length on every refresh.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bandlog.core.errors import ConfigError

DEFAULT_SHANK_M = 0.40
SHANK_RANGE_CM = (20.0, 70.0)
ANCHOR_FORWARD_KEY = "anchor_forward_cm"
ANCHOR_HEIGHT_KEY = "anchor_height_cm"
"""meta.extra keys (header lines `# extra.anchor_forward_cm: 90`) of the anchor relative to the knee."""
GEOMETRY_FILE = "geometry.json"
NO_SHANK = f"torque assumes a {DEFAULT_SHANK_M * 100:.0f} cm shank: shank length not given (bandlog record --shank-cm)"
NO_ANCHOR = "torque assumes the band at right angles to the shank: anchor not given (bandlog record --anchor-cm FORWARD,HEIGHT)"


@dataclass(frozen=True)
class Geometry:
    """What the torque is computed with, and the sentences saying what was assumed (empty: nothing)."""

    shank_m: float
    anchor_m: tuple[float, float] | None
    """(forward, height) of the anchor relative to the knee, metres; None: band assumed perpendicular."""
    assumed: tuple[str, ...] = ()


def anchor_from_extra(extra: Mapping[str, str]) -> tuple[tuple[float, float] | None, str | None]:
    """(anchor in metres, or None; a sentence when the header holds an unreadable one)."""
    forward, height = extra.get(ANCHOR_FORWARD_KEY), extra.get(ANCHOR_HEIGHT_KEY)
    if forward is None and height is None:
        return None, None
    try:
        x_m, y_m = float(forward or "nan") / 100, float(height or "nan") / 100
    except ValueError:
        return None, f"the anchor in the log header is not a number ({forward!r}, {height!r})"
    if not (math.isfinite(x_m) and math.isfinite(y_m)) or x_m <= 0:
        return None, f"the anchor in the log header is incomplete or behind the knee ({forward!r}, {height!r})"
    return (x_m, y_m), None


def anchor_extra(forward_cm: float, height_cm: float) -> dict[str, str]:
    """The meta.extra entries that record an anchor (as `anchor_from_extra` reads them)."""
    if forward_cm <= 0:
        raise ConfigError(f"the anchor must be in front of the knee (forward > 0 cm), not {forward_cm:g} cm")
    return {ANCHOR_FORWARD_KEY: f"{forward_cm:.1f}", ANCHOR_HEIGHT_KEY: f"{height_cm:.1f}"}


def anchor_in_world_m(anchor_x_m: float, anchor_y_m: float, thigh_pitch_deg: float) -> tuple[float, float]:
    """An anchor given in the thigh's frame (the motion model's: x along the thigh) in the world, as a
    tape measure from the knee gives it: turned by the thigh's pitch (knee end down)."""
    p = math.radians(thigh_pitch_deg)
    return (anchor_x_m * math.cos(p) - anchor_y_m * math.sin(p), anchor_x_m * math.sin(p) + anchor_y_m * math.cos(p))


def parse_anchor_cm(text: str) -> tuple[float, float]:
    """'90,-20' -> (90.0, -20.0): forward and height of the anchor relative to the knee, cm."""
    parts = text.replace(" ", "").split(",")
    try:
        forward, height = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--anchor-cm takes FORWARD,HEIGHT in cm relative to the knee (e.g. 90,-20), not {text!r}") from None
    anchor_extra(forward, height)  # the same check the header gets
    return forward, height


def resolve_geometry(shank_cm: float | None, extra: Mapping[str, str]) -> Geometry:
    """The geometry of one session from the person's shank length and the log header, with what was assumed."""
    assumed = []
    if shank_cm is None:
        assumed.append(NO_SHANK)
    anchor, problem = anchor_from_extra(extra)
    if problem:
        assumed.append(problem)
    if anchor is None:
        assumed.append(NO_ANCHOR)
    return Geometry(DEFAULT_SHANK_M if shank_cm is None else shank_cm / 100, anchor, tuple(assumed))


def geometry_path(home: Path) -> Path:
    return Path(home) / GEOMETRY_FILE


def load_shank_cm(home: Path) -> float | None:
    """The person's shank length (knee to cuff, cm) from the data folder; None when never given.
    An unreadable file is one sentence (it was written by bandlog, so it is worth knowing)."""
    path = geometry_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the shank length in {path} ({error}); give it again with --shank-cm") from None
    value = data.get("shank_cm") if isinstance(data, dict) else None
    return None if value is None else check_shank_cm(value)


def check_shank_cm(value: object) -> float:
    """A plausible shank length in cm (knee to cuff), or one sentence saying why not."""
    try:
        cm = float(value)  # type: ignore[arg-type]  # anything: a CLI string or a JSON value
    except (TypeError, ValueError):
        raise ConfigError(f"the shank length must be a number of cm, not {value!r}") from None
    lo, hi = SHANK_RANGE_CM
    if not lo <= cm <= hi:
        raise ConfigError(f"a shank length (knee to ankle cuff) of {cm:g} cm is outside {lo:g}-{hi:g} cm")
    return cm


def save_shank_cm(home: Path, shank_cm: float) -> Path:
    """Remember the person's shank length in the data folder (asked once); returns the file."""
    cm = check_shank_cm(shank_cm)
    path = geometry_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"shank_cm": cm}), encoding="utf-8")
    tmp.replace(path)
    return path
