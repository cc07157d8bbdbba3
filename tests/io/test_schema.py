"""The header codec: text is neutralised for spreadsheets, survives newlines, and reads back exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import StreamInfo
from bandlog.io.schema import (
    SCHEMA_VERSION,
    decode_text,
    encode_text,
    gap_line,
    header_lines,
    meta_from_header,
    parse_gap_line,
    parse_header_line,
)

FORMULA_STARTS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '"quoted', "'already"]


def test_formula_starts_are_neutralised_with_a_quote() -> None:
    for value in FORMULA_STARTS:
        encoded = encode_text(value)
        assert encoded.startswith("'"), (value, encoded)
        assert decode_text(encoded) == value


def test_every_spreadsheet_cell_of_a_value_is_neutralised() -> None:
    # A comma makes a spreadsheet start a new cell, so each piece must be safe on its own.
    encoded = encode_text("fine, =HYPERLINK(\"http://x\"),  -1,ok")
    cells = encoded.split(",")
    assert [c.lstrip(" ")[:1] for c in cells] == ["f", "'", "'", "o"]
    assert decode_text(encoded) == "fine, =HYPERLINK(\"http://x\"),  -1,ok"


def test_newlines_cannot_break_the_header() -> None:
    meta = RecordingMeta(notes="line one\nt_s,force_n\n1,2\r\n# bandlog_schema: 9", band="red\nblue")
    lines = header_lines(meta, "0.1.0")
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert all(line.startswith("# ") for line in lines)
    assert meta_from_header([parse_header_line(line) for line in lines], "x") == meta


def test_plain_text_is_left_readable() -> None:
    assert encode_text("red band, left leg") == "red band, left leg"
    assert encode_text("GDX-FOR 071000U9") == "GDX-FOR 071000U9"


@given(st.text(max_size=60))
def test_text_codec_round_trips(value: str) -> None:
    encoded = encode_text(value)
    assert "\n" not in encoded and "\r" not in encoded and "\t" not in encoded
    for piece in encoded.split(","):
        assert not piece.lstrip(" ").startswith(("=", "+", "-", "@", '"'))
    assert decode_text(encoded) == value


texts = st.text(max_size=20)
optional_floats = st.none() | st.floats(allow_nan=False, allow_infinity=False)
streams = st.builds(
    StreamInfo,
    profile=texts, model=texts, name=texts, address=texts, firmware=texts,
    sample_rate_hz=optional_floats,
    channels=st.lists(st.sampled_from(["force_n", "acc_x_ms2", "gyro_z_dps"]), max_size=3).map(tuple),
    battery_percent=optional_floats, battery_mv=optional_floats, hardware_tare=st.booleans(),
    extra=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), texts, max_size=3),
)
metas = st.builds(
    RecordingMeta,
    start_utc=texts,
    leg=st.sampled_from([None, "left", "right"]),
    band=st.none() | texts.filter(bool),
    exercise=texts.filter(bool),
    target_ecc_s=st.floats(min_value=0.1, max_value=20),
    notes=texts,
    tare_offset_n=optional_floats,
    stream=st.none() | streams,
    extra=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), texts, max_size=3),
)


@settings(max_examples=60)
@given(metas)
def test_metadata_round_trips_through_header_lines(meta: RecordingMeta) -> None:
    lines = header_lines(meta, "0.1.0")
    assert lines[0] == f"# bandlog_schema: {SCHEMA_VERSION}"
    items = [parse_header_line(line) for line in lines]
    assert None not in items
    assert meta_from_header(items, "x") == meta


def test_gap_line_round_trips() -> None:
    line = gap_line(12.345678901234, 14.5, "link lost, =bad")
    assert line.startswith("# gap: ")
    assert parse_gap_line(line) == (12.345678901234, 14.5, "link lost, =bad")
    assert parse_gap_line("# notes: hello") is None
