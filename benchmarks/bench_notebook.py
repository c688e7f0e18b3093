"""The graded notebook end to end (nbclient), and the kernel's peak memory."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmarks.common import Row

SOLUTION = (
    Path(__file__).resolve().parents[1] / "notebooks/source/model_interpretation_solution.ipynb"
)
PEAK_RSS_CELL = "print(open('/proc/self/status').read())"


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    if smoke:
        return []  # nbval runs the notebook in every `make test`
    notebook = nbformat.read(SOLUTION, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_RSS_CELL))
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, resources={"metadata": {"path": str(SOLUTION.parent)}}
    ).execute()
    seconds = time.perf_counter() - started
    status = notebook.cells[-1].outputs[0]["text"]
    peak_mb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    return [
        Row("graded notebook, end to end (nbclient)", seconds, None, "< 90 s", seconds < 90),
        Row("notebook kernel peak RSS", peak_mb, None, "< 2048 MB", peak_mb < 2048, unit="MB"),
    ]
