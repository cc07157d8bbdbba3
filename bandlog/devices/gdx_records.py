"""Reply payload records of the Go Direct protocol: sensor masks, status, device info, sensor info.

Each record is the payload from reply byte 6 on (protocols.md 2.5/2.6), decoded strictly so that it
re-encodes to the same bytes. Text fields are NUL-terminated UTF-8: the text ends at the first NUL
and whatever follows it is ignored, as Vernier's parsers do (protocols.md 10: a real unit may leave
stale bytes there); a record keeps those bytes in `text_tails` only to re-encode exactly, and the
profile counts the records that had any. The sensor-info record is what lets the profile find its
channels by description and units instead of assuming a numbering.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Self

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.devices.gdx_codec import check_uint


def _exact(data: bytes, size: int, what: str) -> bytes:
    data = bytes(data)
    if len(data) != size:
        raise DecodeError(f"{what} payload must be {size} bytes, got {len(data)}", data)
    return data


TextTails = tuple[tuple[str, bytes], ...]
"""(field name, bytes after the field's NUL up to its last non-NUL byte), for fields that had any."""


def _texts(fields: dict[str, bytes], data: bytes) -> tuple[dict[str, str], TextTails]:
    """NUL-terminated UTF-8 fields by name, and the bytes found after their NULs (ignored, kept aside)."""
    texts: dict[str, str] = {}
    tails: list[tuple[str, bytes]] = []
    for name, raw in fields.items():
        text, _, after = raw.partition(b"\x00")
        if tail := after.rstrip(b"\x00"):
            tails.append((name, tail))
        try:
            texts[name] = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"{name.replace('_', ' ')} is not UTF-8", data) from None
    return texts, tuple(tails)


def _pack_text(value: str, size: int, name: str, tails: TextTails = ()) -> bytes:
    """The field's bytes: the text, then (when the record was read with one) its NUL and tail, NUL-padded."""
    raw = value.encode("utf-8")
    if b"\x00" in raw:
        raise ConfigError(f"{name} must be UTF-8 text without NUL, got {value!r}")
    tail = dict(tails).get(name, b"")
    if tail:
        raw += b"\x00" + tail
    if len(raw) > size:
        raise ConfigError(f"{name} (with the bytes after its NUL) must fit {size} bytes, got {value!r}")
    return raw.ljust(size, b"\x00")


def _check_tails(tails: TextTails, sizes: dict[str, int]) -> None:
    for name, tail in tails:
        if name not in sizes or not tail or tail.endswith(b"\x00"):
            raise ConfigError(f"text_tails holds {name!r}: a text field's non-empty bytes after its NUL")


def _version(major: int, minor: int, build: int) -> str:
    return f"{major}.{minor}.{build}"


@dataclass(frozen=True)
class SensorMask:
    """Reply payload of GET_SENSOR_AVAILABLE_MASK / GET_DEFAULT_SENSORS_MASK: bit n = sensor n."""

    mask: int

    def __post_init__(self) -> None:
        check_uint("mask", self.mask, 32)

    @property
    def sensor_numbers(self) -> tuple[int, ...]:
        return tuple(n for n in range(32) if self.mask >> n & 1)

    def __bytes__(self) -> bytes:
        return struct.pack("<I", self.mask)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls(struct.unpack("<I", _exact(data, 4, "sensor mask"))[0])


_STATUS = struct.Struct("<BBBBHBBHBB")


@dataclass(frozen=True)
class DeviceStatus:
    """GET_STATUS reply payload (12 bytes)."""

    status: int = 0
    spare: int = 0
    main_fw_major: int = 0
    main_fw_minor: int = 0
    main_fw_build: int = 0
    ble_fw_major: int = 0
    ble_fw_minor: int = 0
    ble_fw_build: int = 0
    battery_percent: int = 0
    charger_state: int = 0
    """0 idle, 1 charging, 2 complete, 3 error."""

    def __post_init__(self) -> None:
        for name, bits in zip(
            ("status", "spare", "main_fw_major", "main_fw_minor", "main_fw_build", "ble_fw_major",
             "ble_fw_minor", "ble_fw_build", "battery_percent", "charger_state"),
            (8, 8, 8, 8, 16, 8, 8, 16, 8, 8),
        ):
            check_uint(name, getattr(self, name), bits)

    @property
    def main_firmware(self) -> str:
        return _version(self.main_fw_major, self.main_fw_minor, self.main_fw_build)

    @property
    def ble_firmware(self) -> str:
        return _version(self.ble_fw_major, self.ble_fw_minor, self.ble_fw_build)

    def __bytes__(self) -> bytes:
        return _STATUS.pack(
            self.status, self.spare, self.main_fw_major, self.main_fw_minor, self.main_fw_build,
            self.ble_fw_major, self.ble_fw_minor, self.ble_fw_build, self.battery_percent,
            self.charger_state,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls(*_STATUS.unpack(_exact(data, _STATUS.size, "GET_STATUS")))


_INFO = struct.Struct("<16s16s32sHHBBBBHBBH6sI64s")
_INFO_TEXT = {"order_code": 16, "serial": 16, "name": 32, "description": 64}


@dataclass(frozen=True)
class DeviceInfo:
    """GET_DEVICE_INFO reply payload (152 bytes). ble_address is stored least-significant byte first."""

    order_code: str = ""
    serial: str = ""
    name: str = ""
    manufacturer_id: int = 0
    mfg_year: int = 0
    mfg_month: int = 0
    mfg_day: int = 0
    main_fw_major: int = 0
    main_fw_minor: int = 0
    main_fw_build: int = 0
    ble_fw_major: int = 0
    ble_fw_minor: int = 0
    ble_fw_build: int = 0
    ble_address: bytes = bytes(6)
    nv_memory_size: int = 0
    description: str = ""
    text_tails: TextTails = field(default=(), compare=False)
    """Bytes a device left after a text field's NUL (ignored as text; kept to re-encode exactly)."""

    def __post_init__(self) -> None:
        _check_tails(self.text_tails, _INFO_TEXT)
        for name, size in _INFO_TEXT.items():
            _pack_text(getattr(self, name), size, name, self.text_tails)
        for name, bits in (
            ("manufacturer_id", 16), ("mfg_year", 16), ("mfg_month", 8), ("mfg_day", 8),
            ("main_fw_major", 8), ("main_fw_minor", 8), ("main_fw_build", 16),
            ("ble_fw_major", 8), ("ble_fw_minor", 8), ("ble_fw_build", 16), ("nv_memory_size", 32),
        ):
            check_uint(name, getattr(self, name), bits)
        if len(self.ble_address) != 6:
            raise ConfigError("ble_address must be 6 bytes")

    @property
    def main_firmware(self) -> str:
        return _version(self.main_fw_major, self.main_fw_minor, self.main_fw_build)

    @property
    def address(self) -> str:
        """The BLE address as usually printed (most-significant byte first)."""
        return ":".join(f"{b:02X}" for b in reversed(self.ble_address))

    def __bytes__(self) -> bytes:
        text = {name: _pack_text(getattr(self, name), size, name, self.text_tails) for name, size in _INFO_TEXT.items()}
        return _INFO.pack(
            text["order_code"], text["serial"], text["name"], self.manufacturer_id, self.mfg_year,
            self.mfg_month, self.mfg_day, self.main_fw_major, self.main_fw_minor, self.main_fw_build,
            self.ble_fw_major, self.ble_fw_minor, self.ble_fw_build, bytes(self.ble_address),
            self.nv_memory_size, text["description"],
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = _exact(data, _INFO.size, "GET_DEVICE_INFO")
        f = _INFO.unpack(data)
        texts, tails = _texts({"order_code": f[0], "serial": f[1], "name": f[2], "description": f[15]}, data)
        return cls(
            order_code=texts["order_code"], serial=texts["serial"], name=texts["name"], manufacturer_id=f[3], mfg_year=f[4], mfg_month=f[5], mfg_day=f[6],
            main_fw_major=f[7], main_fw_minor=f[8], main_fw_build=f[9],
            ble_fw_major=f[10], ble_fw_minor=f[11], ble_fw_build=f[12],
            ble_address=f[13], nv_memory_size=f[14], description=texts["description"], text_tails=tails,
        )


_SENSOR = struct.Struct("<bBIBB60s32sdddIQIII")
_SENSOR_TEXT = {"description": 60, "units": 32}


@dataclass(frozen=True)
class SensorInfo:
    """GET_SENSOR_INFO reply payload (148 bytes): what one channel measures, in which units, how fast."""

    sensor_number: int
    description: str
    units: str
    sensor_id: int = 1
    spare: int = 0
    numeric_type: int = 0
    """0 real, 1 int32."""
    sampling_mode: int = 0
    """0 periodic, 1 aperiodic."""
    uncertainty: float = 0.0
    min_value: float = 0.0
    max_value: float = 0.0
    min_period_us: int = 1_000
    max_period_us: int = 100_000_000
    typical_period_us: int = 10_000
    granularity_us: int = 1_000
    exclusion_mask: int = 0
    """Sensors that cannot be enabled together with this one (bit n = sensor n)."""
    text_tails: TextTails = field(default=(), compare=False)
    """Bytes a device left after a text field's NUL (ignored as text; kept to re-encode exactly)."""

    def __post_init__(self) -> None:
        if not isinstance(self.sensor_number, int) or not -128 <= self.sensor_number <= 127:
            raise ConfigError(f"sensor_number must be an int8, got {self.sensor_number!r}")
        _check_tails(self.text_tails, _SENSOR_TEXT)
        for name, size in _SENSOR_TEXT.items():
            _pack_text(getattr(self, name), size, name, self.text_tails)
        for name, bits in (
            ("sensor_id", 32), ("spare", 8), ("numeric_type", 8), ("sampling_mode", 8),
            ("min_period_us", 32), ("max_period_us", 64), ("typical_period_us", 32),
            ("granularity_us", 32), ("exclusion_mask", 32),
        ):
            check_uint(name, getattr(self, name), bits)

    def __bytes__(self) -> bytes:
        return _SENSOR.pack(
            self.sensor_number, self.spare, self.sensor_id, self.numeric_type, self.sampling_mode,
            _pack_text(self.description, 60, "description", self.text_tails),
            _pack_text(self.units, 32, "units", self.text_tails), self.uncertainty, self.min_value,
            self.max_value, self.min_period_us, self.max_period_us, self.typical_period_us,
            self.granularity_us, self.exclusion_mask,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = _exact(data, _SENSOR.size, "GET_SENSOR_INFO")
        f = _SENSOR.unpack(data)
        texts, tails = _texts({"description": f[5], "units": f[6]}, data)
        return cls(
            sensor_number=f[0], spare=f[1], sensor_id=f[2], numeric_type=f[3], sampling_mode=f[4],
            description=texts["description"], units=texts["units"], text_tails=tails, uncertainty=f[7], min_value=f[8], max_value=f[9], min_period_us=f[10],
            max_period_us=f[11], typical_period_us=f[12], granularity_us=f[13], exclusion_mask=f[14],
        )
