"""The pipeline Sink behind the live view: updates one model, then lets each front end draw if due.

Each callback does O(block) model work and at most one paced frame per front end; a front end that
fails (a closed window, a broken terminal) is dropped with a warning, and the recording goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from bandlog.coach import CoachView, ControlLost, RestEnded, SetEnded
from bandlog.core.errors import BandlogError
from bandlog.core.events import Event
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Kinematics, Sink
from bandlog.core.results import RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus
from bandlog.live.cue import LiveCue
from bandlog.live.model import LiveModel

log = logging.getLogger(__name__)


class FrontEnd(Protocol):
    name: str

    def frame(self) -> bool: ...

    def draw_final(self) -> None: ...

    def close(self) -> None: ...

    def stats(self) -> dict[str, float]: ...


class LiveSink(Sink):
    """One model, any number of front ends, optional audible cues and an optional PNG snapshot."""

    def __init__(self, model: LiveModel, views: Sequence[FrontEnd] = (), cue: LiveCue | None = None,
                 snapshot: str | Path | None = None) -> None:
        self.model = model
        self.views = list(views)
        self.cue = cue
        self.snapshot = Path(snapshot) if snapshot is not None else None
        self.snapshot_error: str | None = None
        self._closed = False

    # --- pipeline callbacks: update the model, then maybe draw ---

    def on_start(self, meta: RecordingMeta) -> None:
        self.model.start(meta)
        self._tick()

    def on_samples(self, block: SampleBlock) -> None:
        read_s = self.model.now_s  # every earlier block has been through the detector
        self.model.add_samples(block)
        if self.cue is not None and read_s is not None:
            self.cue.read_until(self.model, read_s)
        self._tick()

    def on_kinematics(self, kinematics: Kinematics) -> None:
        self.model.add_kinematics(kinematics)
        self._tick()

    def on_events(self, events: Sequence[Event]) -> None:
        for event in events:  # one at a time: the cues due before each was detected are decided without it
            if self.cue is not None:
                self.cue.before_event(self.model, event.detected_at_s)
            self.model.add_events([event])
        self._tick()

    def on_coach(self, events: Sequence[object], view: CoachView | None) -> None:
        """The plan's state for every view, and its sounds: a set or the rest over, control lost."""
        self.model.add_coach(events, view)
        if self.cue is not None:
            for event in events:
                if isinstance(event, SetEnded):
                    self.cue.set_ended(event.detected_at_s)
                elif isinstance(event, RestEnded):
                    self.cue.rest_ended(event.t_s)  # the planned instant (its deadline, never in the past of the stream)
                elif isinstance(event, ControlLost):
                    self.cue.control_lost(event.detected_at_s)
        self._tick()

    def on_status(self, status: LinkStatus) -> None:
        self.model.set_status(status)
        self._tick()

    def on_gap(self, gap: Gap) -> None:
        self.model.add_gap(gap)
        self._tick()

    def on_end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        if self.cue is not None:
            self.cue.read_all(self.model)
        self.model.end(summary, reps)
        for view in list(self.views):
            self._guard(view, view.draw_final)
        self._write_snapshot()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.cue is not None:
            self.cue.close(self.model)
        for view in self.views:
            try:
                view.close()
            except Exception as error:  # a GUI toolkit can fail in any way at teardown; never lose the recording over it
                log.warning("live view %s did not close cleanly: %s", view.name, error)
        for view in self.views:
            log.info("live view %s: %s", view.name, view.stats())

    # --- helpers ---

    def _tick(self) -> None:
        for view in list(self.views):
            self._guard(view, view.frame)

    def _guard(self, view: FrontEnd, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as error:  # drawing must never stop a recording: drop the view, keep the data
            log.warning("live view %s stopped drawing: %s", view.name, error)
            self.views.remove(view)

    def _write_snapshot(self) -> None:
        if self.snapshot is None:
            return
        saver = next((v for v in self.views if hasattr(v, "save")), None)
        if saver is None:
            self.snapshot_error = "no matplotlib view to take the snapshot from"
            log.error("live-view snapshot not written: %s", self.snapshot_error)
            return
        try:
            saver.save(self.snapshot)
            log.info("live-view snapshot written to %s", self.snapshot)
        except BandlogError as error:
            self.snapshot_error = str(error)
            log.error("%s", error)

    def hold(self) -> None:
        """For the CLI, after the pipeline finished: keep an open window until the user closes it."""
        for view in self.views:
            hold = getattr(view, "hold", None)
            if hold is not None:
                hold()

    def stats(self) -> dict[str, dict[str, float]]:
        return {view.name: view.stats() for view in self.views}
