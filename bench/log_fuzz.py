"""Log-mutation fuzzing: mutated bandlog logs and foreign exports must never crash, hang or blow up memory.

    python bench/log_fuzz.py [--mutations 5000] [--seed 1] [--time-budget-s 0]

Builds four seed files from one simulated set (a bandlog log, a Tindeq, a Vernier and a generic CSV
export), then applies 1-3 random mutations per run (delete/duplicate/swap lines, flip or insert
bytes, blank a cell or make it nan/inf/huge/tiny/text, truncate, insert CR/NUL/long cells, shuffle,
reverse or equalise times, re-encode as UTF-16...) and runs `bandlog.app.api.read_log` + `analyze` on
each. Properties:

- nothing but a BandlogError is raised (anything else is a foreign exception, and is printed);
- each run (read + analyse) takes under MAX_SECONDS;
- the reader's peak memory (tracemalloc) stays under 3x the file size plus a fixed MEMORY_SLACK_B
  (the reader streams in chunks of up to 1 MB: a file of a few hundred KB is one chunk, and its
  text, encoded bytes and the parser's buffers are alive together, about 1 MB at most);
- one blanked or non-finite channel cell changes the rep count by nothing (needs the detector's
  NaN filling, SetSummary.samples_filled).

Prints mutations run, foreign exceptions, errors (one-sentence BandlogErrors), max seconds, max
memory ratio (on files of at least 100 KB) and rep-count violations. tests/faults/test_log_fuzz.py
runs a small fixed subset of the same code.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import traceback
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bandlog.core.errors import BandlogError

MAX_SECONDS = 5.0
MEMORY_RATIO = 3.0
MEMORY_SLACK_B = 1024 * 1024
RATIO_MIN_SIZE_B = 100 * 1024
N_PER_KGF = 9.80665
FORMATS = ("bandlog", "tindeq", "vernier", "generic")

Lines = list[bytes]
Mutation = Callable[[bytes, random.Random], bytes]


# --- seeds ------------------------------------------------------------------------------------------

def write_seeds(directory: Path, seed: int = 7) -> dict[str, Path]:
    """One simulated 2-rep set written as each format bandlog reads."""
    from bandlog.core.meta import RecordingMeta
    from bandlog.io.csv_log import CsvLogSink
    from bandlog.sim import random_spec, simulate_session

    block = simulate_session(random_spec(seed, n_sets=1, reps_per_set=2)).record(rate_hz=50.0, channels="force+imu")
    assert block.force_n is not None and block.acc_ms2 is not None and block.gyro_dps is not None
    paths = {name: directory / f"seed_{name}.csv" for name in FORMATS}
    for path in paths.values():
        path.unlink(missing_ok=True)
    sink = CsvLogSink(paths["bandlog"])
    sink.on_start(RecordingMeta(leg="left", band="red", target_ecc_s=3.0))
    sink.on_samples(block)
    sink.close()
    t, force, acc, gyro = block.t_s, block.force_n, block.acc_ms2, block.gyro_dps
    paths["tindeq"].write_text("time,weight\n" + "\n".join(f"{a:.4f},{f / N_PER_KGF:.3f}" for a, f in zip(t.tolist(), force.tolist())))
    axes = "XYZ"
    header = ["Run 1: Time (s)", "Run 1: Force (N)"]
    header += [f"Run 1: {a}-axis acceleration (m/s²)" for a in axes] + [f"Run 1: {a}-axis gyro (rad/s)" for a in axes]
    table = np.column_stack([t, force, acc, np.radians(gyro)])
    paths["vernier"].write_text(",".join(header) + "\n" + "\n".join(",".join(f"{v:.5g}" for v in row) for row in table.tolist()) + "\n", encoding="utf-8")
    header = ["time_ms", "force_kg"] + [f"acc_{a}_g" for a in "xyz"] + [f"gyro_{a}_dps" for a in "xyz"]
    table = np.column_stack([t * 1000, force / N_PER_KGF, acc / N_PER_KGF, gyro])
    paths["generic"].write_text(",".join(header) + "\n" + "\n".join(",".join(f"{v:.6g}" for v in row) for row in table.tolist()) + "\n")
    return paths


# --- mutations ----------------------------------------------------------------------------------------

def _lines(data: bytes) -> Lines:
    return data.split(b"\n")


def _data_indices(lines: Lines) -> list[int]:
    """Indices of sample rows: not comments, not blank, after the first such line (the column header)."""
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(b"#")]
    return rows[1:] or rows


def _on_lines(change: Callable[[Lines, list[int], random.Random], None]) -> Mutation:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        lines = _lines(data)
        rows = _data_indices(lines)
        if rows:
            change(lines, rows, rng)
        return b"\n".join(lines)

    return mutate


def _set_cell(value: bytes | Callable[[bytes, random.Random], bytes], *, time: bool | None = None) -> Mutation:
    """Replace one cell of a sample row: the time cell (time=True), a channel cell (False) or any (None)."""

    def change(lines: Lines, rows: list[int], rng: random.Random) -> None:
        i = rng.choice(rows)
        cells = lines[i].split(b",")
        if time is True:
            j = 0
        elif time is False and len(cells) > 1:
            j = rng.randrange(1, len(cells))
        else:
            j = rng.randrange(len(cells))
        cells[j] = value(cells[j], rng) if callable(value) else value
        lines[i] = b",".join(cells)

    return _on_lines(change)


def _delete_line(lines: Lines, rows: list[int], rng: random.Random) -> None:
    del lines[rng.choice(rows)]


def _duplicate_line(lines: Lines, rows: list[int], rng: random.Random) -> None:
    i = rng.choice(rows)
    lines.insert(i, lines[i])


def _swap_lines(lines: Lines, rows: list[int], rng: random.Random) -> None:
    i, j = rng.choice(rows), rng.choice(rows)
    lines[i], lines[j] = lines[j], lines[i]


def _swap_adjacent(lines: Lines, rows: list[int], rng: random.Random) -> None:
    i = rng.choice(rows)
    if i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]


def _block(rows: list[int], rng: random.Random) -> tuple[int, int]:
    start = rng.randrange(len(rows))
    return rows[start], rows[min(len(rows) - 1, start + rng.randint(2, 200))] + 1


def _reverse_block(lines: Lines, rows: list[int], rng: random.Random) -> None:
    a, b = _block(rows, rng)
    lines[a:b] = lines[a:b][::-1]


def _delete_block(lines: Lines, rows: list[int], rng: random.Random) -> None:
    a, b = _block(rows, rng)
    del lines[a:b]


def _duplicate_block(lines: Lines, rows: list[int], rng: random.Random) -> None:
    a, b = _block(rows, rng)
    lines[b:b] = lines[a:b]


def _times(lines: Lines, a: int, b: int, new: Callable[[list[bytes]], list[bytes]]) -> None:
    split = [line.split(b",") for line in lines[a:b]]
    times = new([cells[0] for cells in split])
    lines[a:b] = [b",".join([t, *cells[1:]]) for t, cells in zip(times, split)]


def _shuffle_times(lines: Lines, rows: list[int], rng: random.Random) -> None:
    a, b = _block(rows, rng)
    _times(lines, a, b, lambda ts: rng.sample(ts, len(ts)))


def _equal_times(lines: Lines, rows: list[int], rng: random.Random) -> None:
    a, b = _block(rows, rng)
    _times(lines, a, b, lambda ts: [ts[0]] * len(ts))


def _shuffle_all_times(lines: Lines, rows: list[int], rng: random.Random) -> None:
    _times(lines, rows[0], rows[-1] + 1, lambda ts: rng.sample(ts, len(ts)))


def _at_byte(insert: bytes) -> Mutation:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        at = rng.randrange(len(data) + 1)
        return data[:at] + insert + data[at:]

    return mutate


def _flip_byte(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]


def _random_byte(data: bytes, rng: random.Random) -> bytes:
    return _at_byte(bytes([rng.randrange(256)]))(data, rng)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _utf16(data: bytes, rng: random.Random) -> bytes:
    return data.decode("utf-8", errors="replace").encode(rng.choice(["utf-16", "utf-32", "utf-8-sig"]))


def _scaled_time(factor: float) -> Callable[[bytes, random.Random], bytes]:
    def scale(cell: bytes, rng: random.Random) -> bytes:
        try:
            return repr(float(cell) * factor).encode()
        except ValueError:
            return cell

    return scale


MUTATIONS: dict[str, Mutation] = {
    "delete_line": _on_lines(_delete_line),
    "duplicate_line": _on_lines(_duplicate_line),
    "swap_lines": _on_lines(_swap_lines),
    "swap_adjacent": _on_lines(_swap_adjacent),
    "reverse_block": _on_lines(_reverse_block),
    "delete_block": _on_lines(_delete_block),
    "duplicate_block": _on_lines(_duplicate_block),
    "shuffle_times": _on_lines(_shuffle_times),
    "shuffle_all_times": _on_lines(_shuffle_all_times),
    "equal_times": _on_lines(_equal_times),
    "flip_byte": _flip_byte,
    "random_byte": _random_byte,
    "truncate": _truncate,
    "insert_cr": _at_byte(b"\r"),
    "insert_nul": _at_byte(b"\x00"),
    "insert_newline": _at_byte(b"\n"),
    "insert_quote": _at_byte(b'"'),
    "long_cell": _set_cell(b'"' + b"x" * 131_073 + b'"'),
    "long_number": _set_cell(b"1" * 70_000),
    "blank_cell": _set_cell(b""),
    "nan_cell": _set_cell(b"nan"),
    "inf_cell": _set_cell(b"inf"),
    "neg_inf_cell": _set_cell(b"-inf"),
    "huge_cell": _set_cell(b"1e308"),
    "neg_huge_cell": _set_cell(b"-1.7976931348623157e308"),
    "tiny_cell": _set_cell(b"5e-324"),
    "overflow_cell": _set_cell(b"1e999"),
    "text_cell": _set_cell(b"abc"),
    "extra_cell": _set_cell(lambda cell, rng: cell + b",1"),
    "time_huge": _set_cell(b"1e308", time=True),
    "time_tiny_steps": _set_cell(lambda cell, rng: b"5e-324", time=True),
    "time_scaled_up": _set_cell(_scaled_time(1e6), time=True),
    "time_blank": _set_cell(b"", time=True),
    "crlf": _crlf,
    "reencode": _utf16,
}
CELL_MUTATIONS = ("blank_cell", "nan_cell", "inf_cell", "neg_inf_cell")
"""One missing channel value: must cost one sample, never a rep."""


def mutate(data: bytes, ops: list[tuple[str, int]]) -> bytes:
    """Apply named mutations in order, each with its own seeded random generator (reproducible)."""
    for name, seed in ops:
        data = MUTATIONS[name](data, random.Random(seed))
    return data


# --- running -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    seconds: float
    size_b: int
    read_peak_b: int
    reps: int | None = None
    error: str | None = None
    foreign: str | None = None

    @property
    def memory_ok(self) -> bool:
        return self.read_peak_b < MEMORY_RATIO * self.size_b + MEMORY_SLACK_B


def run_one(path: Path) -> Outcome:
    """read_log + analyze on one file; a non-BandlogError is recorded as `foreign` with where it came from."""
    from bandlog.app.api import analyze, read_log

    size = path.stat().st_size
    started = time.perf_counter()
    outcome = Outcome(0.0, size, 0)
    tracemalloc.start()
    try:
        log = read_log(path)
    except BandlogError as error:
        outcome.error = str(error)
        log = None
    except Exception as error:
        outcome.foreign = _describe(error)
        log = None
    finally:
        outcome.read_peak_b = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if log is not None:
        try:
            outcome.reps = int(analyze(log).summary["reps"])
        except BandlogError as error:
            outcome.error = str(error)
        except Exception as error:
            outcome.foreign = _describe(error)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _describe(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return f"{type(error).__name__}: {str(error)[:200]} ({Path(frame.filename).name}:{frame.lineno})"


@dataclass
class Tally:
    runs: int = 0
    foreign: int = 0
    errors: int = 0
    slow: int = 0
    over_memory: int = 0
    max_seconds: float = 0.0
    max_ratio: float = 0.0
    rep_runs: int = 0
    rep_violations: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, label: str, outcome: Outcome) -> None:
        self.runs += 1
        self.max_seconds = max(self.max_seconds, outcome.seconds)
        if outcome.size_b >= RATIO_MIN_SIZE_B:
            self.max_ratio = max(self.max_ratio, outcome.read_peak_b / outcome.size_b)
        problems = []
        if outcome.foreign is not None:
            self.foreign += 1
            problems.append(outcome.foreign)
        elif outcome.error is not None:
            self.errors += 1
        if outcome.seconds >= MAX_SECONDS:
            self.slow += 1
            problems.append(f"took {outcome.seconds:.1f} s")
        if not outcome.memory_ok:
            self.over_memory += 1
            problems.append(f"read peak {outcome.read_peak_b} B for a {outcome.size_b} B file")
        if problems and len(self.examples) < 20:
            self.examples.append(f"{label}: {'; '.join(problems)}")


def check_one_cell(seeds: dict[str, Path], work: Path, tally: Tally, rng: random.Random, baseline: dict[str, int | None]) -> None:
    """One missing channel value in a clean file: the rep count must not change."""
    fmt = rng.choice(FORMATS)
    name = rng.choice(CELL_MUTATIONS)
    ops = [(name, rng.randrange(2**32))]
    path = work / f"cell_{fmt}.csv"
    path.write_bytes(mutate(seeds[fmt].read_bytes(), ops))
    outcome = run_one(path)
    tally.add(f"{fmt} {ops}", outcome)
    tally.rep_runs += 1
    if outcome.reps != baseline[fmt]:
        tally.rep_violations += 1
        if len(tally.examples) < 20:
            tally.examples.append(f"{fmt} {ops}: {outcome.reps} reps instead of {baseline[fmt]} ({outcome.error or outcome.foreign})")


def fuzz(mutations: int, seed: int = 1, time_budget_s: float = 0.0, work: Path | None = None) -> Tally:
    """Run `mutations` mutated files (one in five a single-cell rep-count check); stop early at the budget."""
    logging.getLogger("bandlog").setLevel(logging.ERROR)
    rng = random.Random(seed)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        directory = work or Path(tmp)
        seeds = write_seeds(directory)
        baseline = {fmt: run_one(path).reps for fmt, path in seeds.items()}
        started = time.monotonic()
        names = sorted(MUTATIONS)
        for index in range(mutations):
            if time_budget_s and time.monotonic() - started > time_budget_s:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a RuntimeWarning from numpy is a defect too
                if index % 5 == 4:
                    check_one_cell(seeds, directory, tally, rng, baseline)
                    continue
                fmt = rng.choice(FORMATS)
                ops = [(rng.choice(names), rng.randrange(2**32)) for _ in range(rng.randint(1, 3))]
                path = directory / f"mutated_{fmt}.csv"
                path.write_bytes(mutate(seeds[fmt].read_bytes(), ops))
                tally.add(f"{fmt} {ops}", run_one(path))
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-budget-s", type=float, default=0.0, help="stop after this long (0: run them all)")
    args = parser.parse_args()
    started = time.monotonic()
    tally = fuzz(args.mutations, args.seed, args.time_budget_s)
    print(f"mutations run:           {tally.runs} (of {args.mutations}) in {time.monotonic() - started:.0f} s")
    print(f"foreign exceptions:      {tally.foreign}")
    print(f"one-sentence errors:     {tally.errors}")
    print(f"runs over {MAX_SECONDS:.0f} s:          {tally.slow} (max seconds {tally.max_seconds:.2f})")
    print(f"max memory ratio:        {tally.max_ratio:.2f}x (reader peak / file size, files >= {RATIO_MIN_SIZE_B // 1024} KB); "
          f"over 3x + {MEMORY_SLACK_B // 1024} KB: {tally.over_memory}")
    print(f"rep-count violations:    {tally.rep_violations} of {tally.rep_runs} single-cell mutations")
    for example in tally.examples:
        print(f"  {example}")


if __name__ == "__main__":
    main()
