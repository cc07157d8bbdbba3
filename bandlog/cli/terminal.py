"""The terminal's width, found without shutil (it brings bz2, lzma and zlib: a tenth of `bandlog --help`)."""

from __future__ import annotations

import os
import sys


def terminal_columns() -> int:
    """shutil.get_terminal_size()'s columns, by the same rule (COLUMNS, else the size of sys.__stdout__,
    else 80), without importing shutil: it brings bz2, lzma and zlib, a tenth of `bandlog --help`."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = 0 if stdout is None else os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):  # closed, detached or not a terminal
            columns = 0
    return columns or 80
