"""Tindeq Progressor app exports: `time,weight` in seconds and kilograms, about 80-90 Hz.

Three layouts are read. The plain one (header `time,weight`, often no trailing newline); the one
that opens with a per-rep summary block before the samples:

    ,Avg,Rep 1
    Avg,12.1,12.1
    Peak,20.5,20.5
    ,
    time,weight
    0.0123,0.5
    ...

and a test export, which opens with the test's fields (they vary by test type) and their values:

    date,tag,comment,unit,intervalTime (ms),IntervalThreshold,rfdInterval,rfd2080
    2024-03-01 10:12:33,left,,SI,200,2,100,true

    time,weight,,,,,,,,
    0.0123,0.5,,,,,,,,

The app pads every row to one width, so trailing empty cells are ignored. The `unit` field names
the weight unit (`SI` = kilograms); any other unit is refused, never guessed. Summary values are kept
in `meta.extra` as `tindeq_<row>_<column>_kg`, test fields as `tindeq_<field>`; weights become newtons.
"""

from __future__ import annotations

import re

import numpy as np

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import FORCE_CHANNEL, StreamInfo
from bandlog.io.logdata import LogData, build_samples, estimate_rate_hz
from bandlog.io.rows import read_rows, split_cells
from bandlog.io.schema import N_PER_KGF
from bandlog.io.textfile import TextFile

FORMAT = "tindeq"
HEADER = "time,weight"
SUMMARY_LINES_MAX = 12
N_PER_UNIT = {"SI": N_PER_KGF}
"""The test export's `unit` field -> newtons per exported weight unit (the app's SI weight is kg)."""
TEST_FIELDS = "date,tag,comment,unit,"
"""How every test export's first line starts, whatever the test type adds after it."""


def _squash(line: str) -> str:
    """A line without spaces, quotes, case or the trailing empty cells the app pads rows with."""
    return line.replace(" ", "").replace('"', "").lower().rstrip(",")


def _opens_test_fields(line: str) -> bool:
    return (_squash(line) + ",").startswith(TEST_FIELDS)


def _layout(text: TextFile) -> tuple[int, int | None] | None:
    """(index of the first line, index of the `time,weight` header or None if a test export has
    none), or None if this is no Tindeq export."""
    first = text.first_content_line()
    if first is None:
        return None
    opening = _squash(text.head[first])
    if opening == HEADER:
        return first, first
    test = _opens_test_fields(text.head[first])
    if not test and not (opening.startswith(",") and "avg" in opening):
        return None
    for index in range(first + 1, min(len(text.head), first + SUMMARY_LINES_MAX)):
        if _squash(text.head[index]) == HEADER:
            return first, index
    return (first, None) if test else None


def looks_like(text: TextFile) -> bool:
    return _layout(text) is not None


def read(text: TextFile) -> LogData:
    where = str(text.path)
    layout = _layout(text)
    if layout is None:
        raise LogFormatError(f"{where} is not a Tindeq export: expected a 'time,weight' header row")
    first, header = layout
    if header is None:
        raise LogFormatError(
            f"{where} holds a Tindeq test's fields (line {first + 1}) but no 'time,weight' samples within "
            f"{SUMMARY_LINES_MAX} lines of them, so there is no force curve to read"
        )
    extra: dict[str, str] = {}
    n_per_unit = N_PER_KGF
    summary_from = first
    if _opens_test_fields(text.head[first]):
        fields = _test_fields(text, first, header, where)
        unit = next((value for name, value in fields.items() if name.lower() == "unit"), "")
        n_per_unit = _unit_scale(unit, where, first + 2)
        extra.update({_key(f"tindeq {name}"): value for name, value in fields.items() if value})
        summary_from = first + 2
    extra.update(_summary(text.head[summary_from:header]))
    columns = _columns(text, header)
    repairs: dict[str, int] = {}
    values, line_numbers = read_rows(text, header + 1, columns, where, use=(0, 1), repairs=repairs)
    with np.errstate(over="ignore"):  # 1e308 kg overflows to inf, which build_samples counts as missing
        force_n = values[:, 1] * n_per_unit
    samples = build_samples(values[:, 0], {FORCE_CHANNEL: force_n}, where, line_numbers, repairs=repairs)
    stream = StreamInfo(
        profile="",
        model="Tindeq Progressor",
        sample_rate_hz=estimate_rate_hz(samples["t_s"].to_numpy()),
        channels=(FORCE_CHANNEL,),
    )
    return LogData(text.path, FORMAT, RecordingMeta(stream=stream, extra=extra), samples, [], repairs)


def _test_fields(text: TextFile, first: int, header: int, where: str) -> dict[str, str]:
    """The test export's {field name: value} from its first two lines (trailing padding ignored)."""
    names = _trimmed(split_cells(text.head[first]))
    values_line = first + 1
    if values_line >= header or not text.head[values_line].strip():
        raise LogFormatError(f"{where}: the test fields on line {first + 1} have no line of values under them")
    values = _trimmed(split_cells(text.head[values_line]))
    if len(values) > len(names):
        raise LogFormatError(
            f"{where}: line {values_line + 1} has {len(values)} values for the {len(names)} test fields on line "
            f"{first + 1}, so which value is the unit cannot be told (a comment with a comma must be quoted)"
        )
    return {name.strip(): value.strip() for name, value in zip(names, values)}


def _trimmed(cells: list[str]) -> list[str]:
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _unit_scale(unit: str, where: str, line: int) -> float:
    """Newtons per exported weight unit; one sentence for a unit the app's exports are not known to use."""
    try:
        return N_PER_UNIT[unit.upper()]
    except KeyError:
        said = f"is {unit!r}" if unit else "is empty"
        raise LogFormatError(
            f"{where}: the export's unit (line {line}, field 'unit') {said}, which bandlog cannot convert; "
            "expected 'SI' (weights in kilograms)"
        ) from None


def _columns(text: TextFile, header: int) -> list[str]:
    """The sample columns: the header's cells, or just time and weight when the rows are not padded
    like the header (the app pads rows and header alike, but an edited file may not)."""
    cells = split_cells(text.head[header])
    first_row = next((line for line in text.head[header + 1 :] if line.strip()), None)
    if first_row is not None and len(split_cells(first_row)) == 2:
        return cells[:2]
    return cells


def _key(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


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
                extra[_key(f"tindeq {label} {column} kg")] = value.strip()
    return extra
