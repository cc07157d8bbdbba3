"""Simulated weeks of training for the demo and the notebooks: real bandlog logs from the motion model.

The story the numbers tell: a physio prescribes slow eccentrics (target 3 s, raised to 4 s half-way);
at first many reps are rushed, then the eccentrics lengthen, the fast reps die out, the band gets
heavier, and the right leg (the one that was injured) catches up with the left. Both legs use one
geometry (shank, anchor, sensor mounting) across the weeks, as a person with one chair and one anchor
point would, so force differences come from range of motion and band, not from the setup. Samples go
straight from `session.record()` into `CsvLogSink`, with no BLE and no real-time pacing, so a month of
history takes seconds. Every log is marked simulated in its header (meta.SIMULATED), so it can always
be told apart from a real recording.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bandlog.core.errors import ConfigError
from bandlog.core.meta import SIMULATED, RecordingMeta
from bandlog.core.results import SetRating
from bandlog.core.samples import StreamInfo
from bandlog.io.paths import recordings_dir
from bandlog.progress.band_geometry import anchor_extra, anchor_in_world_m, load_shank_cm, save_shank_cm

log = logging.getLogger(__name__)

RATE_HZ = 50.0
LEGS = ("left", "right")
BANDS = (("red", 1), ("green", 1), ("green", 2), ("blue", 2))
"""Band progression (colour, strands), one step every ceil(weeks / 4) weeks."""
GEOMETRY_FIELDS = ("shank_m", "anchor_x_m", "anchor_y_m", "pretension_frac", "thigh_pitch_deg", "imu_rotation", "sensor_radius_m")

Progress = Callable[[int, int, Path], None]
SIMULATED_BY = "bandlog.progress.history"
"""The meta.SIMULATED value of every log written here."""


@dataclass(frozen=True)
class PlannedSession:
    """One simulated session: when, which leg, what was prescribed and how well it was followed."""

    start: datetime
    """Local time (timezone-aware), so the sessions fall on the planned days wherever this runs."""
    leg: str
    week: int
    target_ecc_s: float
    """The prescription written into the log header."""
    tempo_ecc_s: float
    """The tempo the simulated person actually aims for (spec.target_ecc_s)."""
    p_fast: float
    rom_deg: float
    colour: str
    strands: int
    seed: int
    rpe: int
    """The effort the simulated person rates the set (0-10): high at first, easing as they adapt."""
    pain: int
    """The pain they rate (0-10): the right leg, which is regaining its range, hurts at first."""


def plan_history(first_day: date, weeks: int, sessions_per_week: int, seed: int) -> list[PlannedSession]:
    """The sessions write_simulated_history will write, oldest first (pure; nothing is simulated)."""
    if weeks < 1 or not 1 <= sessions_per_week <= 7:
        raise ConfigError(f"need at least 1 week and 1-7 sessions a week, not weeks={weeks}, sessions_per_week={sessions_per_week}")
    plan: list[PlannedSession] = []
    step_weeks = -(-weeks // len(BANDS))
    for week in range(weeks):
        progress = week / max(1, weeks - 1)  # 0 in the first week, 1 in the last
        target = 3.0 if week < weeks / 2 else 4.0
        colour, strands = BANDS[min(week // step_weeks, len(BANDS) - 1)]
        for session in range(sessions_per_week):
            day = first_day + timedelta(days=7 * week + (session * 7) // sessions_per_week)
            for leg_index, leg in enumerate(LEGS):
                start = datetime.combine(day, time(17, 30 + 8 * leg_index)).astimezone()  # 17:30 local time
                rom = 105.0 if leg == "left" else 85.0 + 20.0 * progress  # the right leg regains its range
                jitter = random.Random(seed * 100_000 + len(plan))
                pain = 3.0 * (1.0 - progress) if leg == "right" else 0.5
                plan.append(PlannedSession(
                    start=start, leg=leg, week=week, target_ecc_s=target,
                    tempo_ecc_s=round(target * (0.7 + 0.4 * progress), 3),
                    p_fast=round(0.35 * (1.0 - progress) + 0.02, 3), rom_deg=rom,
                    colour=colour, strands=strands, seed=seed * 100_000 + len(plan),
                    rpe=min(10, max(0, round(8.0 - 2.5 * progress + jitter.uniform(-1.0, 1.0)))),
                    pain=min(10, max(0, round(pain + jitter.uniform(-0.8, 0.8)))),
                ))
    return plan


def _geometry(seed: int) -> dict[str, object]:
    from bandlog.sim import random_spec

    base = random_spec(seed * 100_000 + 90_000, rom_deg=105.0, ext_deg=10.0)
    return {name: getattr(base, name) for name in GEOMETRY_FIELDS}


def write_simulated_history(
    home: Path,
    weeks: int = 4,
    sessions_per_week: int = 3,
    seed: int = 0,
    progress: Progress | None = None,
    first_day: date | None = None,
    *,
    rate_hz: float = RATE_HZ,
    reps_per_set: int = 8,
) -> list[Path]:
    """Write weeks x sessions_per_week x 2 legs simulated logs into `home/recordings`; returns their paths.

    `first_day` defaults to the Monday `weeks` weeks before this week's, so the history ends last week.
    Existing files of the same name are left alone (calling twice writes nothing new). `rate_hz` and
    `reps_per_set` (about 7 s a rep, plus 7 s) let benchmarks write longer, denser logs than the demo's.
    """
    from bandlog.io.csv_log import write_recording
    from bandlog.sim import random_spec, simulate_session

    if first_day is None:
        today = date.today()
        first_day = today - timedelta(days=today.weekday() + 7 * weeks)
    plan = plan_history(first_day, weeks, sessions_per_week, seed)
    geometry = _geometry(seed)
    if load_shank_cm(Path(home)) is None:  # a shank length given for this folder stays
        save_shank_cm(Path(home), 100 * float(geometry["shank_m"]))  # type: ignore[arg-type]  # a float of the spec
    folder = recordings_dir(Path(home))
    paths = []
    for done, planned in enumerate(plan, start=1):
        path = folder / f"{planned.start:%Y-%m-%dT%H%M%S}_sim-{planned.leg}.csv"
        if not path.exists():
            spec = random_spec(
                planned.seed, n_sets=1, reps_per_set=reps_per_set, lead_in_s=4.0, tail_s=3.0,
                target_ecc_s=planned.tempo_ecc_s, p_fast=planned.p_fast, p_very_slow=0.0,
                rom_deg=planned.rom_deg, ext_deg=10.0, fatigue_rom_frac=0.05, colour=planned.colour, strands=planned.strands,
                band_gain=0.9, band_exponent=0.54,  # one band of each colour, used every session
                **geometry,
            )
            block = simulate_session(spec).record(rate_hz=rate_hz, channels="force+imu")
            band = planned.colour if planned.strands == 1 else f"{planned.colour} x{planned.strands}"
            anchor_m = anchor_in_world_m(spec.anchor_x_m, spec.anchor_y_m, spec.thigh_pitch_deg)  # the truth, in the header
            meta = RecordingMeta(
                start_utc=planned.start.astimezone(UTC).isoformat(), leg=planned.leg, band=band, target_ecc_s=planned.target_ecc_s,
                notes=f"simulated by bandlog.progress.history (seed {planned.seed}, week {planned.week + 1})",
                extra={SIMULATED: SIMULATED_BY, **anchor_extra(100 * anchor_m[0], 100 * anchor_m[1])},
                stream=StreamInfo(profile="sim", model="bandlog motion model", sample_rate_hz=rate_hz,
                                  channels=block.channel_names()),
            )
            rated = SetRating(1, planned.rpe, planned.pain, float(block.t_s[-1]))  # rated when the set is over
            write_recording(path, meta, block, ratings=[rated])
            log.debug("wrote %s", path)
        paths.append(path)
        if progress is not None:
            progress(done, len(plan), path)
    return paths


def simulated_by(path: Path) -> str:
    """What made the log at `path` up (meta.SIMULATED), read from its header alone, so checking a folder of
    long real recordings stays fast; "" for a real recording or a foreign export. A file bandlog cannot
    read raises its one-sentence BandlogError."""
    from bandlog.io.read import read_meta

    meta = read_meta(path)
    return "" if meta is None else meta.simulated_by
