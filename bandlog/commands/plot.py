"""`bandlog plot FILE`: one session's figure (force, knee angle, eccentric duration per rep)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bandlog.errors import ConfigError, LogWriteError

if TYPE_CHECKING:
    import numpy as np

NAME = "plot"
HELP = "chart one session: force and knee angle with eccentric phases shaded, and eccentric duration per rep"
ORDER = 62
FORMATS = (".png", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a recording (bandlog log or a supported export)")
    parser.add_argument("--out", type=Path, help="image to write, .png or .svg (default: FILE with .png beside it)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's)")


def knee_trace(log: Any, target_ecc_s: float) -> "tuple[np.ndarray, np.ndarray, str] | None":
    """The detector's knee angle (or rate) over each whole set, stitched like the samples; None without IMU."""
    import numpy as np

    from bandlog.analysis import Analyzer
    from bandlog.plots import set_offsets_s

    offsets = set_offsets_s(log.samples)
    times, values, kinds = [], [], set()
    for set_index, block in enumerate(log.sets()):
        if len(block) == 0 or block.gyro_dps is None:
            return None
        analyzer = Analyzer(target_ecc_s=target_ecc_s)
        analyzer.feed(block)
        kinematics = analyzer.last_kinematics()
        analyzer.finish()
        if kinematics is None:
            return None
        if kinematics.knee_angle_deg is not None:
            values.append(kinematics.knee_angle_deg)
            kinds.add("angle")
        elif kinematics.knee_rate_dps is not None:
            values.append(kinematics.knee_rate_dps)
            kinds.add("rate")
        else:
            return None
        times.append(kinematics.t_s + offsets.get(set_index, 0.0))
    if len(kinds) != 1:
        return None
    return np.concatenate(times), np.concatenate(values), kinds.pop()


def run(args: argparse.Namespace) -> int:
    from bandlog.api import analyze, read_log
    from bandlog.plots import session_figure, stitch_sets

    out = args.out or args.file.with_suffix(".png")
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out must end in .png or .svg, not {out.name!r}")
    log = read_log(args.file)
    target = args.target_ecc if args.target_ecc is not None else log.meta.target_ecc_s
    result = analyze(log, target_ecc_s=target)
    samples, reps = stitch_sets(log.samples, result.reps)
    leg = f", {log.meta.leg} leg" if log.meta.leg else ""
    band = f", {log.meta.band} band" if log.meta.band else ""
    title = f"{args.file.name}{leg}{band}: {len(reps)} reps, eccentric TUT {reps['ecc_duration_s'].sum():.1f} s"
    fig = session_figure(samples, reps, target, knee=knee_trace(log, target), title=title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    except OSError as error:
        raise LogWriteError(f"cannot write the chart {out}: {error.strerror or error}") from error
    print(f"wrote {out}")
    return 0
