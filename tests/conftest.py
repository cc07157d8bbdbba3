"""Suite-wide settings: headless plotting, and a private data directory per test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the user's real data folder."""
    monkeypatch.setenv("BANDLOG_HOME", str(tmp_path_factory.mktemp("bandlog_home")))
