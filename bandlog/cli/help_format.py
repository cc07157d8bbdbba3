"""argparse's help formatters, sized by bandlog.cli.terminal (shutil's rule without shutil).

`bandlog --help` is most of what a user waits for at start-up, and Python itself (with the `import re`
of pip's console script) already takes most of it; shutil would add a tenth. The texts are argparse's
own, byte for byte (tests/cli/test_help_format.py).
"""

from __future__ import annotations

import argparse

from bandlog.cli.terminal import terminal_columns


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its default width (the terminal's less 2) found by terminal_columns()."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_columns() - 2 if width is None else width)


class RawDescriptionHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """argparse's RawDescriptionHelpFormatter (descriptions and epilogs as written), sized as HelpFormatter."""
