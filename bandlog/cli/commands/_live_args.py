"""Live-view options shared by record, replay and demo (underscored: not a verb)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse

    from bandlog.core.pipeline import Sink


def add_live_arguments(parser: argparse.ArgumentParser, default_view: str = "auto") -> None:
    from pathlib import Path

    parser.add_argument(
        "--view",
        choices=("auto", "window", "tui", "none"),
        default=default_view,
        help=f"live view: a window, the terminal dashboard, or none (default: {default_view}; auto picks the window when a display exists)",
    )
    parser.add_argument("--tui", dest="view", action="store_const", const="tui", help="same as --view tui")
    parser.add_argument("--quiet", action="store_true", help="no audible tick during the eccentric")
    parser.add_argument("--snapshot", type=Path, metavar="FILE.png", help="save the final live view as a PNG")


def live_sinks(args: argparse.Namespace, target_ecc_s: float) -> list[Sink]:
    """The live-view sink the options ask for (none for --view none without --snapshot)."""
    if args.view == "none" and args.snapshot is None:
        return []
    from bandlog.live import make_live_sink

    return [make_live_sink(kind=args.view, quiet=args.quiet, snapshot=args.snapshot, target_ecc_s=target_ecc_s)]


def hold_windows(sinks: list[Sink]) -> None:
    """After a recording or replay: keep an interactive window open until the user closes it."""
    for sink in sinks:
        hold = getattr(sink, "hold", None)
        if hold is not None:
            hold()
