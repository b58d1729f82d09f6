"""Every notebook in notebooks/ runs top to bottom on the embedded emulator, is committed
executed (so a code host shows its outputs), and opens with README's one command.

Refresh the committed outputs after changing a notebook: ``python tests/test_notebooks.py``.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY", "LLAMA_CLOUD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)  # notebooks fall back to the emulator
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = execute(nbformat.read(path, as_version=4), tmp_path)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors


def execute(notebook: Any, work: Path) -> Any:
    """``notebook`` run top to bottom in a kernel whose working directory is ``work``."""
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    return notebook


def for_code_host(notebook: Any) -> Any:
    """``notebook`` as committed: a widget's view (blank without a kernel, an error in a
    JupyterLab that has not run it) and the widgets' state are dropped, so the static HTML
    picture every widget of this package also gives is what a reader sees."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    return notebook


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_executed_with_small_outputs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text) < 500_000, "outputs this large slow a code host down: make them smaller"
    assert "llx-" not in text  # an API key, even the emulator's, never lands in a file
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), "run it top to bottom, then commit"
    assert any(cell.outputs for cell in code)
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
            assert WIDGET_VIEW not in output.get("data", {}), "a widget without its picture"
    assert "widgets" not in notebook.metadata


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


def notebook_imports(path: Path) -> set[str]:
    """The top-level modules a notebook's code cells import."""
    notebook = nbformat.read(path, as_version=4)
    found: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def launch_command() -> str:
    """README's one line that installs the ``[notebooks]`` extra and opens JupyterLab."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines: list[str] = [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
        for line in block.splitlines()
        if "[notebooks]" in line
    ]
    assert len(lines) == 1, "README should give one command that installs [notebooks]"
    return lines[0]


def test_readme_opens_the_notebooks_with_the_notebooks_extra() -> None:
    command = launch_command()
    assert "jupyter lab notebooks/" in command and "-e '.[notebooks]'" in command


@pytest.mark.install
@pytest.mark.timeout(900)
def test_the_launch_command_installs_and_serves_the_notebooks_in_a_fresh_venv(
    tmp_path: Path,
) -> None:
    """README's command in a new venv (pip's own cache reused): every notebook's imports load,
    then JupyterLab starts and answers 200 for its page and for each notebook. The browser
    part is left out: a headless machine has none to open."""
    venv, install, launch = (part.strip() for part in launch_command().split("&&"))
    assert venv == "python3 -m venv .venv" and launch == ".venv/bin/jupyter lab notebooks/"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")  # no user config
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter-runtime")
    bin_dir = tmp_path / ".venv" / "bin"
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / ".venv")], check=True)
    pip = shlex.split(install.replace(".venv/bin/pip", str(bin_dir / "pip")))
    pip = [str(ROOT) + arg[1:] if arg.startswith(".[") else arg for arg in pip]
    done = subprocess.run(pip, env=env, capture_output=True, text=True, timeout=720, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    wanted = sorted(set().union(*map(notebook_imports, NOTEBOOKS)))
    loads = subprocess.run(
        [str(bin_dir / "python"), "-c", f"import {', '.join(wanted)}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loads.returncode == 0, f"the extra misses a notebook's import: {loads.stderr}"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(16)
    log = (tmp_path / "jupyter-lab.log").open("wb")
    server = subprocess.Popen(
        [
            str(bin_dir / "jupyter"),
            "lab",
            "notebooks/",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        cwd=ROOT,
        env={**env, "JUPYTER_TOKEN": token},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"token {token}"}
        with httpx.Client(headers=headers, timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:  # the server logs nothing we wait on: poll its status route
                if server.poll() is not None:
                    output = (tmp_path / "jupyter-lab.log").read_text(errors="replace")
                    pytest.fail(f"jupyter lab exited with {server.returncode}: {output[-2000:]}")
                try:
                    if client.get(f"{base}/api/status").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "jupyter lab did not answer in 120 s"
                time.sleep(0.5)
            assert client.get(f"{base}/lab").status_code == 200
            for path in NOTEBOOKS:
                answer = client.get(f"{base}/api/contents/{path.name}")
                assert answer.status_code == 200, path.name
                assert answer.json()["type"] == "notebook"
            kernels = client.get(f"{base}/api/kernelspecs").json()["kernelspecs"]
            assert "python3" in kernels
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


if __name__ == "__main__":  # refresh the committed outputs: python tests/test_notebooks.py
    import tempfile

    os.environ["MPLBACKEND"] = "Agg"
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY", "LLAMA_CLOUD_BASE_URL"):
        os.environ.pop(name, None)
    for path in NOTEBOOKS:
        with tempfile.TemporaryDirectory() as work:
            executed = execute(nbformat.read(path, as_version=4), Path(work))
        nbformat.write(for_code_host(executed), path)
        print(f"{path.name}: {path.stat().st_size:,} bytes")
