"""How a sensor's lost notifications are known is said with their number: counted (a counter or a
clock), estimated (arrival times), or not countable (host-timed: a loss leaves no trace, so a 0
used to read as a clean link)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bandlog import cli
from bandlog.core.status import LinkState, LinkStatus, link_summary, losses_phrase


@pytest.mark.parametrize(
    ("device", "speed", "expected"),
    [
        ("sig-force", "1", "link: lost notifications: not countable (the sensor sends no counter or clock)"),
        ("witmotion", "1", "notifications lost (estimated from arrival times)"),
        ("progressor", "4", "link: 0 notifications lost"),
    ],
)
def test_the_end_of_a_recording_says_how_its_losses_are_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], device: str, speed: str, expected: str
) -> None:
    argv = ["--data-dir", str(tmp_path), "record", "--emulate", "--device", device, "--duration", "2", "--speed", speed,
            "--view", "none", "--leg", "left", "--out", str(tmp_path / "set.csv")]
    assert cli.main(argv) == 0
    assert expected in capsys.readouterr().out


def test_link_words() -> None:
    status = LinkStatus(LinkState.ENDED, dropped_packets=1, losses="estimated", corrupted_packets=2, reconnects=1)
    assert losses_phrase(status) == "~1 notification lost (estimated from arrival times)"
    assert link_summary(status) == "~1 notification lost (estimated from arrival times), 2 damaged, 1 reconnect"
    assert losses_phrase(LinkStatus(LinkState.ENDED, dropped_packets=3)) == "3 notifications lost"
