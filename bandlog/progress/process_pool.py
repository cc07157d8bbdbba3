"""Running one function over many inputs on every core, for the session index's cold builds.

A small layer over concurrent.futures: processes started by a fork server that has already imported
what the work needs (so each worker does not import numpy, pandas and scipy again), results handed back
to the caller as each finishes (for a progress bar, and so an interruption keeps what was done), a
worker killed by the system reported for its input instead of ending the run, and Ctrl-C handled by
the caller alone: it stops the workers at once instead of waiting for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

R = TypeVar("R")


def default_workers() -> int:
    """Processes to run: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_map(
    function: Callable[..., R], jobs: Sequence[tuple[Any, ...]], workers: int,
    on_done: Callable[[int, R | None], None], preload: Sequence[str] = (),
) -> None:
    """Call `function(*job)` for every job in `workers` processes, started in the order given, and
    `on_done(index_of_job, result)` here as each finishes; the result is None for a job whose worker
    died (killed for lack of memory...). Anything raised here (Ctrl-C included) stops the workers at
    once and goes on. `function`, the jobs and the results must pickle; `preload` names the modules
    the workers need, imported once."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start)
    try:
        pending = {pool.submit(function, *job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    result: R | None = future.result()
                except BrokenProcessPool:
                    result = None
                on_done(i, result)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()


def _worker_start() -> None:
    """Ctrl-C is the caller's to handle (it stops the workers); a worker keeps quiet."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: Any) -> None:
    """Shut the pool down without waiting for the jobs still running."""
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # earlier Pythons: the same, by hand
        process.terminate()
