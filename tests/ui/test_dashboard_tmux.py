"""The terminal dashboard in a real terminal: tmux panes of 60x24, 80x24 and 120x40, read back with capture-pane.

Each test owns a tmux server (its socket in tmp_path; no status line, so the pane is the whole size) and
types into it as a user would: keys over the running dashboard, then Ctrl-C.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from bandlog.app.api import analyze, read_log
from bandlog.core.results import NO_TEMPO, RepMetrics, SetSummary
from bandlog.live.model import LiveModel
from bandlog.live.tui import render, spark_width

TIMEOUT_S = 25.0
TIMER = re.compile(r"eccentric: (\d+\.\d s|--) / target 3\.0 s")
EXIT_MARK = "; echo bandlog-exit=$?"
"""Appended to a command line: the shell, not tmux, reports the exit status (tmux 3.3 sometimes never
reaps a pane's process when its server was started from a process that blocks SIGCHLD)."""
EXIT = re.compile(r"^bandlog-exit=(\d+)", re.M)
LAST_REP = re.compile(r"last rep #(\d+): \d+\.\d s (slow|moderate|fast), peak \d+ N, ROM \d+ deg")


class Terminal:
    """One tmux server and one window of a fixed size."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        config = tmp_path / "tmux.conf"
        config.write_text("set -g status off\nset -g remain-on-exit on\nset -g history-limit 5000\n")
        self.base = ["tmux", "-S", str(tmp_path / "tmux.sock"), "-f", str(config)]
        self.env = env

    def tmux(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True, timeout=10, check=True)
        return done.stdout

    def type_command(self, width: int, height: int, *bandlog_args: str) -> None:
        """Open a shell in a window of width x height and type `bandlog ARGS` at its prompt."""
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), "bash --norc --noprofile")
        self.keys(" ".join([sys.executable, "-m", "bandlog", *bandlog_args]) + EXIT_MARK, "Enter")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "t").splitlines()

    def history(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-").splitlines()  # -J: lines the terminal wrapped, joined

    def wait_for(self, what: str, seen: re.Pattern[str], while_running: bool = True) -> re.Match[str]:
        """The first match of `seen` on the screen; fails after TIMEOUT_S, or at once if bandlog has ended
        (`while_running`) without showing it."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            screen = "\n".join(self.screen())
            found = seen.search(screen)
            if found:
                return found
            if while_running and EXIT.search(screen):
                break
            time.sleep(0.05)
        pytest.fail(f"{what} never appeared; the pane shows:\n" + "\n".join(self.history()))

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], env=self.env, capture_output=True, timeout=10, check=False)


@pytest.fixture
def terminal(tmux_ready: None, tmp_path: Path, user_env: dict[str, str]) -> Iterator[Terminal]:
    term = Terminal(tmp_path, user_env)
    yield term
    term.close()


def panel(lines: list[str]) -> list[str]:
    """The dashboard's lines, from its top border to its bottom border (the last dashboard drawn)."""
    top = max(i for i, line in enumerate(lines) if line.startswith("╭─ bandlog"))
    bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("╰"))
    return lines[top:bottom + 1]


def assert_fits(box: list[str], width: int) -> None:
    """Every line is one whole row of the box: nothing wrapped onto the next row, nothing cut with '…'."""
    for line in box[1:-1]:
        assert len(line) == width and line[0] == "│" and line[-1] == "│", f"a torn row at {width} columns: {line!r}"
    assert all("…" not in line for line in box), "\n".join(box)


@pytest.mark.parametrize(("width", "height"), [(60, 24), (80, 24), (120, 40)])
def test_dashboard_fits_the_terminal_and_shrugs_off_typed_keys(
        terminal: Terminal, sim_log: Path, width: int, height: int) -> None:
    terminal.type_command(width, height, "replay", str(sim_log), "--tui", "--quiet", "--speed", "8")
    terminal.wait_for("a finished rep on the live dashboard", LAST_REP)
    terminal.keys("q", "Enter", "x", "Enter")  # a user pressing keys at the dashboard: never echoed, never run
    time.sleep(0.5)
    live = panel(terminal.screen())
    assert_fits(live, width)
    text = "\n".join(live)
    assert re.match(r"╭─ bandlog  reps [1-9]", live[0]) and TIMER.search(text) and LAST_REP.search(text), text
    force_row = next(line for line in live if line.startswith("│    force "))
    assert re.search("[▁▂▃▄▅▆▇█]{10}", force_row), "the force sparkline is drawn"
    assert "samples/s" in text and "link: replaying" in text

    assert terminal.wait_for("the end of the replay", EXIT).group(1) == "0", "\n".join(terminal.history())
    time.sleep(0.3)  # the shell would run the typed keys now
    history = terminal.history()
    assert sum(line.startswith("╭─ bandlog") for line in history) == 1, "the dashboard redraws in place, leaving no copies"
    assert not any("command not found" in line for line in history), "\n".join(history)
    final = panel(history)
    assert_fits(final, width)
    reps = analyze(read_log(sim_log)).summary["reps"]
    assert f"reps {reps} " in final[0]
    rows = [line for line in final if re.match(r"│ │ +\d+ │ +(\d+\.\d|--) │ [a-z]+ +│ +(\d+|--) │ +(\d+|--) │", line)]
    assert len(rows) == reps, "\n".join(final)
    assert any(line.startswith(f"│ set: {reps} reps, TUT eccentric ") for line in final)


def test_ctrl_c_ends_a_recording_within_a_second_with_the_log_closed(terminal: Terminal, tmp_path: Path) -> None:
    log = tmp_path / "set.csv"
    terminal.type_command(80, 24, "record", "--emulate", "--device", "gdx-for", "--speed", "4", "--tui", "--quiet",
                          "--out", str(log))
    terminal.wait_for("the first rep on the dashboard", re.compile(r"reps 1 "))
    terminal.keys("C-c")
    pressed_s = time.monotonic()
    terminal.wait_for("the set rating question after Ctrl-C", re.compile(r"How was set 1\?"))
    took_s = time.monotonic() - pressed_s
    terminal.keys("Enter")  # skip it: the log is already closed
    done = terminal.wait_for("the shell prompt after the question", EXIT)
    terminal.keys("stty -a | grep -ow -- -echo || echo echo-is-on", "Enter")
    terminal.wait_for("the terminal's echo setting", re.compile(r"^(-echo|echo-is-on)$", re.M), while_running=False)
    history = "\n".join(terminal.history())
    assert done.group(1) == "0", history
    assert took_s < 1.0, f"Ctrl-C took {took_s:.2f} s"
    assert f"log written to {log}" in history and "Traceback" not in history
    assert "echo-is-on" in history, "the terminal echoes keys again"
    assert_fits(panel(history.splitlines()), 80)
    recorded = read_log(log)
    assert len(recorded.samples) > 500 and not recorded.repairs, "a whole log, closed cleanly (no cut last line)"


def test_final_rep_table_keeps_every_figure_and_flag_at_60_columns() -> None:
    """The longest flag pushed the table past 60 columns and rich cut it to 'no_eccentr…'."""
    rows = [RepMetrics(rep=k, start_s=6.0 * k, end_s=6.0 * k + 5, ecc_start_s=None, ecc_end_s=None, ecc_duration_s=None,
                       tut_tension_s=4.0, peak_force_n=140.0, mean_ecc_force_n=None, ecc_impulse_ns=None, rom_deg=103.7,
                       mean_ecc_velocity_dps=None, peak_ecc_velocity_dps=None, tempo=NO_TEMPO, stalls=0,
                       flags="isometric;no_eccentric;truncated", estimated=False) for k in (1, 2, 10)]
    model = LiveModel()
    model.end(SetSummary(reps=3, tut_ecc_s=0.0, tut_tension_s=12.0, mean_ecc_duration_s=None, peak_force_n=140.0,
                         mode="force+imu"), rows)
    console = Console(record=True, width=60, file=StringIO())
    console.print(render(model, spark_width(60)))
    box = panel(console.export_text().splitlines())
    assert_fits(box, 60)
    table = "\n".join(line for line in box if line.startswith(("│ │", "│ ┃")))
    assert re.findall(r"│ +(\d+) │ +-- │ none +│ +140 │ +104 │", table) == ["1", "2", "10"], table
    assert table.count("no_eccentric") == 3 and table.count("truncated") == 3, table
