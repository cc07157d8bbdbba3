"""Live view of a recording or replay: one model of what to show, two front ends.

    make_live_sink(kind="auto") -> LiveSink   # add it to Pipeline(sinks=[...])

"window" is a matplotlib figure redrawn with blitting; "tui" a rich dashboard in the terminal;
"auto" picks the window when a display is available, else the terminal; "none" draws nothing live
(but still writes `snapshot` at the end if asked). matplotlib and rich load only when used.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from bandlog.core.errors import ConfigError
from bandlog.live.cue import TickCue, terminal_bell
from bandlog.live.model import LiveModel
from bandlog.live.sink import FrontEnd, LiveSink

log = logging.getLogger(__name__)

KINDS = ("auto", "window", "tui", "none")
WINDOW_FPS = 30.0
TUI_FPS = 8.0
_OFFSCREEN_BACKENDS = {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"}

__all__ = ["KINDS", "LiveModel", "LiveSink", "display_available", "make_live_sink"]


def _backend_forced_offscreen(env: Mapping[str, str]) -> bool:
    return env.get("MPLBACKEND", "").strip().lower() in _OFFSCREEN_BACKENDS


def display_available(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether a window can be shown: not with MPLBACKEND=Agg, not on Linux/BSD without DISPLAY/WAYLAND_DISPLAY."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if _backend_forced_offscreen(env):
        return False
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def _interactive_backend_loaded() -> bool:
    import matplotlib.pyplot as plt
    from matplotlib.backends import BackendFilter, backend_registry

    non_interactive = {b.lower() for b in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)}
    return plt.get_backend().lower() not in non_interactive


def _window(model: LiveModel, interactive: bool, live_frames: bool = True) -> FrontEnd:
    from bandlog.live.mpl_view import MplView

    return MplView(model, fps=WINDOW_FPS, interactive=interactive, live_frames=live_frames)


def _check_snapshot(snapshot: str | os.PathLike[str] | None) -> Path | None:
    if snapshot is None:
        return None
    path = Path(snapshot).expanduser()
    if path.suffix.lower() != ".png":
        raise ConfigError(f"the snapshot must be a .png file, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ConfigError(f"the snapshot folder {str(path.parent)!r} does not exist")
    return path


def make_live_sink(
    kind: str = "auto",
    quiet: bool = False,
    snapshot: str | os.PathLike[str] | None = None,
    target_ecc_s: float = 3.0,
) -> LiveSink:
    """A pipeline sink that shows the recording live; `quiet` silences the per-second eccentric tick.

    The recording's own target (RecordingMeta.target_ecc_s), when it arrives, replaces `target_ecc_s`.
    Raises ConfigError for an unknown kind, a non-positive target, a bad snapshot path, or
    kind="window" without a display (unless MPLBACKEND names an offscreen backend such as Agg) or
    without a GUI toolkit for matplotlib.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown live view {kind!r}; choose one of {', '.join(KINDS)}")
    if not target_ecc_s > 0:
        raise ConfigError(f"the target eccentric time must be positive, got {target_ecc_s!r} s")
    snapshot_path = _check_snapshot(snapshot)
    model = LiveModel(target_ecc_s=target_ecc_s)
    views: list[FrontEnd] = []
    bell = None
    if kind == "auto":
        kind = "window" if display_available() and _interactive_backend_loaded() else "tui"
        log.info("live view: %s", kind)
    if kind == "window":
        if display_available():
            if not _interactive_backend_loaded():  # matplotlib would fall back to Agg: no window, one warning
                raise ConfigError(
                    "matplotlib has no GUI toolkit to open a window with (install tkinter, e.g. the python3-tk "
                    "package, or PyQt); use --view tui for the terminal view"
                )
            views.append(_window(model, interactive=True))
        elif _backend_forced_offscreen(os.environ):
            views.append(_window(model, interactive=False))
        else:
            raise ConfigError("no display for a live window (DISPLAY and WAYLAND_DISPLAY are unset); use the terminal view")
        bell = terminal_bell()
    elif kind == "tui":
        from bandlog.live.tui import TuiView

        tui = TuiView(model, fps=TUI_FPS)
        views.append(tui)
        bell = tui.bell if tui.console.is_terminal else None
    if snapshot_path is not None and not any(hasattr(v, "save") for v in views):
        views.append(_window(model, interactive=False, live_frames=False))
    cue = TickCue(None if quiet else bell)
    return LiveSink(model, views, cue=cue, snapshot=snapshot_path)
