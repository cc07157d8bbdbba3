"""Tindeq Progressor app exports: `time,weight` in seconds and kilograms, about 80-90 Hz.

Two layouts are read: the plain one (header `time,weight`, often no trailing newline) and the one
that opens with a per-rep summary block before the samples:

    ,Avg,Rep 1
    Avg,12.1,12.1
    Peak,20.5,20.5
    ,
    time,weight
    0.0123,0.5
    ...

The summary values are kept in `meta.extra` (as `tindeq_<row>_<column>_kg`); weights become newtons.
"""

from __future__ import annotations

import re

import numpy as np

from bandlog.errors import LogFormatError
from bandlog.io.logdata import LogData, build_samples, estimate_rate_hz
from bandlog.io.textfile import TextFile, read_rows, split_cells
from bandlog.meta import RecordingMeta
from bandlog.samples import FORCE_CHANNEL, StreamInfo
from bandlog.schema import N_PER_KGF

FORMAT = "tindeq"
HEADER = "time,weight"
SUMMARY_LINES_MAX = 12


def _squash(line: str) -> str:
    return line.replace(" ", "").replace('"', "").lower()


def _header_index(text: TextFile) -> int | None:
    first = text.first_content_line()
    if first is None:
        return None
    if _squash(text.head[first]) == HEADER:
        return first
    if not _squash(text.head[first]).startswith(",avg"):
        return None
    for index in range(first + 1, min(len(text.head), first + SUMMARY_LINES_MAX)):
        if _squash(text.head[index]) == HEADER:
            return index
    return None


def looks_like(text: TextFile) -> bool:
    return _header_index(text) is not None


def read(text: TextFile) -> LogData:
    where = str(text.path)
    header = _header_index(text)
    if header is None:
        raise LogFormatError(f"{where} is not a Tindeq export: expected a 'time,weight' header row")
    summary = _summary(text.head[:header])
    repairs: dict[str, int] = {}
    values, line_numbers = read_rows(text, header + 1, ("time", "weight"), where, repairs=repairs)
    with np.errstate(over="ignore"):  # 1e308 kg overflows to inf, which build_samples counts as missing
        force_n = values[:, 1] * N_PER_KGF
    samples = build_samples(values[:, 0], {FORCE_CHANNEL: force_n}, where, line_numbers, repairs=repairs)
    stream = StreamInfo(
        profile="",
        model="Tindeq Progressor",
        sample_rate_hz=estimate_rate_hz(samples["t_s"].to_numpy()),
        channels=(FORCE_CHANNEL,),
    )
    return LogData(text.path, FORMAT, RecordingMeta(stream=stream, extra=summary), samples, [], repairs)


def _summary(lines: list[str]) -> dict[str, str]:
    """The summary block above the samples as {'tindeq_avg_rep_1_kg': '12.1', ...}."""
    table = [split_cells(line) for line in lines if line.strip().strip(",")]
    if not table:
        return {}
    columns = table[0]
    extra: dict[str, str] = {}
    for row in table[1:]:
        label = row[0]
        for column, value in zip(columns[1:], row[1:]):
            if value.strip():
                key = re.sub(r"[^a-z0-9]+", "_", f"tindeq {label} {column} kg".lower()).strip("_")
                extra[key] = value.strip()
    return extra
