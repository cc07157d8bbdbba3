"""A force sensor's correction, found by `bandlog check` and applied to every later recording of it.

A check hangs a known load from the sensor: a pull must read positive and within 2 % of the load.
When it does not (the PASCO's sign is unverified; a clone's gain may be off), the check stores a
scale per device address, and the live session multiplies the device's force by it before the tare,
so the log, the detector and every chart see pulls positive and in newtons. The log header keeps
the scale and where it came from (`# stream.force_scale`), so the device's own reading stays
recoverable (force / scale) and a replay of the raw bytes applies the very same correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import SampleBlock, StreamInfo, force_range_extra

FORCE_SCALE_KEY = "force_scale"
"""StreamInfo.extra key: the factor the device's force was multiplied by (header `# stream.force_scale: -1`)."""
FORCE_CALIBRATION_KEY = "force_calibration"
"""StreamInfo.extra key: one line saying which check found the scale, and what it measured."""
CALIBRATION_KEYS = (FORCE_SCALE_KEY, FORCE_CALIBRATION_KEY)
MAX_SCALE = 2.0
"""A correction larger than 2x (or smaller than 1/2) is not a miscalibrated sensor but a wrong load
or a loose hook: the check refuses to store it (bandlog.detect.sensor_check)."""


@dataclass(frozen=True)
class ForceCalibration:
    """Multiply the device's force by `scale` (negative when the sensor reads pulls negative)."""

    scale: float
    source: str
    """One line: the check that found it, e.g. 'bandlog check 2026-12-05T01:02Z: 2 kg read -19.58 N'."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and 1.0 / MAX_SCALE <= abs(self.scale) <= MAX_SCALE):
            raise ConfigError(f"a force scale must be a number between 1/{MAX_SCALE:g} and {MAX_SCALE:g} in size, not {self.scale}")

    @property
    def is_identity(self) -> bool:
        """True when the check found the sensor right as it is (nothing to change)."""
        return self.scale == 1.0

    def describe(self) -> str:
        """How the correction reads to the user, e.g. 'sign inverted and gain x1.012'."""
        parts = []
        if self.scale < 0:
            parts.append("sign inverted")
        if abs(self.scale) != 1.0:
            parts.append(f"gain x{abs(self.scale):.4g}")
        return " and ".join(parts) or "none needed (sign and gain verified)"

    def apply(self, block: SampleBlock) -> SampleBlock:
        """The block with its force corrected (a block without force is returned as it is)."""
        if block.force_n is None or self.is_identity:
            return block
        return replace(block, force_n=block.force_n * self.scale)

    def apply_to_info(self, info: StreamInfo) -> StreamInfo:
        """The stream's description with the correction recorded and its force range corrected too
        (a range read by the device is where the corrected force clips)."""
        extra = {**info.extra, FORCE_SCALE_KEY: f"{self.scale:.17g}", FORCE_CALIBRATION_KEY: self.source}
        limits = info.force_range_n
        if limits is not None:
            low_n, high_n = sorted((limits[0] * self.scale, limits[1] * self.scale))
            extra.update(force_range_extra(low_n, high_n))
        return replace(info, extra=extra)


def force_correction(meta: RecordingMeta | None) -> str | None:
    """What a recording's force was corrected by, in words ('sign inverted (force x -1), from bandlog
    check ...'); None when no correction was applied."""
    info = None if meta is None else meta.stream
    if info is None or FORCE_SCALE_KEY not in info.extra:
        return None
    scale_text = info.extra[FORCE_SCALE_KEY]
    try:
        described = ForceCalibration(float(scale_text), "").describe()
    except (ValueError, ConfigError):
        described = "an unreadable scale"
    return f"{described} (force x {scale_text}), from {info.extra.get(FORCE_CALIBRATION_KEY) or 'an unnamed check'}"
