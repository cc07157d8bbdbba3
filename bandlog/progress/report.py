"""A self-contained HTML progress report: every chart and the session table in ONE file.

The file has to open offline, be mailed to a physio, and still work in years: charts are PNGs
embedded as data URIs, styles are inline, and there are no scripts and no external references.
Every value from a log (band names, paths) is HTML-escaped, so a log cannot inject markup.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, SupportsFloat, SupportsInt

from bandlog.core.text_safety import printable
from bandlog.detect.explain import counted
from bandlog.io.paths import write_output

if TYPE_CHECKING:  # imported where used: `bandlog progress` reusing a stored report needs neither
    import pandas as pd
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1.05em; }
p.meta { color: #666; margin-top: 0; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
th, td { padding: 0.3em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
td.left { color: #1f6fb4; font-weight: 600; } td.right { color: #e07b00; font-weight: 600; }
"""

SESSION_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("date", "date"), ("leg", "leg"), ("band", "band"), ("reps", "reps"), ("eccentrics", "with eccentric"),
    ("rejected", "not counted"), ("tut_ecc_s", "eccentric TUT (s)"), ("mean_ecc_duration_s", "mean eccentric (s)"),
    ("target_ecc_s", "target (s)"), ("adherence", "within ±20 %"), ("peak_force_n", "peak force (N)"),
    ("mean_force_n", "mean eccentric force (N)"), ("peak_torque_n_m", "peak knee torque (N·m)"),
    ("equivalent_load_kg", "equivalent load (kg)"), ("slow_reps", "slow"), ("moderate_reps", "moderate"), ("fast_reps", "fast"),
    ("mode", "sensors"), ("path", "file"),
)
WEEKLY_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("week", "week of"), ("leg", "leg"), ("sessions", "sessions"), ("reps", "reps"), ("eccentrics", "with eccentric"),
    ("tut_ecc_s", "eccentric TUT (s)"),
    ("mean_ecc_duration_s", "mean eccentric (s)"), ("adherence", "within ±20 %"), ("peak_force_n", "best peak force (N)"),
)
"""`peak_force_n` of a week is its best session peak (trends.weekly), hence 'best' as in the charts."""
_TEXT_COLUMNS = {"date", "week", "leg", "exercise", "band", "mode", "path"}
_COUNT_COLUMNS = {"reps", "eccentrics", "rejected"}
"""Counts print as integers even when pandas summed them as floats."""
_TEXT_CLASS = ' class="text"'


def _esc(text: str) -> str:
    """HTML-escape, and break '://' with an entity so no URL text appears in the file (it reads the same);
    control characters (a band name with terminal escapes) are dropped, as in every table bandlog prints."""
    return html.escape(printable(text)).replace("://", "&#58;//")


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes without metadata (so no URL hides in the image either)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def figure_data_uri(fig: Figure | bytes, dpi: int = 100) -> str:
    """The figure (or its figure_png bytes) as a base64 PNG data URI."""
    png = fig if isinstance(fig, bytes) else figure_png(fig, dpi)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _missing(value: object) -> bool:
    """None, NaN, NaT or pandas.NA: the cells shown as "–"."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def _cell(column: str, value: object) -> str:
    if _missing(value):
        text = "–"
    elif isinstance(value, datetime):  # a pandas.Timestamp
        text = value.date().isoformat()
    elif column == "adherence" and isinstance(value, SupportsFloat):  # a number (Python, numpy or pandas)
        text = f"{float(value):.0%}"
    elif column in _COUNT_COLUMNS and isinstance(value, SupportsInt):
        text = str(int(value))
    elif isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    classes = []
    if column in _TEXT_COLUMNS:
        classes.append("text")
    if column == "leg" and text in ("left", "right"):
        classes.append(text)
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{_esc(text)}</td>"


def html_table(frame: pd.DataFrame, columns: Sequence[tuple[str, str]]) -> str:
    """An escaped HTML table of the named (column, heading) pairs present in `frame`."""
    present = [(c, h) for c, h in columns if c in frame.columns]
    head = "".join(f'<th{_TEXT_CLASS if c in _TEXT_COLUMNS else ""}>{_esc(h)}</th>' for c, h in present)
    rows = []
    for record in frame.to_dict("records"):
        rows.append("<tr>" + "".join(_cell(c, record[c]) for c, _ in present) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _weeks_so_far(table: pd.DataFrame, first_week: pd.Timestamp | None = None) -> pd.DataFrame:
    """The weekly table with the week still running named as such in its `week` cell (its sums are partial);
    with `first_week` (anonymised), weeks as "week N" counted from it instead of their dates."""
    import pandas as pd

    from bandlog.progress.anonymise import week_numbers
    from bandlog.progress.trends import WEEK_DAYS, running_rows

    if table.empty:
        return table
    running = running_rows(table)
    if first_week is None:
        week = pd.to_datetime(table["week"]).dt.date.astype(str)
    else:
        week = "week " + week_numbers(table["week"], first_week).astype(str)
    so_far = week + " (so far: " + table["week_days"].astype(int).astype(str) + f" of {WEEK_DAYS} days)"
    return table.assign(week=week.where(~running, so_far))


_TIME_FORMAT = "%Y-%m-%d %H:%M"
GENERATED_SLOT = "\0generated\0"
"""Stands for the time in a report built ahead of time (see stamp); no value from a log can contain it,
as every one goes through text_safety.printable, which drops NUL."""


def stamp(report: str, generated: datetime | None = None) -> str:
    """A report built with `generated=GENERATED_SLOT`, dated `generated` (default: now)."""
    return report.replace(GENERATED_SLOT, (generated or datetime.now()).strftime(_TIME_FORMAT))


@dataclass(frozen=True)
class ReportSection:
    """One exercise's part of a report: its heading, sessions, charts (caption -> Figure or PNG bytes)
    and noise table (reliability.noise_table, or None)."""

    heading: str
    sessions: pd.DataFrame
    charts: Mapping[str, Figure | bytes]
    noise: pd.DataFrame | None = None


def build_report(
    sessions: pd.DataFrame,
    charts: Mapping[str, Figure | bytes],
    title: str = "bandlog progress",
    subtitle: str = "",
    generated: datetime | str | None = None,
    anonymise: bool = False,
    noise: pd.DataFrame | None = None,
    sections: Sequence[ReportSection] = (),
) -> str:
    """The whole report as one HTML string: a figure per chart (caption = its key; a Figure or its PNG
    bytes), weekly and session tables. `generated` may be GENERATED_SLOT, to be `stamp`ed later.
    `anonymise`: tables as bandlog.progress.anonymise says (no paths, days and weeks numbered), no date
    generated, and its note at the top and the foot (the charts are the caller's: see progress_pngs).
    `sections` (several exercises): each its own heading, charts, weekly and noise tables instead of
    `charts` and `noise`; the session table lists them all, with their exercise."""
    from bandlog.progress import anonymise as anon
    from bandlog.progress.trends import ASYMMETRY_FORMULA

    when = generated if isinstance(generated, str) else (generated or datetime.now()).strftime(_TIME_FORMAT)
    made = "anonymised" if anonymise else f"generated {when}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{_esc(subtitle + " · " if subtitle else "")}{counted(len(sessions), "session")} · {made}</p>',
        *([f'<p class="meta">{_esc(anon.ANONYMISED_NOTE)}</p>'] if anonymise else []),
    ]
    estimated = ("mode" in sessions) and bool((sessions["mode"] == "force").any())
    parts.append(f'<p class="meta">Asymmetry index used in the charts: {_esc(ASYMMETRY_FORMULA)}.'
                 + (' Sessions with sensors "force" were timed from force alone: their eccentric timings are estimated.'
                    if estimated else "") + "</p>")
    first_week = sessions["week"].min() if anonymise and len(sessions) else None
    if sections:
        for section in sections:
            parts.append(f"<h2>{_esc(section.heading)}</h2>")
            parts += _section(section.sessions, section.charts, section.noise, first_week, level=3)
    else:
        parts += _section(sessions, charts, noise, first_week, level=2)
    from bandlog.progress.band_advice import band_report_parts

    band_notes, band_figures = band_report_parts(sessions, anonymise=anonymise)
    if band_notes or band_figures:
        parts.append("<h2>Band: torque, wear, moving up</h2>")
        parts += [f"<p>{_esc(note)}</p>" for note in band_notes]
        parts += [_figure_html(fig, fig.axes[0].get_title(loc="left")) for fig in band_figures]
    parts.append("<h2>Sessions</h2>")
    columns = SESSION_TABLE_COLUMNS if not sections else (SESSION_TABLE_COLUMNS[0], ("exercise", "exercise"), *SESSION_TABLE_COLUMNS[1:])
    parts.append(html_table(anon.session_table(sessions) if anonymise and len(sessions) else sessions, columns))
    if anonymise:
        parts.append(f"<footer><p class=\"meta\">{_esc(anon.ANONYMISED_NOTE)}</p></footer>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _figure_html(fig: Figure | bytes, caption: str) -> str:
    """One chart, inlined, with its caption as alt text and under it."""
    return f'<figure><img src="{figure_data_uri(fig)}" alt="{_esc(caption)}"><figcaption>{_esc(caption)}</figcaption></figure>'


def _section(
    sessions: pd.DataFrame, charts: Mapping[str, Figure | bytes], noise: pd.DataFrame | None,
    first_week: pd.Timestamp | None, level: int,
) -> list[str]:
    """Charts, the weekly table and the noise table of one group of sessions, under h`level` headings."""
    from bandlog.progress.trends import weekly

    parts = [f"<h{level}>Charts</h{level}>"]
    parts += [_figure_html(fig, caption) for caption, fig in charts.items()]
    parts.append(f"<h{level}>Per week</h{level}>")
    parts.append(html_table(_weeks_so_far(weekly(sessions), first_week), WEEKLY_TABLE_COLUMNS))
    if noise is not None and not noise.empty:  # reliability.noise_table: what counts as a real change
        from bandlog.progress.reliability import NOISE_NOTE, NOISE_TABLE_COLUMNS, noise_summary

        parts += [f"<h{level}>Real change vs noise</h{level}>", f'<p class="meta">{_esc(NOISE_NOTE)}</p>',
                  html_table(noise_summary(noise), NOISE_TABLE_COLUMNS)]
    return parts


def progress_pngs(sessions: pd.DataFrame, by: str = "week", metrics: Sequence[str] | None = None,
                  anonymise: bool = False, noise: pd.DataFrame | None = None,
                  origin: pd.DataFrame | None = None) -> dict[str, bytes]:
    """One PNG per progress metric (all by default), by its chart's title: the report's figures;
    `anonymise` labels their date axes with day and week numbers instead (anonymise.relabel_date_axis),
    counted from the first session of `origin` (default: `sessions`)."""
    from matplotlib.figure import Figure

    from bandlog.progress.anonymise import relabel_date_axis
    from bandlog.progress.trend_plots import PROGRESS_METRICS, progress_chart

    first = sessions if origin is None else origin
    charts: dict[str, bytes] = {}
    for metric in metrics or PROGRESS_METRICS:
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        ax = progress_chart(metric, sessions, by, ax=fig.add_subplot(), noise=noise)
        if anonymise and len(sessions):
            relabel_date_axis(ax, first["date"].min(), first["week"].min())
        charts[ax.get_title(loc="left")] = figure_png(fig)
    return charts


def progress_report(
    sessions: pd.DataFrame, by: str = "week", metrics: Sequence[str] | None = None, subtitle: str = "",
    generated: datetime | str | None = None, anonymise: bool = False, noise: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
) -> str:
    """The standard progress report: one chart per progress metric, then the tables; `anonymise` as
    bandlog.progress.anonymise says, in the tables and on the charts' date axes. Several exercises get
    a section each (trends.by_exercise), with their own noise from `reps` (reliability.noise_table;
    `noise`, when given instead, is one exercise's)."""
    from bandlog.progress.reliability import sessions_noise
    from bandlog.progress.trends import by_exercise

    groups = by_exercise(sessions)
    if len(groups) <= 1:
        if noise is None and reps is not None:
            noise = sessions_noise(reps, sessions)
        return build_report(sessions, progress_pngs(sessions, by, metrics, anonymise, noise), subtitle=subtitle,
                            generated=generated, anonymise=anonymise, noise=noise)
    sections = []
    for name, part in groups:
        part_noise = sessions_noise(reps, part) if reps is not None else None
        sections.append(ReportSection(name, part, progress_pngs(part, by, metrics, anonymise, part_noise, origin=sessions), part_noise))
    return build_report(sessions, {}, subtitle=subtitle, generated=generated, anonymise=anonymise, sections=sections)


def write_report(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write the report (creating the folder); an existing file is kept unless `overwrite`, and a
    failure is one LogWriteError sentence."""
    data = text.encode("utf-8")
    path = write_output(Path(path), "report", lambda handle: handle.write(data), overwrite=overwrite)
    log.info("wrote report %s (%d bytes)", path, len(text))
    return path
