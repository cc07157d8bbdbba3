"""The whole history as one tidy table, one row per rep, for a spreadsheet, R or pandas (`bandlog export`).

Built from the session index (refreshed by the caller first, as for `sessions` and `progress`), so an
export never re-analyses a log. Each row carries who (`person`), which session (`session`, numbered
oldest first, its `path`, `date`, `week`, `start_utc`), what was done (`leg`, `exercise`, `band`,
`plan`, `target_ecc_s`, the session's `rpe` and `pain`), the `set`, and every rep metric
(bandlog.core.results.REP_COLUMNS). bandlog has no person field: `person` is the log header's
`extra.person` when there is one (read from the header alone), else the data folder's name, one data
folder per person being how bandlog keeps people apart; how many sessions got the folder's name is
counted, and so is every header that could not be read. `anonymised` turns the table into what
bandlog.progress.anonymise says may be shared.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bandlog.core.errors import BandlogError
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import REP_COLUMNS
from bandlog.detect.explain import counted
from bandlog.io.read import read_meta
from bandlog.progress.anonymise import day_numbers, week_numbers
from bandlog.progress.band_session import BAND_REP_COLUMNS
from bandlog.progress.index_read import load_reps, load_sessions

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

PERSON_KEY = "person"
"""The header key (`# extra.person: NAME`) naming whose session a log is."""
SESSION_COLUMNS: tuple[str, ...] = (
    "person", "session", "date", "week", "start_utc", "path", "leg", "exercise", "band", "plan", "target_ecc_s",
    "rpe", "pain", "set",
)
"""What each row says about its session and set, before the rep's own REP_COLUMNS."""
EXPORT_COLUMNS: tuple[str, ...] = (*SESSION_COLUMNS, *REP_COLUMNS, *BAND_REP_COLUMNS)
ANONYMISED_COLUMNS: tuple[str, ...] = (
    "session", "day", "week", *(c for c in EXPORT_COLUMNS if c not in ("person", "session", "date", "week", "start_utc", "path")),
)
"""An anonymised table's columns: no person, path or start time; `day` and `week` numbered from 1."""
TEXT_COLUMNS = ("person", "start_utc", "path", "leg", "exercise", "band", "plan", "tempo", "flags")


@dataclass(frozen=True)
class RepExport:
    """The table and what the user should know about how it was made."""

    table: pd.DataFrame
    sessions: int
    """Sessions the filters kept, with or without reps."""
    sessions_without_reps: int
    """Of those, sessions with no rep (so no row)."""
    person_from_folder: int
    """Sessions whose person is the data folder's name: no `extra.person` in their header."""
    unread_headers: tuple[str, ...] = ()
    """Logs (index paths) whose header could not be read (deleted or damaged since indexing): folder's name too."""
    folder: str = ""
    """The data folder's name: the person of a log that names none."""

    def notes(self) -> list[str]:
        """One sentence for each thing guessed or left out."""
        lines = []
        if self.sessions_without_reps:
            lines.append(f"{counted(self.sessions_without_reps, 'session')} with no rep {'has' if self.sessions_without_reps == 1 else 'have'} no row")
        if self.person_from_folder:
            lines.append(f"person is the data folder's name, {self.folder!r}, for {counted(self.person_from_folder, 'session')} "
                         f"whose log names no person (no '# extra.{PERSON_KEY}:' header line)")
        if self.unread_headers:
            lines.append(f"could not read the header of {counted(len(self.unread_headers), 'log')} "
                         f"({', '.join(self.unread_headers)}): person is the data folder's name, {self.folder!r}")
        return lines


def rep_export(
    home: Path, *, leg: str | None = None, since: date | str | None = None, exercise: str | None = None,
    anonymise: bool = False, meta_of: Callable[[Path], RecordingMeta | None] = read_meta,
) -> RepExport:
    """Every indexed rep of the data folder `home` (filtered by leg, start date and exercise profile key) as one tidy table;
    `anonymise` gives bandlog.progress.anonymise's table (no header is read then). The index is read as it
    is: refresh it first (bandlog.progress.index.update_index)."""
    sessions = load_sessions(home, leg=leg, since=since, exercise=exercise)
    reps = load_reps(home, leg=leg, since=since, exercise=exercise)
    folder = Path(os.path.abspath(home)).name
    persons: dict[str, str] = {}
    unread: list[str] = []
    if not anonymise:
        for path in sessions["path"]:
            try:
                meta = meta_of(Path(home) / path)
            except BandlogError as error:
                log.warning("person of %s taken from the data folder: %s", path, error)
                unread.append(path)
                continue
            if meta is not None and meta.extra.get(PERSON_KEY, "").strip():
                persons[path] = meta.extra[PERSON_KEY].strip()
    table = tidy_reps(reps, sessions, persons, default_person=folder)
    with_reps = set(reps["session_id"]) if len(reps) else set()
    return RepExport(
        table=anonymised(table) if anonymise else table,
        sessions=len(sessions),
        sessions_without_reps=int((~sessions["id"].isin(with_reps)).sum()) if len(sessions) else 0,
        person_from_folder=0 if anonymise else len(sessions) - len(persons) - len(unread),
        unread_headers=tuple(unread),
        folder=folder,
    )


def tidy_reps(reps: pd.DataFrame, sessions: pd.DataFrame, persons: Mapping[str, str], default_person: str) -> pd.DataFrame:
    """load_reps' rows joined with load_sessions' session columns, in EXPORT_COLUMNS order, oldest session
    first; `persons` maps a session's path to its person (else `default_person`). Pure."""
    import pandas as pd

    numbered = sessions.assign(session=pd.Series(range(1, len(sessions) + 1), index=sessions.index, dtype="int64"))
    numbered = numbered.assign(person=numbered["path"].map(lambda p: persons.get(p, default_person)) if len(numbered) else "")
    per_session = [c for c in SESSION_COLUMNS if c != "set"]
    table = reps[["session_id", "set", *REP_COLUMNS, *BAND_REP_COLUMNS]].merge(
        numbered[["id", *per_session]], how="left", left_on="session_id", right_on="id", validate="many_to_one",
    )
    table = table[list(EXPORT_COLUMNS)].reset_index(drop=True)
    kinds: dict[str, str] = {c: "str" for c in TEXT_COLUMNS}
    kinds.update({c: "int64" for c in ("session", "set", "rep", "stalls")})
    kinds.update({c: "float64" for c in ("target_ecc_s", "rpe", "pain", *BAND_REP_COLUMNS)})
    kinds["estimated"] = "bool"
    return table.astype(kinds)


def anonymised(table: pd.DataFrame) -> pd.DataFrame:
    """An EXPORT_COLUMNS table as ANONYMISED_COLUMNS: no person, path or start time, dates as day and
    week numbers from the first session (see bandlog.progress.anonymise.ANONYMISED_NOTE). Pure."""
    if table.empty:
        return table.assign(day=table["session"], week=table["session"])[list(ANONYMISED_COLUMNS)]  # int64 columns
    numbered = table.assign(day=day_numbers(table["date"], table["date"].min()),
                            week=week_numbers(table["week"], table["week"].min()))
    return numbered[list(ANONYMISED_COLUMNS)]
