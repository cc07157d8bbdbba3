"""What the user sends during a recording (set ratings, from the phone page or the keyboard): pushed
into the recording's pipeline like a source item, so the log, the live view and a replay see it in
its place.

Any thread may `submit()` (the web view's server runs on its own): the rating is handed to the
pipeline's event loop and dated with the device time of the last sample the pipeline had then, so a
replay of the log puts it back there. One that arrives before the first sample or after the end is
refused, counted and logged.
"""

from __future__ import annotations

import asyncio
import logging

from bandlog.core.errors import ConfigError
from bandlog.core.pipeline import Pipeline
from bandlog.core.results import SetRating

log = logging.getLogger(__name__)


class UserInput:
    """The user's set ratings for one recording's pipeline."""

    def __init__(self) -> None:
        self._pipeline: Pipeline | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.accepted = 0
        self.refused = 0

    def attach(self, pipeline: Pipeline, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver into `pipeline`, on `loop` (the one that runs it)."""
        self._pipeline, self._loop = pipeline, loop

    def submit(self, set_number: int, rpe: int | None, pain: int | None) -> None:
        """Hand a rating over, from any thread; it enters the pipeline on its loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._refuse("the recording is not running")
            return
        loop.call_soon_threadsafe(self._deliver, set_number, rpe, pain)

    def _deliver(self, set_number: int, rpe: int | None, pain: int | None) -> None:
        pipeline = self._pipeline
        if pipeline is None or pipeline.finished:
            self._refuse("the recording has ended")
            return
        if pipeline.last_sample_t_s is None:
            self._refuse("it came before the first sample")
            return
        try:
            rating = SetRating(set_number, rpe, pain, pipeline.last_sample_t_s)
        except ConfigError as error:
            self._refuse(str(error))
            return
        pipeline.push(rating)
        self.accepted += 1

    def _refuse(self, why: str) -> None:
        self.refused += 1
        log.warning("set rating refused: %s", why)
