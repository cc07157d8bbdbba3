"""Make user-supplied text safe where bandlog writes it: CSV cells and terminal output.

Band names, exercises, legs and notes are typed by people and stored in logs; anything that
writes them out again must neither let a spreadsheet run them as a formula (OWASP "CSV
injection") nor let them drive the terminal (escape sequences that clear the screen, retitle the
window or hide text).

- `csv_safe(value)`: a cell that starts (after spaces) with = + - @ TAB or CR gets a leading ``'``
  (OWASP rule); numbers, and text that is a plain number such as ``-2.5``, stay as they are.
- `csv_safe_frame(frame)`: the same for every text cell of a DataFrame, before ``to_csv``.
- `printable(text)`: the text without ESC sequences, C0/C1 control characters and bidi overrides,
  for tables, terminal lines and HTML.
- `chart_text(text)`: `printable`, and ``$`` kept literal, for matplotlib titles and labels.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet treat a cell as a formula (OWASP)."""

_PLAIN_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
# ESC sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings (ended by BEL or ST), and
# two-character escapes; the 8-bit C1 CSI (0x9b) too. Then every other control character.
_ESCAPE_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def csv_safe(value: T) -> T | str:
    """The cell value a spreadsheet shows as text: text starting with a formula character gets a
    leading ``'``; numbers, plain-number text (``-2.5``) and anything else pass unchanged."""
    if not isinstance(value, str) or not value.lstrip(" ").startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER_RE.match(value):
        return value
    return "'" + value


def csv_safe_frame(frame: pd.DataFrame, *, printable_text: bool = False) -> pd.DataFrame:
    """A copy of `frame` with `csv_safe` applied to every text cell (numeric columns untouched); with
    `printable_text`, control characters are dropped first (for a CSV printed on a terminal)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str"):
            out[column] = out[column].map(lambda v: csv_safe(printable(v) if printable_text and isinstance(v, str) else v))
    return out


def printable(text: str) -> str:
    """`text` without terminal escape sequences or control characters; tabs and line breaks become
    spaces so one value stays on one line of a table."""
    if text.isascii() and text.isprintable():  # nothing to remove (every pattern below needs a control or non-ASCII character): fast for big tables
        return text
    text = _ESCAPE_RE.sub("", text)
    text = re.sub(r"[\t\n\r\x0b\x0c]", " ", text)
    return _CONTROL_RE.sub("", text)


def chart_text(text: str) -> str:
    """`printable(text)` with each ``$`` escaped, for matplotlib titles and labels: a band named
    ``$\\frac{a$`` is drawn as typed instead of being parsed as math (which fails the whole chart)."""
    return printable(text).replace("$", r"\$")
