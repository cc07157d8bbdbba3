"""The bandlog log format, defined once: columns, units, header keys, and the text codecs for them.

A log is one CSV per recording that `pandas.read_csv(path, comment="#")` reads in one call:

    # bandlog_schema: 1
    # <key>: <value>            metadata (RecordingMeta + StreamInfo), one per line
    t_s,t_host_s,force_n,...     the column header
    0.0125,1031.2270931,41.25,...
    # gap: start_s=12.5 end_s=14.25 reason=link lost
    ...

A recording with a second IMU on the thigh has its 6 THIGH_CHANNELS columns after those
(`...,gyro_z_dps,thigh_acc_x_ms2,...,thigh_gyro_z_dps`); one without has exactly the columns it had
before they existed, so its bytes did not change. The column header row alone tells a reader which
of the two it has: it is one of the two `log_columns` lists, or the log is refused.

This is still schema 1: the thigh columns are optional and added at the end, and no column or header
key changed meaning, so every log an older bandlog wrote is read exactly as before. An older bandlog
refuses a thigh log in one sentence naming the column header it expected; a bump would only have
worded that "upgrade bandlog", at the cost of a second version for what is one format.

Every writer and reader imports this module, so the format cannot drift between them. Only the
standard library is imported here: the CLI and the sink stay light.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import fields

from bandlog.core.errors import ConfigError, LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import SetRating
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SAMPLE_CHANNELS, THIGH_CHANNELS, StreamInfo

SCHEMA_VERSION = 1
"""Bump when a column or header key changes meaning; readers keep reading every older version. (The
optional thigh columns changed no meaning: see the module docstring.)"""

READABLE_SCHEMAS = (1,)

SCHEMA_KEY = "bandlog_schema"
TIME_COLUMN = "t_s"
HOST_TIME_COLUMN = "t_host_s"
SET_COLUMN = "set"
LOG_COLUMNS: tuple[str, ...] = (TIME_COLUMN, HOST_TIME_COLUMN, *SAMPLE_CHANNELS)
"""The sample columns of a schema-1 log, in file order."""
THIGH_LOG_COLUMNS: tuple[str, ...] = (*LOG_COLUMNS, *THIGH_CHANNELS)
"""The sample columns of a schema-1 log with a thigh IMU: LOG_COLUMNS, then the thigh's."""


def log_columns(thigh: bool) -> tuple[str, ...]:
    """The column header of a log with or without a thigh IMU."""
    return THIGH_LOG_COLUMNS if thigh else LOG_COLUMNS


FRAME_CHANNELS = (FORCE_CHANNEL, *ACC_CHANNELS, *GYRO_CHANNELS)
"""The channels of every log's samples frame (LogData.samples); one with a thigh IMU also has THIGH_CHANNELS."""

# Unit conversions into bandlog units (N, m/s², °/s, s), used by the foreign-format readers.
STANDARD_GRAVITY_MS2 = 9.80665
N_PER_KGF = STANDARD_GRAVITY_MS2
N_PER_LBF = 4.4482216152605
DPS_PER_RADS = 180.0 / math.pi

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", '"', "'")
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HEADER_LINE_RE = re.compile(r"^#\s*([A-Za-z0-9_.\-]+): ?(.*)$")
_RATING_RE = re.compile(r"^#\s*rating:\s*set=(\d+)\s+rpe=(\d+|-)\s+pain=(\d+|-)\s+t_s=(\S+)\s*$")
_GAP_RE = re.compile(r"^#\s*gap:\s*start_s=(\S+)\s+end_s=(\S+)(?:\s+reason=(.*))?$")


def format_float(value: float | None) -> str:
    """Shortest text that reads back to the identical float (repr); empty for None/NaN."""
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return ""
    return repr(value)


def encode_text(value: str) -> str:
    """Make free text safe for one header line and for spreadsheets; `decode_text` reverses it.

    Backslash-escapes newlines, CR and tab, so notes cannot break the header; and every
    comma-separated piece a spreadsheet would show as its own cell gets a leading ' when it starts
    with a formula character (= + - @ tab CR), a quote or a ' (the last keeps the scheme reversible).
    """
    pieces = []
    for piece in value.split(","):
        body = piece.lstrip(" ")
        if body.startswith(_FORMULA_START):
            piece = piece[: len(piece) - len(body)] + "'" + body
        pieces.append("".join(_ESCAPES.get(ch, ch) for ch in piece))
    return ",".join(pieces)


def decode_text(value: str) -> str:
    """The inverse of `encode_text`."""
    pieces = []
    for piece in value.split(","):
        body = piece.lstrip(" ")
        if body.startswith("'"):
            piece = piece[: len(piece) - len(body)] + body[1:]
        out = []
        chars = iter(piece)
        for ch in chars:
            if ch == "\\":
                nxt = next(chars, "")
                out.append(_UNESCAPES.get(nxt, "\\" + nxt))
            else:
                out.append(ch)
        pieces.append("".join(out))
    return ",".join(pieces)


def _safe_key(key: str) -> str:
    return key if _KEY_RE.match(key) else re.sub(r"[^A-Za-z0-9_.\-]", "_", key) or "_"


def header_lines(meta: RecordingMeta, bandlog_version: str) -> list[str]:
    """The `# key: value` lines that open a log (without newlines), schema version first."""
    items: list[tuple[str, str]] = [(SCHEMA_KEY, str(SCHEMA_VERSION)), ("bandlog_version", bandlog_version)]
    stream = meta.stream
    if stream is not None:
        items += [
            ("device_model", encode_text(stream.model)),
            ("device_name", encode_text(stream.name)),
            ("device_address", encode_text(stream.address)),
            ("device_firmware", encode_text(stream.firmware)),
            ("device_profile", encode_text(stream.profile)),
            ("sample_rate_hz", format_float(stream.sample_rate_hz)),
            ("channels", " ".join(encode_text(c) for c in stream.channels)),
            ("battery_percent", format_float(stream.battery_percent)),
            ("battery_mv", format_float(stream.battery_mv)),
            ("hardware_tare", "true" if stream.hardware_tare else "false"),
        ]
        items += [(f"stream.{_safe_key(k)}", encode_text(v)) for k, v in stream.extra.items()]
    items += [
        ("start_utc", encode_text(meta.start_utc)),
        ("leg", encode_text(meta.leg or "")),
        ("band", encode_text(meta.band or "")),
        ("exercise", encode_text(meta.exercise)),
        ("target_ecc_s", format_float(meta.target_ecc_s)),
        ("tare_offset_n", format_float(meta.tare_offset_n)),
        ("notes", encode_text(meta.notes)),
    ]
    items += [(f"extra.{_safe_key(k)}", encode_text(v)) for k, v in meta.extra.items()]
    return [f"# {key}: {value}" if value else f"# {key}:" for key, value in items]


def gap_line(start_s: float, end_s: float, reason: str) -> str:
    return f"# gap: start_s={format_float(start_s)} end_s={format_float(end_s)} reason={encode_text(reason)}"


def link_line(dropped: int, losses: str, damaged: int, skipped: int, reconnects: int, summary: str) -> str:
    """The `# link:` line closing a recorded log: what the link lost on the way, counted as the user
    was shown it (the log alone then says whether it is whole)."""
    return (f"# link: dropped={dropped} losses={losses} damaged={damaged} skipped={skipped} "
            f"reconnects={reconnects} summary={encode_text(summary)}")


def rating_line(rating: SetRating) -> str:
    """The `# rating:` line a set rating becomes in the log (RPE and pain 0-10, `-` when not given)."""
    def score(value: int | None) -> str:
        return "-" if value is None else str(value)

    return f"# rating: set={rating.set_number} rpe={score(rating.rpe)} pain={score(rating.pain)} t_s={format_float(rating.t_s)}"


def parse_rating_line(line: str, where: str) -> SetRating | None:
    """The SetRating of a `# rating:` line; None for any other line; a damaged one is a LogFormatError."""
    match = _RATING_RE.match(line.strip())
    if match is None:
        return None
    try:
        return SetRating(
            set_number=int(match.group(1)), rpe=None if match.group(2) == "-" else int(match.group(2)),
            pain=None if match.group(3) == "-" else int(match.group(3)), t_s=float(match.group(4)),
        )
    except (ValueError, ConfigError) as error:
        raise LogFormatError(f"{where}: the set rating line {line.strip()!r} is damaged ({error})") from None


def parse_gap_line(line: str) -> tuple[float, float, str] | None:
    """(start_s, end_s, reason) for a `# gap:` comment line, None for any other line."""
    match = _GAP_RE.match(line.strip())
    if match is None:
        return None
    try:
        return float(match.group(1)), float(match.group(2)), decode_text(match.group(3) or "")
    except ValueError:
        return None


def parse_header_line(line: str) -> tuple[str, str] | None:
    """(key, raw value) of a `# key: value` line, None for other comments."""
    match = _HEADER_LINE_RE.match(line)
    return None if match is None else (match.group(1), match.group(2))


def _float_or_none(value: str, key: str, where: str) -> float | None:
    value = value.strip()
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise LogFormatError(f"{where}: header '{key}' should be a number, not {value!r}") from None


_STREAM_KEYS = {"device_model", "device_name", "device_address", "device_firmware", "device_profile",
                "sample_rate_hz", "channels", "battery_percent", "battery_mv", "hardware_tare"}
_IGNORED_KEYS = {SCHEMA_KEY, "bandlog_version"}
_META_KEYS = {f.name for f in fields(RecordingMeta)} - {"stream", "extra"}


def meta_from_header(items: Iterable[tuple[str, str]], where: str) -> RecordingMeta:
    """Rebuild RecordingMeta (+ StreamInfo) from header (key, raw value) pairs; inverse of header_lines.

    Unknown keys land in `meta.extra` so nothing a newer writer adds is lost.
    """
    values: dict[str, str] = {}
    stream_extra: dict[str, str] = {}
    extra: dict[str, str] = {}
    for key, raw in items:
        if key.startswith("stream."):
            stream_extra[key[len("stream."):]] = decode_text(raw)
        elif key.startswith("extra."):
            extra[key[len("extra."):]] = decode_text(raw)
        elif key in _IGNORED_KEYS:
            continue
        elif key in _STREAM_KEYS or key in _META_KEYS:
            values[key] = raw
        else:
            extra[key] = decode_text(raw)
    stream = None
    if any(k in values for k in _STREAM_KEYS) or stream_extra:
        stream = StreamInfo(
            profile=decode_text(values.get("device_profile", "")),
            model=decode_text(values.get("device_model", "")),
            name=decode_text(values.get("device_name", "")),
            address=decode_text(values.get("device_address", "")),
            firmware=decode_text(values.get("device_firmware", "")),
            sample_rate_hz=_float_or_none(values.get("sample_rate_hz", ""), "sample_rate_hz", where),
            channels=tuple(decode_text(c) for c in values.get("channels", "").split()),
            battery_percent=_float_or_none(values.get("battery_percent", ""), "battery_percent", where),
            battery_mv=_float_or_none(values.get("battery_mv", ""), "battery_mv", where),
            hardware_tare=values.get("hardware_tare", "").strip().lower() == "true",
            extra=stream_extra,
        )
    defaults = RecordingMeta()
    target = _float_or_none(values.get("target_ecc_s", ""), "target_ecc_s", where)
    return RecordingMeta(
        start_utc=decode_text(values.get("start_utc", "")),
        leg=decode_text(values.get("leg", "")) or None,
        band=decode_text(values.get("band", "")) or None,
        exercise=decode_text(values["exercise"]) if "exercise" in values else defaults.exercise,
        target_ecc_s=defaults.target_ecc_s if target is None else target,
        notes=decode_text(values.get("notes", "")),
        tare_offset_n=_float_or_none(values.get("tare_offset_n", ""), "tare_offset_n", where),
        stream=stream,
        extra=extra,
    )

