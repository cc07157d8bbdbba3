"""Test helpers for the progress tests: small rep-table "logs" with a reader/analyser that counts calls.

The fake log is a CSV of the analyze table with `# key: value` metadata lines; FakeBackend reads it
for real (pandas) and fails with LogFormatError on anything else, so the index is exercised against
genuine parsing, hashing and file-system changes without needing the detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import REP_COLUMNS, tempo_class

MARKER = "# fake-rep-log"


def rep_table(ecc_durations_s: Sequence[float | None], target_ecc_s: float = 3.0, peak_force_n: float = 60.0,
              set_number: int = 1) -> pd.DataFrame:
    """An analyze-style rep table: reps 8 s apart, eccentric phases of the given durations; None is an
    isometric pull (a 4 s cycle with no eccentric, flagged as the detector does)."""
    rows = []
    for i, ecc in enumerate(ecc_durations_s):
        start = 2.0 + 8.0 * i
        timed = ecc is not None
        rows.append({
            "rep": i + 1, "start_s": start, "end_s": start + 1.5 + (ecc if timed else 2.5),
            "ecc_start_s": start + 1.5 if timed else None, "ecc_end_s": start + 1.5 + ecc if timed else None,
            "ecc_duration_s": ecc, "tut_tension_s": (ecc if timed else 3.0) + 1.0, "peak_force_n": peak_force_n + i,
            "mean_ecc_force_n": peak_force_n * 0.6 if timed else None,
            "ecc_impulse_ns": peak_force_n * 0.6 * ecc if timed else None, "rom_deg": 95.0 if timed else 5.0,
            "mean_ecc_velocity_dps": 95.0 / ecc if timed else None, "peak_ecc_velocity_dps": 180.0 / ecc if timed else None,
            "tempo": tempo_class(ecc, target_ecc_s), "stalls": 0, "flags": "" if timed else "isometric;no_eccentric",
            "estimated": False, "set": set_number,
        })
    return pd.DataFrame(rows, columns=[*REP_COLUMNS, "set"])


def write_fake_log(path: Path, start_utc: str, leg: str | None, ecc_durations_s: Sequence[float | None],
                   target_ecc_s: float = 3.0, peak_force_n: float = 60.0, band: str = "red",
                   exercise: str | None = None) -> Path:
    """`exercise`: the header's exercise name (None: no line, so RecordingMeta's default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [MARKER, f"# start_utc: {start_utc}", f"# leg: {leg or ''}", f"# band: {band}", f"# target_ecc_s: {target_ecc_s}"]
    if exercise is not None:
        header.append(f"# exercise: {exercise}")
    table = rep_table(ecc_durations_s, target_ecc_s, peak_force_n)
    path.write_text("\n".join(header) + "\n" + table.to_csv(index=False), encoding="utf-8")
    return path


@dataclass
class FakeBackend:
    """read/analyze pair for bandlog.progress.index.update_index that records every call."""

    read_calls: list[Path] = field(default_factory=list)
    analyze_calls: list[Path] = field(default_factory=list)

    def read(self, path: Path) -> Any:
        self.read_calls.append(path)
        text = path.read_text(encoding="utf-8")
        if not text.startswith(MARKER):
            raise LogFormatError(f"{path.name} is not a fake rep log")
        meta = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# ") and ": " in line)
        reps = pd.read_csv(path, comment="#", dtype={"flags": str, "tempo": str})
        reps = reps.assign(flags=reps["flags"].fillna(""), tempo=reps["tempo"].fillna(""))
        return SimpleNamespace(
            path=path,
            meta=RecordingMeta(start_utc=meta["start_utc"], leg=meta["leg"] or None, band=meta["band"],
                               target_ecc_s=float(meta["target_ecc_s"]),
                               **({"exercise": meta["exercise"]} if "exercise" in meta else {})),
            reps=reps,
        )

    def analyze(self, log: Any) -> Any:
        self.analyze_calls.append(log.path)
        reps = log.reps
        timed = reps["ecc_duration_s"].dropna()
        summary = {"reps": len(reps), "tut_ecc_s": float(timed.sum()),
                   "tut_tension_s": float(reps["tut_tension_s"].sum()),
                   "mean_ecc_duration_s": float(timed.mean()) if len(timed) else None,
                   "peak_force_n": float(reps["peak_force_n"].max()) if len(reps) else None, "mode": "force+imu"}
        return SimpleNamespace(reps=reps, summary=summary)

    def update(self, home: Path, **kwargs: Any) -> Any:
        from bandlog.progress.index import update_index

        return update_index(home, read=self.read, analyze=self.analyze, **kwargs)


def write_weeks(home: Path, weeks: int = 3, legs: Sequence[str] = ("left", "right")) -> list[Path]:
    """Two sessions a week per leg; eccentrics lengthen and force grows week by week; left 10 % stronger."""
    paths = []
    for week in range(weeks):
        for day in (0, 3):
            for leg in legs:
                stamp = pd.Timestamp("2026-01-05T12:00:00Z") + pd.Timedelta(days=7 * week + day)
                ecc = [2.0 + 0.5 * week + 0.3 * i for i in range(4)] + [1.5]
                force = (60.0 + 5 * week) * (1.1 if leg == "left" else 1.0)
                name = f"{stamp:%Y-%m-%dT%H%M%S}_{leg}.csv"
                paths.append(write_fake_log(home / "recordings" / name, stamp.isoformat(), leg, ecc, peak_force_n=force))
    return paths


@dataclass
class CrashingBackend(FakeBackend):
    """A FakeBackend whose analysis of a log named *crash* kills its process, as the out-of-memory killer would."""

    def analyze(self, log: Any) -> Any:
        if "crash" in log.path.name:
            import os

            os._exit(1)
        return super().analyze(log)


@dataclass
class BuggyBackend(FakeBackend):
    """A FakeBackend with a bug: a log named *bug* raises IndexError, as a detector bug would."""

    def analyze(self, log: Any) -> Any:
        if "bug" in log.path.name:
            raise IndexError("index 8 is out of bounds for axis 0 with size 8")
        return super().analyze(log)
