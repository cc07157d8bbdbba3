"""mypy (pyproject.toml's [tool.mypy]: the package, strict for core, devices and detect) finds nothing:
the annotations are checked where CI runs, so they stay true rather than decorative."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # ~11 s cold on 2 shared cores, ~1 s with a warm .mypy_cache
def test_mypy_finds_nothing() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it comes with the dev extra: pip install '.[dev]')")
    # the cache sits in the checkout's .mypy_cache (git-ignored), so a second run only re-checks what changed
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"mypy found:\n{result.stdout}{result.stderr}"
