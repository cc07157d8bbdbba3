"""Real screens for the live views: an Xvfb X server and tmux, installed from Debian when missing.

CI runs `.ci/run` as root on a fresh Debian machine where nothing was installed by hand, and `.ci/run`
only runs the README's quick-start commands, so the packages these tests need are installed here,
once per session. A test is skipped (with the reason) only when they cannot be installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import StreamInfo
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.schema import FRAME_CHANNELS

APT_TIMEOUT_S = 600.0
XVFB_SCREEN = "1280x800x24"
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "tmux": "tmux"}
"""Each program the tests run, and the Debian package that has it."""
INSTALLED: list[str] = []
"""What ensure_debian_packages installed and how long it took (it counts toward the CI time budget)."""


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=120", *args], env=env, capture_output=True,
                          text=True, timeout=APT_TIMEOUT_S, check=False)


def ensure_debian_packages(packages: list[str]) -> str | None:
    """Install `packages` with apt-get (an `apt-get update` only if the first try fails).

    Returns why they could not be installed, or None once they are. Must run as root."""
    if not packages:
        return None
    if shutil.which("apt-get") is None:
        return f"needs the Debian packages {' '.join(packages)}, and this machine has no apt-get"
    if os.geteuid() != 0:
        return f"needs the Debian packages {' '.join(packages)}; run as root, or: apt-get install {' '.join(packages)}"
    start_s = time.monotonic()
    install = ("install", "-y", "--no-install-recommends", *packages)
    done = _apt_get(*install)
    if done.returncode != 0:
        _apt_get("update")
        done = _apt_get(*install)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"apt-get install {' '.join(packages)} failed: {last}"
    INSTALLED.append(f"installed {' '.join(packages)} in {time.monotonic() - start_s:.1f} s")
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in INSTALLED:
        terminalreporter.write_line(f"tests/ui: {line}")


def _has_tkinter() -> bool:
    return subprocess.run([sys.executable, "-c", "import tkinter"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def ui_tools() -> dict[str, str]:
    """Why each tool cannot be had ('' when it is there): Xvfb, xdotool (keys, window names), tmux, and tkinter
    for matplotlib's Tk window. What is missing is installed in one apt-get run for the whole session."""
    needs_tk = not _has_tkinter()
    debian_tk = needs_tk and Path(sys.base_prefix).resolve() == Path("/usr")  # Debian's Python: python3-tk
    wanted = {tool: package for tool, package in TOOLS.items() if shutil.which(tool) is None}
    problem = ensure_debian_packages(sorted(set(wanted.values()) | ({"python3-tk"} if debian_tk else set()))) or ""
    missing = {tool: problem for tool in TOOLS if shutil.which(tool) is None}
    if needs_tk and not _has_tkinter():
        missing["tkinter"] = problem or f"this Python ({sys.base_prefix}) was built without tkinter: matplotlib has no window"
    return {tool: missing.get(tool, "") for tool in (*TOOLS, "tkinter")}


def need(ui_tools: dict[str, str], *tools: str) -> None:
    for tool in tools:
        if ui_tools[tool]:
            pytest.skip(f"{tool}: {ui_tools[tool]}")


@pytest.fixture(scope="session")
def tmux_ready(ui_tools: dict[str, str]) -> None:
    need(ui_tools, "tmux")


@pytest.fixture(scope="session")
def xvfb_display(ui_tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private X server (black root, no window manager); yields its DISPLAY, e.g. ':3'."""
    need(ui_tools, "Xvfb", "xdotool", "tkinter")
    messages = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    read_fd, write_fd = os.pipe()
    # -noreset: an X server resets when its last client leaves, and refuses connections meanwhile
    with messages.open("wb") as log_file:
        server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp",
                                   "-br", "-noreset"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=log_file)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
    if not number:
        server.kill()
        server.wait()
        pytest.fail(f"Xvfb did not start: {messages.read_text(errors='replace').strip()[-300:]}")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def sim_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated 5-rep set of 46 s (force and IMU, 100 Hz) written as a bandlog log."""
    from bandlog.sim import random_spec, simulate_session

    block = simulate_session(random_spec(1, n_sets=1, reps_per_set=5)).record(rate_hz=100.0, channels="force+imu")
    path = tmp_path_factory.mktemp("ui") / "set.csv"
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=3.0,
                                stream=StreamInfo(profile="sim", model="simulated", sample_rate_hz=100.0,
                                                  channels=FRAME_CHANNELS)))
    sink.on_samples(block)
    sink.close()
    return path


@pytest.fixture
def user_env() -> dict[str, str]:
    """The environment a user's shell gives bandlog: the suite's MPLBACKEND=Agg and any outer display removed
    (BANDLOG_HOME stays the test's private folder)."""
    return {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY", "TMUX", "TMUX_PANE")}
