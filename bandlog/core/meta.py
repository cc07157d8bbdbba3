"""What a recording is about: who, which leg, which band, which device. Stored in the log header."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bandlog.core.samples import StreamInfo

LEGS = ("left", "right")
DEFAULT_TARGET_ECC_S = 3.0
SIMULATED = "simulated"
"""The `extra` key (header line `# extra.simulated: ...`) that marks a made-up recording, valued with
what made it up; a real recording never has it, so simulated logs can always be told apart."""


@dataclass(frozen=True)
class RecordingMeta:
    """Session metadata; free-text fields are stored as given and neutralised only when written."""

    start_utc: str = ""
    leg: str | None = None
    band: str | None = None
    exercise: str = "reverse hamstring curl"
    target_ecc_s: float = DEFAULT_TARGET_ECC_S
    notes: str = ""
    tare_offset_n: float | None = None
    stream: StreamInfo | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def simulated_by(self) -> str:
        """What made this recording up (the demo, bandlog.progress.history); "" for a real recording."""
        return self.extra.get(SIMULATED, "")
