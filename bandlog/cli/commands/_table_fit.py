"""Fit a terminal table to the terminal's width without ever cutting a number (CLI output only).

Every column says how it may shrink:

- WHOLE cells (numbers, dates, legs, tempo words) are never cut or wrapped: the column is at least
  as wide as its widest cell, and its header wraps between words instead;
- TEXT cells (band names, exercises, flags) may end in "…" (down to TEXT_MIN characters); a column
  that knows an abbreviation for a cell (an exercise's) shows it instead, never cut;
- PATH cells lose their folder first, then their middle (down to PATH_MIN characters).

When even the narrowest columns do not fit, whole columns are left out in the table's documented
drop order, and a line under the table names them and says how to see them. Output that is not a
terminal (a pipe, a file) and has no COLUMNS set gets the whole table, as wide as it needs.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Literal

Kind = Literal["whole", "text", "path"]
WHOLE: Kind = "whole"
TEXT: Kind = "text"
PATH: Kind = "path"
TEXT_MIN = 8
"""A cut text cell keeps at least this many characters (with its "…")."""
PATH_MIN = 20
"""A file name cut in the middle keeps at least this many characters: its date and its end."""
ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One table column: its data key, its short header (units included), how it may shrink, optional
    rich styles by cell text (e.g. a colour per leg), and for a TEXT column the abbreviations it shows
    by cell text when the cells do not fit whole (e.g. 'rev curl' for 'reverse hamstring curl')."""

    key: str
    header: str
    kind: Kind = WHOLE
    justify: Literal["left", "right"] = "right"
    styles: Mapping[str, str] = field(default_factory=dict)
    short: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FittedTable:
    """The columns kept, their content widths, the (possibly shortened) cells, and what was given up."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    rows: tuple[tuple[str, ...], ...]
    left_out: tuple[str, ...]
    shortened: tuple[str, ...]
    width: int | None

    @property
    def total_width(self) -> int:
        """Characters per line, borders and padding included."""
        return sum(self.widths) + _overhead(len(self.widths))


def output_width() -> int | None:
    """The width to fit to: COLUMNS when set, else the terminal's; None for a pipe or a file
    (the table is then printed whole, so `| grep` and `> file` lose nothing)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _len(text: str) -> int:
    """Terminal cells `text` takes: its length when ASCII (nearly every cell), else rich's count (wide CJK, emoji)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _file_name(text: str) -> str:
    """The last part of a path, whether it was written with / or \\."""
    return PureWindowsPath(text).name or text


def _cut_end(text: str, width: int) -> str:
    if _len(text) <= width:
        return text
    from rich.cells import set_cell_size

    return set_cell_size(text, width - 1) + ELLIPSIS


def _cut_middle(text: str, width: int) -> str:
    if _len(text) <= width:
        return text
    head = width // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def _widths(column: Column, cells: Sequence[str]) -> tuple[int, int, int]:
    """The narrowest this column may be, the width that shows its cells readably (text whole, file
    names whole), and its natural width (every cell and the header on one line)."""
    header_word = max((_len(word) for word in column.header.split()), default=0)
    natural = max([_len(column.header), *(_len(c) for c in cells)])
    if column.kind == TEXT:
        narrowest = max([min(natural, TEXT_MIN), *(_len(column.short[c]) for c in cells if c in column.short)])
        return max(header_word, narrowest), natural, natural
    if column.kind == PATH:
        names = max([header_word, *(_len(_file_name(c)) for c in cells)])
        return max(header_word, min(names, PATH_MIN)), names, natural
    whole = max([header_word, *(_len(c) for c in cells)])
    return whole, whole, natural


def _header_width(header: str, lines: int) -> int:
    """The narrowest width that wraps `header` between words into at most `lines` lines."""
    width = max((_len(word) for word in header.split()), default=0)
    while len(textwrap.wrap(header, width, break_long_words=False)) > lines:
        width += 1
    return width


def _overhead(n_columns: int) -> int:
    """Borders and padding of a rich table with `n_columns` (its default box: 3 per column + 1)."""
    return 3 * n_columns + 1


def _share(widths: list[int], targets: Sequence[int], order: Sequence[int], slack: int) -> int:
    """Grow each column towards its target, in `order`, while slack lasts; the slack left."""
    for i in order:
        grow = min(slack, targets[i] - widths[i])
        if grow > 0:
            widths[i] += grow
            slack -= grow
    return slack


def fit(
    columns: Sequence[Column], rows: Sequence[Mapping[str, str]], width: int | None, drop_order: Sequence[str] = ()
) -> FittedTable:
    """Choose the columns and widths so the table is at most `width` characters wide (None: no limit).

    Columns named in `drop_order` are left out, first named first, until the narrowest widths of the
    rest fit. The slack left goes, most important column first (those dropped last), to showing text
    and file names whole, then to headers on as few lines as possible, then to paths with their
    folder. A WHOLE cell is never shortened: if the columns that may not be dropped are wider than
    `width`, the table is wider than asked (and its note says so).
    """
    from bandlog.core.text_safety import printable

    cells = {c.key: [printable(str(row[c.key])) for row in rows] for c in columns}
    limits = {c.key: _widths(c, cells[c.key]) for c in columns}
    kept = list(columns)
    if width is None:
        widths = [limits[c.key][2] for c in kept]
    else:
        for key in drop_order:
            if sum(limits[c.key][0] for c in kept) + _overhead(len(kept)) <= width:
                break
            kept = [c for c in kept if c.key != key]
        widths = [limits[c.key][0] for c in kept]
        rank = {key: i for i, key in enumerate(drop_order)}
        order = sorted(range(len(kept)), key=lambda i: -rank.get(kept[i].key, len(drop_order)))
        targets = [limits[c.key][1] for c in kept]
        slack = _share(widths, targets, order, width - sum(widths) - _overhead(len(kept)))
        for i, column in enumerate(kept):  # abbreviated after all: width past its abbreviations goes to the others
            if column.short and widths[i] < targets[i]:
                slack += widths[i] - limits[column.key][0]
                widths[i] = targets[i] = limits[column.key][0]
        slack = _share(widths, targets, order, slack)
        for lines in (1, 2):
            wanted = [max(w, _header_width(c.header, lines)) for c, w in zip(kept, widths)]
            if sum(wanted) - sum(widths) <= slack:
                slack -= sum(wanted) - sum(widths)
                widths = wanted
                break
        for i in order:  # a folder is worth showing only whole
            if kept[i].kind == PATH and limits[kept[i].key][2] - widths[i] <= slack:
                slack -= limits[kept[i].key][2] - widths[i]
                widths[i] = limits[kept[i].key][2]
    shortened = []
    for column, column_width in zip(kept, widths):
        texts = cells[column.key]
        if column.kind == PATH and any(_len(t) > column_width for t in texts):
            texts = [_cut_middle(_file_name(t), column_width) for t in texts]
        elif column.kind == TEXT:
            if any(_len(t) > column_width for t in texts):  # every cell abbreviated alike, not only the long ones
                texts = [column.short.get(t, t) for t in texts]
            texts = [_cut_end(t, column_width) for t in texts]
        if texts != cells[column.key]:
            cells[column.key] = texts
            shortened.append(column.header)
    return FittedTable(
        columns=tuple(kept), widths=tuple(widths),
        rows=tuple(tuple(cells[c.key][r] for c in kept) for r in range(len(rows))),
        left_out=tuple(c.header for c in columns if c not in kept), shortened=tuple(shortened), width=width,
    )


def fit_note(fitted: FittedTable, hint: str) -> str:
    """The line under a table that says what it does not show in full, and how to see it ('' if nothing)."""
    parts = []
    if fitted.left_out:
        parts.append(f"not shown at {fitted.width} columns: {', '.join(fitted.left_out)}")
    if fitted.shortened:
        parts.append(f"shortened: {', '.join(fitted.shortened)}")
    if fitted.width is not None and fitted.total_width > fitted.width:
        parts.append(f"the table needs {fitted.total_width} columns")
    return f"{'; '.join(parts)} ({hint})" if parts else ""


_GLUED_SPACE_RE = re.compile(r"(?<=\d) (?=(?:N·s|°/s|s|N|°|%)(?:[\s,.;:)]|$))|(?<=--format) ")
"""Spaces where a wrapped line must not break: between a number and its unit ("22.91 s"), and in "--format csv"."""


def print_wrapped(text: str, width: int | None, indent: str = "") -> None:
    """Print a line of prose, wrapped between words to `width`: never inside a word, number or path,
    nor between a number and its unit."""
    if width is None:
        print(f"{indent}{text}")
        return
    glued = _GLUED_SPACE_RE.sub("\xa0", text)  # textwrap does not break at a no-break space
    wrapped = textwrap.fill(glued, width=max(width, len(indent) + 20), initial_indent=indent,
                            subsequent_indent=indent + "  ", break_long_words=False, break_on_hyphens=False)
    print(wrapped.replace("\xa0", " "))


_BOX = {"top": "┏━┳┓", "head": "┃┃┃", "rule": "┡━╇┩", "row": "│││", "bottom": "└─┴┘"}
"""rich's box.HEAVY_HEAD, the box every bandlog table is drawn in: (left, fill, between, right) per line kind."""


def _header_lines(header: str, width: int) -> list[str]:
    """A header wrapped between words into `width`, as rich wraps it (fit() leaves room for its longest word)."""
    lines: list[str] = []
    for word in header.split():
        if lines and _len(lines[-1]) + 1 + _len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def render_table(fitted: FittedTable, paint: Callable[[str, str], str] | None = None) -> list[str]:
    """The fitted table's lines, drawn as rich.table draws it (HEAVY_HEAD box, one space of padding,
    headers wrapped and bottom-aligned, bold on a terminal); `paint(text, style)` colours a cell (None: plain).

    Drawn here rather than by rich because fit() has already made every cell fit its column, so there
    is nothing left to measure: rich measures each of a 1,000-session table's 10,000 cells again,
    which took most of a warm `bandlog sessions`. tests/cli/test_table_render.py holds the two equal."""
    widths = fitted.widths

    def rule(kind: str) -> str:
        left, fill, between, right = tuple(_BOX[kind])  # one character each
        return left + between.join(fill * (width + 2) for width in widths) + right

    def cells(kind: str, texts: Sequence[str], styles: Sequence[str]) -> str:
        left, between, right = tuple(_BOX[kind])
        parts = []
        for column, width, text, style in zip(fitted.columns, widths, texts, styles):
            pad = " " * (width - _len(text))
            if paint is not None and style and text:
                text = paint(text, style)
            parts.append(f" {pad}{text} " if column.justify == "right" else f" {text}{pad} ")
        return left + between.join(parts) + right

    headers = [_header_lines(column.header, width) for column, width in zip(fitted.columns, widths)]
    height = max((len(lines) for lines in headers), default=1)
    headers = [[""] * (height - len(lines)) + lines for lines in headers]
    bold = ["bold"] * len(widths)
    lines = [rule("top"), *(cells("head", [h[i] for h in headers], bold) for i in range(height)), rule("rule")]
    for row in fitted.rows:
        lines.append(cells("row", row, [column.styles.get(cell, "") for column, cell in zip(fitted.columns, row)]))
    lines.append(rule("bottom"))
    return lines


def _painter() -> Callable[[str, str], str] | None:
    """Colours for a terminal that shows them (rich decides: NO_COLOR, TERM=dumb, 256 colours...); None for
    a pipe or a file, which then gets plain text without rich even being imported."""
    if not (sys.stdout.isatty() or os.environ.get("FORCE_COLOR")):
        return None
    from rich.console import COLOR_SYSTEMS, Console
    from rich.style import Style

    name = Console().color_system
    if name is None:
        return None
    system = COLOR_SYSTEMS[name]
    styles: dict[str, Style] = {}

    def paint(text: str, style: str) -> str:
        if style not in styles:
            styles[style] = Style.parse(style)
        return styles[style].render(text, color_system=system)

    return paint


def print_table(
    title: str, columns: Sequence[Column], rows: Sequence[Mapping[str, str]], *, width: int | None,
    drop_order: Sequence[str] = (), hint: str = "a wider terminal shows them",
) -> None:
    """Print `title`, the rows fitted to `width` (see `fit`), and the note on what was left out or shortened."""
    fitted = fit(columns, rows, width, drop_order)
    print_wrapped(title, width)
    print("\n".join(render_table(fitted, _painter())))
    note = fit_note(fitted, hint)
    if note:
        print_wrapped(note, width)
