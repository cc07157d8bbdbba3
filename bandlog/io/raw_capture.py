"""Raw capture: every byte a live session exchanged with its sensor, so a recording can be decoded again.

A user whose sensor misbehaves sends one file; a decoder fix is proven on it (`bandlog replay --raw`).
The format is JSON lines, open and readable by any tool (README, "Raw capture"):

    {"bandlog_raw": 1, "bandlog_version": "0.1.0", "profile": "gdx-for", "address": "...", "name": "...", ...}
    {"ev": "connect", "t": 0.41, "mtu": 247}
    {"ev": "write", "t": 0.42, "char": "<uuid>", "hex": "5801...", "response": false}
    {"ev": "read", "t": 0.43, "char": "<uuid>", "hex": "64"}
    {"ev": "subscribe", "t": 0.44, "char": "<uuid>"}
    {"ev": "notify", "t": 0.47, "char": "<uuid>", "hex": "0a1b...", "first": true}
    {"ev": "fail", "t": 9.1, "op": "notify", "char": "", "error": "ConnectionLostError", "message": "..."}
    {"ev": "started", "t": 0.5, "start_utc": "2026-12-04T23:00:00.125+00:00"}
    {"ev": "clock", "t": 0.4712}

Line 1 is the header (device profile, address, name, and what the session was asked: rate, tare,
duration, reconnect, the recording's metadata, and `force_calibration`: the correction from
`bandlog check` the session applied to the force, or null). Then one event per line in the order the session's
code met them: `t` is host seconds on the session clock (for a notification, its arrival time, the
Notification.t_host_s the decoder saw), written with full float precision; `first` marks a
notification that began a batch the session decoded together (the rest were already queued). A
`fail` is an operation that raised instead (a write refused, a stall, a lost link). A `connect`
starts each connection. A profile that reads the host clock itself (PASCO's poller dates its
requests) has its readings kept too: a `clock` event for each reading the session's own task made,
and `clock` on a write for the last reading the writing task made before it. An event that belongs
to an earlier connection than the latest (a poller still writing on a link already lost) carries
`conn`, its connection's number counting from 0. Nothing here decodes: this module only writes and reads the file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from bandlog.core.calibration import ForceCalibration
from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.core.version import __version__
from bandlog.io.csv_log import open_new, write_error_reason

logger = logging.getLogger(__name__)

RAW_FORMAT_KEY = "bandlog_raw"
RAW_FORMAT_VERSION = 1
EVENT_KINDS = ("connect", "write", "read", "subscribe", "notify", "fail", "started", "clock")
OPERATIONS = ("write", "read", "subscribe", "notify")
"""What a `fail` event failed at (`notify`: waiting for the next notification)."""
META_FIELDS = ("leg", "band", "exercise", "target_ecc_s", "notes", "extra")
"""The RecordingMeta fields the header keeps, so a replay's log carries the same metadata."""
FLUSH_EVERY_S = 0.5
"""Events reach the disk at least this often: a crash loses at most this much of the capture."""


@dataclass(frozen=True)
class RawHeader:
    """Who was recorded and what the session was asked to do (line 1)."""

    profile: str
    address: str
    name: str
    target: str
    sample_rate_hz: float | None = None
    tare: bool = True
    reconnect: bool = True
    duration_s: float | None = None
    meta: RecordingMeta = RecordingMeta()
    bandlog_version: str = __version__
    calibration: ForceCalibration | None = None
    """The force correction the live session applied (`bandlog check`): a replay applies the same."""


@dataclass(frozen=True)
class RawEvent:
    """One line after the header (fields a kind does not use keep their defaults)."""

    kind: str
    t_s: float
    char_uuid: str = ""
    payload: bytes = b""
    response: bool = False
    first: bool = False
    op: str = ""
    error: str = ""
    message: str = ""
    mtu: int = 0
    start_utc: str = ""
    clock_s: float | None = None
    """On a write: the writing task's last host clock reading before it (None: it read none)."""
    connection: int | None = None
    """The connection (from 0) an event belongs to when it is not the latest one."""


@dataclass(frozen=True)
class RawCapture:
    """A raw capture read back: its header, its events in order, and a half-written last line dropped."""

    header: RawHeader
    events: list[RawEvent] = field(default_factory=list)
    cut_last_line: bool = False


class RawCaptureWriter:
    """Appends one session's header and events to a new file (never overwrites), flushed every FLUSH_EVERY_S."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.events_written = 0
        self.connections = 0
        """Connections recorded so far (each began with a `connect` event)."""
        self._clock = clock
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._last_flush_s = clock()

    def start(self, header: RawHeader) -> None:
        """Create the file and write the header line; once per capture."""
        if self._file is not None:
            raise LogWriteError(f"the raw capture {self.path} is already started; one file holds one session")
        try:
            self._file = open_new(self.path)  # held open for the whole session, closed by close()
        except OSError as error:
            raise LogWriteError(f"cannot write the raw capture {self.path}: {write_error_reason(error)}") from error
        self._pending.append(_dumps(_header_dict(header)))
        self._flush()

    def event(self, event: RawEvent, connection: int | None = None) -> None:
        """Queue one event line of `connection` (default: the latest; flushed every FLUSH_EVERY_S and on close)."""
        if self._file is None:
            raise LogWriteError(f"the raw capture {self.path} has no header yet: start() comes first")
        if event.kind == "connect":
            self.connections += 1
        elif connection is not None and connection != self.connections - 1:
            event = replace(event, connection=connection)
        self._pending.append(_dumps(_event_dict(event)))
        self.events_written += 1
        if self._clock() - self._last_flush_s >= FLUSH_EVERY_S:
            self._flush()

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._flush()
        finally:
            self._file.close()
            self._file = None
        logger.info("raw capture: %d events written to %s", self.events_written, self.path)

    def _flush(self) -> None:
        assert self._file is not None
        try:
            if self._pending:
                self._file.write("\n".join(self._pending) + "\n")
                self._pending.clear()
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise LogWriteError(f"cannot write the raw capture {self.path}: {write_error_reason(error)}") from error
        self._last_flush_s = self._clock()


def read_raw_capture(path: str | os.PathLike[str]) -> RawCapture:
    """The capture in `path`; LogFormatError (naming the line) for anything that is not one.

    A last line without its newline was cut by a crash: it is dropped, and `cut_last_line` says so.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LogFormatError(f"{path.name} is not a bandlog raw capture (not UTF-8 text)") from error
    except OSError as error:
        raise LogFormatError(f"cannot read the raw capture {path}: {error.strerror or error}") from error
    lines = text.split("\n")
    cut = lines[-1] != ""
    if cut:
        logger.warning("%s: dropped a half-written last line (the recording was cut off)", path.name)
    lines = lines[:-1]
    if not lines:
        raise LogFormatError(f"{path.name} is empty: not a bandlog raw capture")
    header = _parse_header(_loads(lines[0], path, 1), path)
    events = [_parse_event(_loads(line, path, number), path, number) for number, line in enumerate(lines[1:], start=2)]
    return RawCapture(header, events, cut_last_line=cut)


def _dumps(value: Mapping[str, Any]) -> str:
    # json writes floats with repr(): they read back bit for bit
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _header_dict(header: RawHeader) -> dict[str, Any]:
    meta = {name: getattr(header.meta, name) for name in META_FIELDS}
    return {
        RAW_FORMAT_KEY: RAW_FORMAT_VERSION, "bandlog_version": header.bandlog_version, "profile": header.profile,
        "address": header.address, "name": header.name, "target": header.target, "sample_rate_hz": header.sample_rate_hz,
        "tare": header.tare, "reconnect": header.reconnect, "duration_s": header.duration_s, "meta": meta,
        "force_calibration": None if header.calibration is None else {
            "scale": header.calibration.scale, "source": header.calibration.source,
        },
    }


def _event_dict(event: RawEvent) -> dict[str, Any]:
    line: dict[str, Any] = {"ev": event.kind, "t": event.t_s}
    if event.kind in ("write", "read", "subscribe", "notify", "fail"):
        line["char"] = event.char_uuid
    if event.kind in ("write", "read", "notify"):
        line["hex"] = event.payload.hex()
    if event.kind == "write":
        line["response"] = event.response
        if event.clock_s is not None:
            line["clock"] = event.clock_s
    if event.kind == "notify":
        line["first"] = event.first
    if event.kind == "fail":
        line.update(op=event.op, error=event.error, message=event.message)
    if event.kind == "connect":
        line["mtu"] = event.mtu
    if event.kind == "started":
        line["start_utc"] = event.start_utc
    if event.connection is not None:
        line["conn"] = event.connection
    return line


def _loads(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as error:
        raise LogFormatError(f"{path.name} line {number} is not a JSON object: {error}") from error
    if not isinstance(value, dict):
        raise LogFormatError(f"{path.name} line {number} is not a JSON object")
    return value


def _parse_header(line: dict[str, Any], path: Path) -> RawHeader:
    version = line.get(RAW_FORMAT_KEY)
    if version is None:
        raise LogFormatError(f"{path.name} is not a bandlog raw capture (line 1 has no {RAW_FORMAT_KEY!r} key)")
    if version != RAW_FORMAT_VERSION:
        raise LogFormatError(f"{path.name} is raw capture version {version}; this bandlog reads version {RAW_FORMAT_VERSION}")
    try:
        meta = RecordingMeta(**{k: v for k, v in dict(line.get("meta") or {}).items() if k in META_FIELDS})
        found = line.get("force_calibration")
        calibration = None if found is None else ForceCalibration(scale=float(found["scale"]), source=str(found["source"]))
        return RawHeader(
            profile=str(line["profile"]), address=str(line["address"]), name=str(line["name"]), target=str(line["target"]),
            sample_rate_hz=_opt_float(line.get("sample_rate_hz")), tare=bool(line.get("tare", True)),
            reconnect=bool(line.get("reconnect", True)), duration_s=_opt_float(line.get("duration_s")), meta=meta,
            bandlog_version=str(line.get("bandlog_version", "")), calibration=calibration,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LogFormatError(f"{path.name} line 1 is not a valid raw capture header ({_what_is_wrong(error)})") from error


def _parse_event(line: dict[str, Any], path: Path, number: int) -> RawEvent:
    kind = line.get("ev")
    if kind not in EVENT_KINDS:
        raise LogFormatError(f"{path.name} line {number}: unknown event {kind!r} (known: {', '.join(EVENT_KINDS)})")
    try:
        event = RawEvent(
            kind=kind, t_s=float(line["t"]), char_uuid=str(line.get("char", "")), payload=bytes.fromhex(line.get("hex", "")),
            response=bool(line.get("response", False)), first=bool(line.get("first", False)), op=str(line.get("op", "")),
            error=str(line.get("error", "")), message=str(line.get("message", "")), mtu=int(line.get("mtu", 0)),
            start_utc=str(line.get("start_utc", "")), clock_s=_opt_float(line.get("clock")),
            connection=None if line.get("conn") is None else int(line["conn"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LogFormatError(f"{path.name} line {number}: a bad {kind} event ({_what_is_wrong(error)})") from error
    if kind == "fail" and event.op not in OPERATIONS:
        raise LogFormatError(f"{path.name} line {number}: a fail event at unknown operation {event.op!r}")
    return event


def _what_is_wrong(error: KeyError | TypeError | ValueError) -> str:
    """A field's problem in words: "no 'profile' field" rather than KeyError('profile')."""
    return f"no {error.args[0]!r} field" if isinstance(error, KeyError) else str(error)


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]  # ValueError/TypeError are caught by the caller

