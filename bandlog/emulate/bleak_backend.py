"""A bleak backend over the emulated world's Bumble central.

bleak lets a caller inject `backend=` a BaseBleakScanner / BaseBleakClient subclass. These two
translate bleak's calls into Bumble host calls on the world's central Device, so bleak's public
API (BleakScanner.discover, BleakClient.start_notify, ...) runs unchanged over the virtual link.
bleak instantiates the classes itself, so make_backends() binds them to one world by subclassing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_module
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal, Protocol, get_args

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy


class EmulatedWorld(Protocol):
    """What the bleak backends need of a virtual link (bandlog.emulate.stack.EmulatedWorld is one)."""

    central: Device

    async def acquire_scanning(self) -> None: ...

    async def release_scanning(self) -> None: ...

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection: ...


logger = logging.getLogger(__name__)

# Literal types, so Bumble's typed overloads of AdvertisingData.get_all apply to the loop variable.
_UuidListType = Literal[
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
]
_ServiceDataType = Literal[
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
]
_UUID_LIST_TYPES: tuple[_UuidListType, ...] = get_args(_UuidListType)
_SERVICE_DATA_TYPES: tuple[_ServiceDataType, ...] = get_args(_ServiceDataType)
_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def bleak_uuid(uuid: core.UUID) -> str:
    """Bumble UUID -> bleak's normalised form (lower-case, 128-bit)."""
    return str(uuid_module.UUID(bytes=bytes(reversed(uuid.to_bytes(force_128=True)))))


def advertisement_data(advertisement: Advertisement) -> tuple[str | None, AdvertisementData]:
    """Bumble advertisement -> (local name, bleak AdvertisementData).

    The virtual controller repeats the advertising data as scan response, and Bumble merges the
    two, so every AD structure can appear twice: values are de-duplicated here.
    """
    data = advertisement.data
    name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.Type.SHORTENED_LOCAL_NAME)
    service_uuids: list[str] = []
    for type_id in _UUID_LIST_TYPES:
        for uuids in data.get_all(type_id):
            for uuid in uuids:
                text = bleak_uuid(uuid)
                if text not in service_uuids:
                    service_uuids.append(text)
    manufacturer_data = {company: bytes(value) for company, value in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)}
    service_data: dict[str, bytes] = {}
    for service_data_type in _SERVICE_DATA_TYPES:
        for uuid, value in data.get_all(service_data_type):
            service_data[bleak_uuid(uuid)] = bytes(value)
    tx_power = data.get(AdvertisingData.Type.TX_POWER_LEVEL)
    return name, AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class EmulatedBleakScanner(BaseBleakScanner):
    """Scans the virtual link through the world's central (shared, reference-counted)."""

    world: ClassVar[EmulatedWorld]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        self.world.central.on(self.world.central.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._listening = True
        await self.world.acquire_scanning()

    async def stop(self) -> None:
        if not self._listening:
            return
        self._listening = False
        self.world.central.remove_listener(self.world.central.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self.world.release_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        name, adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)


class EmulatedBleakClient(BaseBleakClient):
    """A GATT client on the world's central: one Bumble connection per client instance."""

    world: ClassVar[EmulatedWorld]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        if isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            self._peer_address = details if isinstance(details, hci.Address) else _address(address_or_ble_device.address)
            self._name = address_or_ble_device.name or address_or_ble_device.address
        else:
            self._peer_address = _address(address_or_ble_device)
            self._name = address_or_ble_device
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._notify_callbacks: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            raise BleakError("Not connected")
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if pair:
            logger.info("pairing is not emulated; connecting to %s without pairing", self.address)
        timeout_s = float(kwargs.get("timeout", self._timeout))
        try:
            connection = await self.world.connect(self._peer_address, timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no connection to {self.address} within {timeout_s:g} s") from None
        self._connection = connection
        self._disconnecting = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            with _gatt_errors():
                self.services = await self._discover()
        except BaseException:
            await self.disconnect()
            raise

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        collection = BleakGATTServiceCollection()
        for service in await self._peer.discover_services():
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in await service.discover_characteristics():
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    [name for flag, name in _PROPERTY_NAMES if characteristic.properties & flag],
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                for descriptor in await characteristic.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_characteristic)
                    )
        return collection

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await asyncio.wait_for(
                self.world.central.disconnect(connection, hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), timeout=2.0
            )
        except (TimeoutError, hci.HCI_Error) as error:
            logger.warning("disconnect from %s did not complete cleanly: %s", self.address, error)
        finally:
            self._forget()

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._disconnecting
        self._forget()
        logger.info("%s disconnected (reason 0x%02X%s)", self.address, reason, "" if solicited else ", unsolicited")
        if self._disconnected_callback is not None:  # requested or not, as BlueZ does (bleak #314)
            self._disconnected_callback()

    def _forget(self) -> None:
        self._connection = None
        self._peer = None
        self._notify_callbacks.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        logger.info("pair() is a no-op on the emulated link")

    async def unpair(self) -> None:
        logger.info("unpair() is a no-op on the emulated link")

    def _require_connection(self) -> None:
        if self._connection is None:
            raise BleakError("Not connected")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        self._require_connection()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        with _gatt_errors():
            return bytearray(await proxy.read_value())

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        self._require_connection()
        proxy: DescriptorProxy = descriptor.obj
        with _gatt_errors():
            return bytearray(await proxy.read_value())

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        self._require_connection()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        with _gatt_errors():
            await proxy.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        self._require_connection()
        proxy: DescriptorProxy = descriptor.obj
        with _gatt_errors():
            await proxy.write_value(bytes(data), with_response=True)

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        self._require_connection()
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._notify_callbacks[characteristic.handle] = deliver
        with _gatt_errors():
            await proxy.subscribe(deliver, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_connection()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        deliver = self._notify_callbacks.pop(characteristic.handle, None)
        with _gatt_errors():
            await proxy.unsubscribe(deliver, force=True)


@contextlib.contextmanager
def _gatt_errors() -> Iterator[None]:
    """Bumble ATT errors -> bleak's BleakGATTProtocolError (what real backends raise since 3.0).

    A link lost mid-request makes Bumble cancel the pending response: that is a BleakError (as a
    real backend reports it), not a cancellation of the caller, which would read as Ctrl-C.
    """
    try:
        yield
    except att.ATT_Error as error:
        raise BleakGATTProtocolError(int(error.error_code)) from error
    except core.TimeoutError as error:
        raise TimeoutError(str(error)) from error
    except asyncio.CancelledError as error:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the caller really is being cancelled
        raise BleakError("the link was lost during a GATT request") from error


def _address(text: str) -> hci.Address:
    return hci.Address(text, hci.Address.RANDOM_DEVICE_ADDRESS)


def make_backends(world: EmulatedWorld) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    """Scanner and client classes bound to one world (bleak instantiates them itself)."""
    scanner = type("EmulatedBleakScanner", (EmulatedBleakScanner,), {"world": world})
    client = type("EmulatedBleakClient", (EmulatedBleakClient,), {"world": world})
    return scanner, client
