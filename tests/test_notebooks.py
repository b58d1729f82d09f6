"""Every notebook in notebooks/ runs top to bottom on the embedded emulator."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY", "LLAMA_CLOUD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)  # notebooks fall back to the emulator
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ should hold the documentation notebooks"


@pytest.mark.slow
def test_an_error_in_a_sync_call_is_an_error_output_in_a_kernel() -> None:
    """A refused key in Jupyter shows as the error itself (ename, message), as any error does."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import classify_frames as cf\n"
            "with cf.Emulator(jobs=20) as emu:\n"
            "    cf.fetch_jobs(emu.dataset.ids, base_url=emu.base_url, api_key='wrong')"
        )
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    outputs = notebook.cells[0].outputs
    assert [o.output_type for o in outputs if o.get("name") != "stderr"] == ["error"]
    assert not any("Traceback" in o.get("text", "") for o in outputs)
    assert outputs[-1].ename == "AuthenticationError"
    assert "LLAMA_CLOUD_API_KEY" in outputs[-1].evalue
