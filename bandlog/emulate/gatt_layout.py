"""A twin's GATT layout in Bumble's terms: characteristic properties, the write-kind guard, advertising.

Twins declare their services as plain data (emulate/twins/base.py); the peripheral
(emulate/peripheral.py) serves them through Bumble. What Bumble needs from that data, and where its
server is more lenient than a real device (it accepts any kind of write; its virtual controller
drops scan responses), is settled here, apart from the peripheral's run time (connections, ticking,
faults). Imported lazily with the peripheral: bumble is loaded only when emulating.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bumble import att, data_types, gatt
from bumble.core import AdvertisingData, DataType
from bumble.gatt_server import Server

from bandlog.emulate.twins.base import NOTIFY, READ, WRITE, WRITE_WITHOUT_RESPONSE

logger = logging.getLogger(__name__)

SIG_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def guard_write_kinds(server: Server, properties_by_handle: dict[int, frozenset[str]], name: str) -> None:
    """Bumble's server accepts any write; a real device rejects the kind it does not support."""
    accept_request = server.on_att_write_request
    accept_command = server.on_att_write_command

    def on_att_write_request(bearer: att.Bearer, request: att.ATT_Write_Request) -> None:
        properties = properties_by_handle.get(request.attribute_handle)
        if properties is not None and WRITE not in properties:
            raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED, request.attribute_handle)
        accept_request(bearer, request)

    def on_att_write_command(bearer: att.Bearer, request: att.ATT_Write_Command) -> None:
        properties = properties_by_handle.get(request.attribute_handle)
        if properties is not None and WRITE_WITHOUT_RESPONSE not in properties:
            logger.warning("%s: ignored write without response to handle 0x%04X", name, request.attribute_handle)
            return
        accept_command(bearer, request)

    server.on_att_write_request = on_att_write_request
    server.on_att_write_command = on_att_write_command


def advertising_data(name: str, service_uuids: Sequence[str]) -> bytes:
    """Name plus advertised service UUIDs (16-bit form for SIG UUIDs), in one payload.

    A real sensor splits these over its advertisement and scan response, which a scanner
    merges. Bumble's virtual controller never sends the scan response data (it repeats the
    advertising data instead) but accepts more than 31 bytes, so everything goes in here.
    """
    short = [s for s in map(_sig_16_bit, map(gatt.UUID, service_uuids)) if s is not None]
    long = [u for u in map(gatt.UUID, service_uuids) if _sig_16_bit(u) is None]
    structures: list[DataType] = [data_types.CompleteLocalName(name)]
    if short:
        structures.append(data_types.CompleteListOf16BitServiceUUIDs(short))
    if long:
        structures.append(data_types.CompleteListOf128BitServiceUUIDs(long))
    return bytes(AdvertisingData(structures))


def _sig_16_bit(uuid: gatt.UUID) -> gatt.UUID | None:
    """The 16-bit form of a UUID on the Bluetooth SIG base, else None."""
    text = uuid.to_hex_str("-").lower()
    if len(text) == 36 and text.startswith("0000") and text.endswith(SIG_BASE_SUFFIX):
        return gatt.UUID.from_16_bits(int(text[4:8], 16))
    if len(text) == 4:
        return uuid
    return None


def bumble_properties(properties: frozenset[str]) -> gatt.Characteristic.Properties:
    flags = gatt.Characteristic.Properties(0)
    mapping = {
        READ: gatt.Characteristic.Properties.READ,
        WRITE: gatt.Characteristic.Properties.WRITE,
        WRITE_WITHOUT_RESPONSE: gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
        NOTIFY: gatt.Characteristic.Properties.NOTIFY,
    }
    for name in properties:
        if name not in mapping:
            raise ValueError(f"unsupported characteristic property {name!r}")
        flags |= mapping[name]
    return flags
