"""bandlog: eccentric hamstring work from a BLE force/IMU sensor on a resistance band."""

from bandlog.errors import BandlogError as BandlogError

__version__ = "0.1.0"
