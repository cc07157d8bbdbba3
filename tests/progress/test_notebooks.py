"""Both notebooks run top to bottom on a fresh kernel (they make their own data in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["session_deep_dive.ipynb", "progress_over_weeks.ipynb"])
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)
    errors = [out for cell in code_cells for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    warnings = [out.text for cell in code_cells for out in cell.outputs if out.output_type == "stream" and "Warning" in out.text]
    assert warnings == []
    images = [out for cell in code_cells for out in cell.outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 2, "the charts should render inline"
