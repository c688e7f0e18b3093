"""Every solution notebook under nbval, as `make test` runs it: wall time and kernel peak RSS.

Budgets (issue 15): each notebook <= 30 s, the series <= 150 s, every kernel <= 1.5 GB peak
(Binder gives 2 GB). The time is that of ``pytest --nbval-lax`` on the one notebook, start to
end, kernel start included. The kernel's peak resident memory is its ``VmHWM`` (the kernel's
own high-water mark, kept by Linux), read from ``/proc`` while the kernel runs: the last
reading before the kernel exits is its peak.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import Row, descendants

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "notebooks/source").glob("[0-9]*.ipynb"))
NOTEBOOK_SECONDS, SERIES_SECONDS, PEAK_MB = 30, 150, 1536


def _kernel_peak_kb(pid: int) -> int:
    """The largest VmHWM among ``pid``'s descendant kernels (0 when none is seen)."""
    peak = 0
    for child in descendants(pid):
        try:
            if b"ipykernel" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue  # the kernel exited between the listing and the read
    return peak


def nbval_run(notebook: Path, python: str | Path = sys.executable) -> tuple[float, float, bool]:
    """(seconds, kernel peak MB, passed) of nbval on one notebook, run by ``python``.

    ``python`` is the interpreter of the environment under test (this one by default; the
    Binder run passes a fresh venv's). pytest and nbval run there, and so does the kernel:
    jupyter_client starts the ``python`` of a kernelspec with the interpreter running it.
    """
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
               "--nbval-sanitize-with", str(ROOT / "notebooks/sanitize.cfg"), str(notebook)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak_kb, done = 0, threading.Event()

    def watch():
        nonlocal peak_kb
        while not done.is_set():
            peak_kb = max(peak_kb, _kernel_peak_kb(process.pid))
            done.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    returncode = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    return seconds, peak_kb / 1024, returncode == 0


def run(smoke: bool = False, repeats: int = 1) -> list[Row]:
    if smoke:
        return []  # nbval runs every notebook in every `make test`
    rows, total = [], 0.0
    for notebook in SOLUTIONS:
        seconds, peak_mb, passed = nbval_run(notebook)
        total += seconds
        note = "" if passed else "nbval failed"
        rows.append(Row(f"{notebook.stem} under nbval", seconds, None,
                        f"<= {NOTEBOOK_SECONDS} s", passed and seconds <= NOTEBOOK_SECONDS,
                        note=note))  # fmt: skip
        rows.append(Row(f"{notebook.stem} kernel peak RSS", peak_mb, None, f"<= {PEAK_MB} MB",
                        0 < peak_mb <= PEAK_MB, unit="MB"))  # fmt: skip
    rows.append(Row("the series under nbval", total, None, f"<= {SERIES_SECONDS} s",
                    total <= SERIES_SECONDS))  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run():
        print(
            f"{row.measure:45s} {row.ours:8.1f} {row.unit}  goal {row.goal}  "
            f"{'ok' if row.passed else 'MISSED'} {row.note}"
        )
