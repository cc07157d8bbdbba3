"""The raw capture format: written and read back exactly (bytes, host times to the bit), bad files in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.io.raw_capture import RawCaptureWriter, RawEvent, RawHeader, read_raw_capture

HEADER = RawHeader(
    profile="gdx-for", address="C0:FF:EE:00:00:01", name="GDX-FOR 071000U9", target="gdx-for", sample_rate_hz=50.0,
    tare=False, duration_s=12.5, meta=RecordingMeta(leg="left", band="red", notes="a\nnote", extra={"k": "v"}),
)
EVENTS = [
    RawEvent("connect", 0.1, mtu=247),
    RawEvent("connect", 0.15, mtu=23),
    RawEvent("subscribe", 0.2, "uuid-a"),
    RawEvent("write", 0.30000000000000004, "uuid-b", b"\x00\xff\x10", response=True),
    RawEvent("write", 0.35, "uuid-b", b"\x01", clock_s=0.3499999),
    RawEvent("clock", 0.36),
    RawEvent("write", 0.37, "uuid-b", b"\x02", connection=0),
    RawEvent("read", 0.4, "uuid-c", b"d"),
    RawEvent("notify", 1 / 3, "uuid-a", bytes(range(256)), first=True),
    RawEvent("notify", 2 / 3, "uuid-a", b"", first=False),
    RawEvent("fail", 5.0, "", op="notify", error="ConnectionLostError", message="link to X lost"),
    RawEvent("started", 0.5, start_utc="2026-12-04T23:00:00.125+00:00"),
]


def write(path: Path, events: list[RawEvent] = EVENTS) -> None:
    writer = RawCaptureWriter(path)
    writer.start(HEADER)
    for event in events:
        writer.event(event)
    writer.close()


def test_every_event_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    write(path)
    capture = read_raw_capture(path)
    assert capture.header == HEADER
    assert capture.events == EVENTS  # floats bit for bit, bytes as written
    assert not capture.cut_last_line


def test_a_half_written_last_line_is_dropped_and_said(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    write(path)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"ev":"notify","t":9.0,"ch')
    capture = read_raw_capture(path)
    assert capture.events == EVENTS and capture.cut_last_line


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "is empty"),
        ("time,force_n\n", "line 1 is not a JSON object"),
        ('{"bandlog_schema": 1}\n', "not a bandlog raw capture"),
        ('{"bandlog_raw": 2}\n', "version 2"),
        ('{"bandlog_raw": 1, "profile": "x"}\n', "not a valid raw capture header"),
    ],
)
def test_what_is_not_a_capture_is_refused_in_one_sentence(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "raw.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LogFormatError, match=words):
        read_raw_capture(path)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"ev": "beep", "t": 1}', "line 3: unknown event 'beep'"),
        ('{"ev": "notify", "t": 1, "char": "u", "hex": "zz"}', "line 3: a bad notify event"),
        ('{"ev": "write", "char": "u", "hex": "00"}', "line 3: a bad write event"),
        ('{"ev": "fail", "t": 1, "op": "dance", "error": "ProtocolError"}', "line 3: a fail event at unknown operation"),
    ],
)
def test_a_bad_event_names_its_line(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "raw.jsonl"
    write(path, EVENTS[:1])
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
    with pytest.raises(LogFormatError, match=words):
        read_raw_capture(path)


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(LogWriteError, match="cannot write the raw capture"):
        RawCaptureWriter(path).start(HEADER)
    assert path.read_text(encoding="utf-8") == "keep me"
