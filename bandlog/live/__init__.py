"""Live view of a recording or replay: one model of what to show, two front ends.

    make_live_sink(kind="auto") -> LiveSink   # add it to Pipeline(sinks=[...])

"window" is a matplotlib figure redrawn with blitting; "tui" a rich dashboard in the terminal; "web"
a page served to a browser (the phone beside the user);
"auto" picks the window when a display is available, else the terminal; "none" draws nothing live
(but still writes `snapshot` at the end if asked). matplotlib and rich load only when used.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from bandlog.core.errors import ConfigError
from bandlog.live.cue import LiveCue
from bandlog.live.cue_player import CuePlayer, open_player, terminal_bell
from bandlog.live.model import LiveModel
from bandlog.live.sink import FrontEnd, LiveSink
from bandlog.live.web_protocol import RatingCallback

log = logging.getLogger(__name__)

KINDS = ("auto", "window", "tui", "web", "none")
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


def _check_output(value: str | os.PathLike[str] | None, suffix: str, what: str) -> Path | None:
    """A file the live sink writes at the end: the right suffix, in a folder that exists (checked before recording)."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{what} must be a {suffix} file, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ConfigError(f"{what} folder {str(path.parent)!r} does not exist")
    return path


def _cue(quiet: bool, audible: bool, bell: Callable[[], None] | None, cue_wav: Path | None) -> LiveCue:
    """Live sound only where someone watches (a terminal, a window): never from tests or --view none."""
    player: CuePlayer | None = None
    if quiet:
        note = "cue sounds off (--quiet)"
    elif not audible:
        note = "no cue sounds: no live view in a terminal or window"
    else:
        player, note = open_player(bell)
    return LiveCue(player, note, wav_path=cue_wav)


def make_live_sink(
    kind: str = "auto",
    quiet: bool = False,
    snapshot: str | os.PathLike[str] | None = None,
    target_ecc_s: float = 3.0,
    cue_wav: str | os.PathLike[str] | None = None,
    web_lan: bool = False,
    web_port: int | None = None,
    on_rating: RatingCallback | None = None,
    exercise: str | None = None,
) -> LiveSink:
    """A pipeline sink that shows the recording live, with audible cues unless `quiet`.

    Cue sounds go through sounddevice (PortAudio) when it loads and has an output device, else the
    terminal bell; `sink.cue.note` says which and why. `cue_wav`: write the session's cue track there
    at the end (also with `quiet`).

    kind="web" serves the view to a browser (see bandlog.live.web): on 127.0.0.1, or with `web_lan`
    on every interface behind a token; on `web_port` or a free port. A rating tapped on the page calls
    `on_rating(set_number, rpe, pain)` on the pipeline's thread; the plan's state reaches it through the model.

    The recording's own target (RecordingMeta.target_ecc_s), when it arrives, replaces `target_ecc_s`;
    its exercise picks how the views label the angle and the force, unless `exercise` (a profile key, as
    given to the detector) says otherwise.
    Raises ConfigError for an unknown kind, a non-positive target, a bad snapshot path, or
    kind="window" without a display (unless MPLBACKEND names an offscreen backend such as Agg) or
    without a GUI toolkit for matplotlib.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown live view {kind!r}; choose one of {', '.join(KINDS)}")
    if not target_ecc_s > 0:
        raise ConfigError(f"the target eccentric time must be positive, got {target_ecc_s!r} s")
    if kind != "web" and (web_lan or web_port is not None):
        raise ConfigError("--web-lan and --web-port are options of the web view: add --view web")
    if web_port is not None and not 0 <= web_port <= 65535:
        raise ConfigError(f"the web view's port must be from 0 to 65535, got {web_port}")
    snapshot_path = _check_output(snapshot, ".png", "the snapshot")
    cue_wav_path = _check_output(cue_wav, ".wav", "the cue track")
    audible = False
    model = LiveModel(target_ecc_s=target_ecc_s, exercise=exercise)
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
            audible = True
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
        audible = tui.console.is_terminal
    elif kind == "web":
        from bandlog.live.web import WebView

        views.append(WebView(model, lan=web_lan, port=web_port or 0, on_rating=on_rating))
        bell = terminal_bell()
        audible = True  # the laptop sounds the cues while the phone shows the view
    if snapshot_path is not None and not any(hasattr(v, "save") for v in views):
        views.append(_window(model, interactive=False, live_frames=False))
    return LiveSink(model, views, cue=_cue(quiet, audible, bell, cue_wav_path), snapshot=snapshot_path)
