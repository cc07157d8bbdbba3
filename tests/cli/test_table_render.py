"""bandlog draws its fitted tables itself (a warm `sessions` over 1,000 sessions spent most of its time
in rich measuring cells fit() had already sized); the lines must be exactly what rich.table draws for
the same fitted table, so nothing a user sees changes."""

from __future__ import annotations

import io
import random

import pytest
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bandlog.cli.commands._table_fit import PATH, TEXT, WHOLE, Column, fit, render_table

WORDS = ("date", "leg", "ecc", "TUT", "(s)", "peak", "force", "(N)", "mean", "target", "within", "±20", "%", "file", "band")


def rich_lines(fitted: object) -> list[str]:
    """What the table looked like when rich drew it (print_table before bandlog drew it itself)."""
    table = Table(box=box.HEAVY_HEAD)
    for column, width in zip(fitted.columns, fitted.widths):  # type: ignore[attr-defined]
        table.add_column(column.header, justify=column.justify, width=width, overflow="fold")
    for row in fitted.rows:  # type: ignore[attr-defined]
        table.add_row(*(Text(cell) for cell in row))
    out = io.StringIO()
    Console(file=out, width=max(fitted.total_width, fitted.width or 0), highlight=False, color_system=None).print(table)  # type: ignore[attr-defined]
    return out.getvalue().splitlines()


def random_table(seed: int) -> tuple[list[Column], list[dict[str, str]], int | None]:
    rng = random.Random(seed)
    columns = []
    for i in range(rng.randint(1, 8)):
        header = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        kind = rng.choice((WHOLE, WHOLE, TEXT, PATH))
        columns.append(Column(f"c{i}", header, kind, rng.choice(("left", "right"))))
    rows = []
    for _ in range(rng.randint(0, 6)):
        row = {}
        for column in columns:
            if column.kind == PATH:
                row[column.key] = "/".join(rng.choice(("recordings", "2026", "a-long-folder-name"))
                                           for _ in range(rng.randint(0, 3))) + f"/2026-01-0{rng.randint(1, 9)}T120000_left.csv"
            elif column.kind == TEXT:
                row[column.key] = rng.choice(("red", "theraband gold + black, doubled (x2)", "", "blue x3", "ünïcode bänd"))
            else:
                row[column.key] = rng.choice(("-", "1234.5", "3", "2026-01-05", "left", "115.2", "99%"))
        rows.append(row)
    return columns, rows, rng.choice((None, 40, 60, 80, 120))


@pytest.mark.parametrize("seed", range(120))
def test_drawn_table_is_what_rich_draws(seed: int) -> None:
    columns, rows, width = random_table(seed)
    fitted = fit(columns, rows, width, drop_order=[c.key for c in columns[1:]])
    assert render_table(fitted) == rich_lines(fitted)


def test_a_terminal_gets_the_leg_colours_and_bold_headers() -> None:
    from rich.console import COLOR_SYSTEMS
    from rich.style import Style

    system = COLOR_SYSTEMS["256"]
    column = Column("leg", "leg", justify="left", styles={"left": "blue", "right": "dark_orange"})
    fitted = fit([column], [{"leg": "left"}, {"leg": "right"}, {"leg": "none"}], None)
    lines = render_table(fitted, lambda text, style: Style.parse(style).render(text, color_system=system))
    assert lines[1] == "┃ " + Style.parse("bold").render("leg", color_system=system) + "   ┃"
    assert lines[3] == "│ " + Style.parse("blue").render("left", color_system=system) + "  │"
    assert lines[4] == "│ " + Style.parse("dark_orange").render("right", color_system=system) + " │"
    assert lines[5] == "│ none  │"
