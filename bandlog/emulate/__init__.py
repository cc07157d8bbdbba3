"""Emulated sensors: sans-I/O protocol twins of each device and the Bumble glue that puts them on a virtual BLE link."""
