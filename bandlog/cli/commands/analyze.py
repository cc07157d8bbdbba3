"""`bandlog analyze FILE`: reps and set summary of a log, as a table, JSON or CSV."""

from __future__ import annotations

import sys

from bandlog.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from bandlog.app.api import AnalysisResult
    from bandlog.core.results import SetRating
    from bandlog.io.logdata import LogData
    from bandlog.progress.band_session import SessionBand

NAME = "analyze"
HELP = "detect reps in a log (bandlog or a supported export) and print them as a table, JSON or CSV"
ORDER = 50
FORMATS = ("table", "json", "csv")
JSON_HINT = "(--format json lists them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import textwrap
    from pathlib import Path

    from bandlog.cli.commands._detector_args import add_exercise_argument
    from bandlog.detect.explain import columns_legend

    parser.epilog = "columns of the reps table:\n" + "\n".join(
        textwrap.fill(line, 88, subsequent_indent="    ", break_on_hyphens=False) for line in columns_legend().splitlines()
    )
    parser.add_argument("file", type=Path, help="the log to analyse")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default, for reading), json (one object) or csv (the reps table)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's own)")
    parser.add_argument("--shank-cm", type=float, metavar="CM",
                        help="shank length, knee to ankle cuff, for each rep's knee torque (default: the one `record --shank-cm` "
                             "remembered in the data folder; without either, 40 cm is assumed and said)")
    add_exercise_argument(parser)


def plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy types unwrapped, NaN as None."""
    import math

    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def as_json(
    summary: dict[str, Any], reps: list[dict[str, Any]], rejected: list[dict[str, Any]],
    read: dict[str, Any] | None = None, ratings: list[dict[str, Any]] | None = None,
    plan: list[dict[str, Any]] | None = None, band: dict[str, Any] | None = None,
) -> str:
    """`{"summary": {SetSummary fields, "rejected_by_reason"}, "reps": [{REP_COLUMNS}, ...],
    "rejected": [{"set", REJECTED_COLUMNS}, ...], "read": {"format", "repairs"}, "ratings":
    [{"set_number", "rpe", "pain", "t_s"}, ...]}`, nulls as null: every candidate is accounted for,
    and so is every repair the reader made and every set rating the user gave; "plan": one report per
    log set against the plan the recording followed (empty without one); "band": the knee torque's
    geometry and the band curve of a force+IMU reverse curl (null otherwise), each rep's torque in
    its BAND_REP_COLUMNS (null without one)."""
    import json

    from bandlog.core.results import REJECTED_COLUMNS, REP_COLUMNS, SUMMARY_COLUMNS
    from bandlog.detect.explain import rejection_counts
    from bandlog.io.schema import SET_COLUMN
    from bandlog.progress.band_session import BAND_REP_COLUMNS

    document = {
        "summary": {
            **{key: plain(summary[key]) for key in SUMMARY_COLUMNS},
            "rejected_by_reason": rejection_counts(str(r["code"]) for r in rejected),
        },
        "reps": [{key: plain(rep.get(key)) for key in (*REP_COLUMNS, *BAND_REP_COLUMNS)} for rep in reps],
        "rejected": [{key: plain(r[key]) for key in (SET_COLUMN, *REJECTED_COLUMNS)} for r in rejected],
        "read": read if read is not None else {"format": None, "repairs": {}},
        "ratings": ratings or [],
        "plan": plan or [],
        "band": band,
    }
    return json.dumps(document, allow_nan=False)


def run(args: argparse.Namespace) -> int:
    from bandlog.app.api import analyze, read_log
    from bandlog.core.text_safety import csv_safe_frame

    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    from bandlog.cli.commands._detector_args import chosen_exercise
    from bandlog.detect.exercises import DEFAULT_KEY
    from bandlog.progress.band_session import BAND_REP_COLUMNS

    log = read_log(args.file)
    exercise = chosen_exercise(args.exercise, log.meta.exercise)
    # knee estimates only where a torque is computed from them (the reverse curl): gravity tracking costs
    result = analyze(log, target_ecc_s=args.target_ecc, exercise=args.exercise, kinematics=exercise == DEFAULT_KEY)
    band, shank_problem = knee_band(log, result, exercise, args.shank_cm, args.data_dir)
    table = result.reps.copy()
    for key in BAND_REP_COLUMNS:
        table[key] = getattr(band, key) if band is not None else None
    reps = table.astype(object).to_dict("records")
    said = [*band.notes, *([shank_problem] if shank_problem else [])] if band is not None else []
    rejected = result.rejected.astype(object).to_dict("records")
    if args.format == "json":
        ratings = [rating.to_dict() for rating in log.ratings]
        plans = [report.to_dict() for report in result.plan_reports]
        print(as_json(result.summary, reps, rejected, {"format": log.format, "repairs": result.repairs}, ratings, plans,
                      band_document(band, said)))
    elif args.format == "csv":
        csv_safe_frame(table).to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        print_tables(args.file.name, result, reps, rejected, exercise)
        for line in band_lines(band, said):
            print(line)
    return 0


def knee_band(
    log: LogData, result: AnalysisResult, exercise: str, shank_cm: float | None, data_dir: str | None
) -> tuple[SessionBand | None, str | None]:
    """(each rep's knee torque and the band curve, or None: a log without force and IMU, or another
    exercise than the reverse curl; the reason a remembered shank length could not be read). The
    shank length given here wins over the data folder's, and neither is written: analysing a log
    changes nothing."""
    from bandlog.core.errors import BandlogError
    from bandlog.detect.exercises import DEFAULT_KEY
    from bandlog.io.paths import data_home
    from bandlog.progress.band_geometry import check_shank_cm, load_shank_cm
    from bandlog.progress.band_session import session_band

    if exercise != DEFAULT_KEY:
        return None, None
    problem = None
    if shank_cm is not None:
        shank_cm = check_shank_cm(shank_cm)
    else:
        try:
            shank_cm = load_shank_cm(data_home(data_dir))
        except BandlogError as error:  # costs the torque its shank length, not the analysis
            problem = str(error)
    return session_band(log, result.reps, shank_cm, result.kinematics), problem


def band_document(band: SessionBand | None, said: list[str]) -> dict[str, Any] | None:
    """The JSON "band" object: geometry used, what was assumed or is unsure (`said`), session torque and the curve."""
    import json

    if band is None:
        return None
    return {
        "shank_cm": round(band.geometry.shank_m * 100, 1),
        "anchor_cm": None if band.geometry.anchor_m is None else [round(v * 100, 1) for v in band.geometry.anchor_m],
        "assumed": said,
        "peak_torque_n_m": band.session_peak_torque_n_m,
        "mean_torque_n_m": band.session_mean_torque_n_m,
        "equivalent_load_kg": band.equivalent_load_kg,
        "curve": json.loads(band.curve.to_json()),
    }


def band_lines(band: SessionBand | None, said: list[str]) -> list[str]:
    """The table's knee torque lines: each rep's peak, the session's figures, what was assumed (`said`)."""
    if band is None:
        return []
    peaks = ", ".join("-" if v is None else f"{v:.1f}" for v in band.peak_torque_n_m)
    lines = [f"knee torque per rep, peak (N m): {peaks}"]
    peak, mean, load = band.session_peak_torque_n_m, band.session_mean_torque_n_m, band.equivalent_load_kg
    if peak is not None and mean is not None and load is not None:
        lines.append(f"  session: peak {peak:.1f} N m (like {load:.1f} kg at the cuff), mean eccentric {mean:.1f} N m, "
                     f"shank {band.geometry.shank_m * 100:.0f} cm")
    lines += [f"  {note}" for note in said]
    lines.append(f"  band curve: {band.curve.describe()}")
    return lines


def print_tables(
    name: str, result: AnalysisResult, reps: list[dict[str, Any]], rejected: list[dict[str, Any]], exercise: str = "knee"
) -> None:
    """Each set's table, summary and footnotes, then the whole log's summary when it has several sets."""
    from bandlog.cli.commands._rep_table import print_set, summary_line
    from bandlog.detect.explain import repairs_footnote

    n_sets = len(result.sets)
    for set_summary in result.sets:
        number = set_summary["set"]
        label = f"set {number} of {n_sets}"
        print_set(
            [r for r in reps if r["set"] == number], set_summary, [str(r["code"]) for r in rejected if r["set"] == number],
            title=f"{name} ({result.log.format}), {label}", label=label, lists_hint=JSON_HINT, exercise=exercise,
        )
    if n_sets > 1:
        print(f"all sets: {summary_line(result.summary)}")
    for report in result.plan_reports:
        for line in report.lines():
            print(line)
    if result.log.ratings:
        print(f"set ratings (0-10): {ratings_line(result.log.ratings)}")
    repaired = repairs_footnote(result.repairs)
    if repaired:
        print(f"  {repaired}")


def ratings_line(ratings: list[SetRating]) -> str:
    """'set 1: RPE 6, pain 2; set 2: RPE 8' (a score not given is left out)."""
    parts = []
    for rating in ratings:
        scores = [f"{name} {value}" for name, value in (("RPE", rating.rpe), ("pain", rating.pain)) if value is not None]
        parts.append(f"set {rating.set_number}: {', '.join(scores) or 'no score'}")
    return "; ".join(parts)
