"""What `--anonymise` leaves out of an export or a progress report, so it can be shared with a clinician.

Kept in one place so the rep table (bandlog.progress.export), the HTML report and the charts
(bandlog.progress.report) remove the same things and say so in the same words: the person's name,
file paths, start times, notes and device names and addresses go; dates become day and week numbers
counted from the first session shown (its day is day 1, its Monday-to-Sunday week is week 1). Band
names, the exercise, the plan and every measurement stay as recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

ANONYMISED_NOTE = (
    "Anonymised by bandlog: the person's name, file paths, start times, notes and device names and addresses "
    "are left out, and dates are given as day and week numbers counted from the first session shown "
    "(day 1, and week 1 for its Monday-to-Sunday week); band names, the exercise, the plan and the measurements "
    "are as recorded."
)
"""The words every anonymised output carries (CSV first line, Parquet metadata, report footer)."""
DAYS_PER_WEEK = 7


def day_numbers(dates: pd.Series, first: pd.Timestamp) -> pd.Series:
    """Each date as its day number, `first` being day 1 (int64)."""
    import pandas as pd

    return ((pd.to_datetime(dates).dt.normalize() - first.normalize()).dt.days + 1).astype("int64")


def week_numbers(weeks: pd.Series, first_week: pd.Timestamp) -> pd.Series:
    """Each week (its Monday) as its week number, `first_week` being week 1 (int64)."""
    import pandas as pd

    return ((pd.to_datetime(weeks).dt.normalize() - first_week.normalize()).dt.days // DAYS_PER_WEEK + 1).astype("int64")


def session_table(sessions: pd.DataFrame) -> pd.DataFrame:
    """The sessions table with `date` as "day N" and `week` as "week N", and no path, start time or
    file hash: what the anonymised report's session table shows."""
    first, first_week = sessions["date"].min(), sessions["week"].min()
    kept = sessions.drop(columns=[c for c in ("path", "start_utc", "sha256") if c in sessions])
    return kept.assign(date="day " + day_numbers(sessions["date"], first).astype(str),
                       week="week " + week_numbers(sessions["week"], first_week).astype(str))


def relabel_date_axis(ax: Axes, first_day: pd.Timestamp, first_week: pd.Timestamp) -> None:
    """Replace a chart's date ticks by day numbers (or week numbers, on a weekly chart, whose ticks are
    Mondays), counted as in the anonymised tables; the data drawn is unchanged."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    label = ax.get_xlabel()
    weekly = label.startswith("week starting")
    origin = mdates.date2num(first_week if weekly else first_day)

    def number(x: float, _position: int | None = None) -> str:
        if weekly:
            return f"week {round((x - origin) / DAYS_PER_WEEK) + 1}"
        return f"day {int(x - origin) + 1}"

    ax.xaxis.set_major_formatter(FuncFormatter(number))
    if weekly:
        ax.set_xlabel(label.replace("week starting", "week (1 = the first week)", 1), fontsize=ax.xaxis.label.get_fontsize())
