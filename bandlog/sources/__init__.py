"""Sources of pipeline items: a BLE session (bleak) and replayed logs."""
