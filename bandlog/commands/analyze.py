"""`bandlog analyze FILE`: reps and set summary of a log, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from bandlog.errors import ConfigError

NAME = "analyze"
HELP = "detect reps in a log (bandlog or a supported export) and print them as a table, JSON or CSV"
ORDER = 50
FORMATS = ("table", "json", "csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the log to analyse")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default, for reading), json (one object) or csv (the reps table)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's own)")


def plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy types unwrapped, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def as_json(summary: dict[str, Any], reps: "list[dict[str, Any]]") -> str:
    """`{"summary": {SetSummary fields}, "reps": [{REP_COLUMNS}, ...]}`, nulls as null."""
    from bandlog.results import REP_COLUMNS, SUMMARY_COLUMNS

    document = {
        "summary": {key: plain(summary[key]) for key in SUMMARY_COLUMNS},
        "reps": [{key: plain(rep[key]) for key in REP_COLUMNS} for rep in reps],
    }
    return json.dumps(document, allow_nan=False)


def run(args: argparse.Namespace) -> int:
    from bandlog.api import analyze, read_log
    from bandlog.commands._rep_table import print_reps, summary_line

    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    log = read_log(args.file)
    result = analyze(log, target_ecc_s=args.target_ecc)
    reps = result.reps.astype(object).to_dict("records")
    if args.format == "json":
        print(as_json(result.summary, reps))
    elif args.format == "csv":
        result.reps.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        n_sets = len(result.sets)
        for set_summary in result.sets:
            index = set_summary["set"]
            label = f"set {index + 1} of {n_sets}"
            print_reps([r for r in reps if r["set"] == index], title=f"{args.file.name} ({log.format}), {label}")
            print(f"{label}: {summary_line(set_summary)}")
        if n_sets > 1:
            print(f"all sets: {summary_line(result.summary)}")
    return 0
