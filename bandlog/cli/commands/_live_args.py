"""Live-view options shared by record, replay and demo (underscored: not a verb)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse

    from bandlog.core.pipeline import Sink
    from bandlog.live.web_protocol import RatingCallback


def add_live_arguments(parser: argparse.ArgumentParser, default_view: str = "auto") -> None:
    from pathlib import Path

    parser.add_argument(
        "--view",
        choices=("auto", "window", "tui", "web", "none"),
        default=default_view,
        help=f"live view: a window, the terminal dashboard, a page for a browser or phone (web), or none "
             f"(default: {default_view}; auto picks the window when a display exists)",
    )
    parser.add_argument("--tui", dest="view", action="store_const", const="tui", help="same as --view tui")
    parser.add_argument("--quiet", action="store_true", help="no cue sounds (metronome tick, target chime, set and rest ends)")
    parser.add_argument(
        "--cue-wav", type=Path, metavar="FILE.wav",
        help="write the session's cue sounds, each at its moment, to this WAV at the end (also with --quiet)",
    )
    parser.add_argument("--snapshot", type=Path, metavar="FILE.png", help="save the final live view as a PNG")
    parser.add_argument("--web-lan", action="store_true",
                        help="with --view web: share the page on the local network (a random token in the URL, shown as a QR code)")
    parser.add_argument("--web-port", type=int, metavar="PORT", help="with --view web: listen on this port (default: a free one)")


def live_sinks(args: argparse.Namespace, target_ecc_s: float, on_rating: RatingCallback | None = None) -> list[Sink]:
    """The live-view sink the options ask for (none for --view none without --snapshot or --cue-wav).

    `on_rating(set_number, rpe, pain)` stores a rating tapped on the web page (--view web only); the
    plan's state (set, rep, rest) reaches every view through the pipeline (LiveSink.on_coach)."""
    if args.view == "none" and args.snapshot is None and args.cue_wav is None:
        return []
    from bandlog.live import make_live_sink

    sink = make_live_sink(kind=args.view, quiet=args.quiet, snapshot=args.snapshot, target_ecc_s=target_ecc_s,
                          cue_wav=args.cue_wav, web_lan=args.web_lan, web_port=args.web_port, on_rating=on_rating,
                          exercise=getattr(args, "exercise", None))  # replay's --exercise over the header's, as the detector
    announce_web(sink)
    return [sink]


def announce_web(sink: Sink) -> None:
    """Print where the web view is (and, shared on the network, its URL as a QR code for the phone)."""
    for view in getattr(sink, "views", ()):
        if getattr(view, "name", None) != "web":
            continue
        if view.lan:
            print(f"live view for your phone (same network): {view.url}")
            print(view.qr_text(), end="")
            print(f"on this machine: {view.local_url}")
        else:
            print(f"live view: open {view.url} in a browser on this machine (add --web-lan for a phone)")


def cue_lines(sinks: list[Sink]) -> list[str]:
    """What the cues did, for the CLI to print after a recording or replay: how they sounded (and why
    the bell or nothing), their counts, and where the cue track went or why it did not."""
    lines = []
    for sink in sinks:
        cue = getattr(sink, "cue", None)
        if cue is None:
            continue
        lines += [cue.note, cue.summary()]
        if cue.wav is not None:
            lines.append(f"cue track written to {cue.wav.path} ({cue.wav.duration_s:.1f} s, {cue.wav.rate_hz} Hz)")
        elif cue.wav_error is not None:
            lines.append(f"cue track not written: {cue.wav_error}")
    return lines


def hold_windows(sinks: list[Sink]) -> None:
    """After a recording or replay: keep an interactive window open until the user closes it."""
    for sink in sinks:
        hold = getattr(sink, "hold", None)
        if hold is not None:
            hold()
