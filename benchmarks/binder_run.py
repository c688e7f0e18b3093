"""The Binder environment, built for real in a fresh venv, with every notebook under nbval there.

A one-off measurement, not part of `make test` or `make bench`: it downloads the wheels of
``binder/requirements.txt`` (tensorflow-cpu among them) and takes several minutes. It

1. creates a fresh venv with ``/usr/bin/python3.11`` (``binder/runtime.txt`` asks for 3.11)
   in a temporary folder, or in ``--venv DIR`` (a new or empty folder, kept afterwards);
2. installs ``binder/requirements.txt`` as repo2docker does (``pip install --no-cache-dir
   -r``), then runs ``binder/postBuild`` with that venv first on ``PATH``; both are timed;
3. checks the result is the students' image: tensorflow-cpu, not the full ``tensorflow``
   wheel, and no ``nbgrader`` (the instructor extra);
4. adds pytest and nbval, which only the measurement needs (they are not in the Binder
   image), and runs every ``notebooks/source/[0-9]*.ipynb`` under ``pytest --nbval-lax
   --nbval-sanitize-with notebooks/sanitize.cfg`` with the venv's Python, one notebook at a
   time, measuring wall time and the kernel's peak RSS (its ``VmHWM``, as
   ``benchmarks.bench_notebook`` does) against mybinder.org's 2 GB memory limit;
5. writes the section ``binder`` of ``benchmarks/RESULTS.md``.

A notebook that fails nbval there is reported in the table, not hidden. Run it from the
repository's root with the notebooks' environment variables set as for `make test`
(``MEDINTERP_DATA_DIR``, ``MEDINTERP_CXR_SAMPLES_DIR``, ``KERAS_BACKEND=tensorflow``)::

    nice -n 10 .venv/bin/python -m benchmarks.binder_run [--venv DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_notebook import SOLUTIONS, nbval_run
from benchmarks.common import write_section

__all__ = [
    "BINDER_LIMIT_MB",
    "NotebookRun",
    "added_packages",
    "binder_markdown",
    "check_student_image",
    "main",
    "wheel_sources",
]

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3.11"
BINDER_LIMIT_MB = 2048
REPORTED = ("tensorflow-cpu", "keras", "numpy")
# tensorflow-cpu stands in for the full wheel on Binder (no GPU); nbgrader is the instructors'
# extra, never the students' image.
FORBIDDEN = ("tensorflow", "nbgrader")
MEASUREMENT_ONLY = ("pytest", "nbval")


@dataclass(frozen=True)
class NotebookRun:
    """One notebook under nbval in the Binder venv: ``peak_mb`` is 0 when no kernel was seen."""

    name: str
    passed: bool
    seconds: float
    peak_mb: float


def _canonical(name: str) -> str:
    # PEP 503: pip list may say tensorflow_cpu or TensorFlow-CPU for tensorflow-cpu.
    return re.sub(r"[-_.]+", "-", name).lower()


def check_student_image(installed: Mapping[str, str]) -> dict[str, str]:
    """The versions of tensorflow-cpu, keras and numpy, once the venv is the students' image.

    Parameters
    ----------
    installed
        Distribution name to version, as ``pip list`` reports them.

    Raises
    ------
    ValueError
        When the full ``tensorflow`` wheel or ``nbgrader`` is installed, or when one of
        tensorflow-cpu, keras and numpy is missing.
    """
    versions = {_canonical(name): version for name, version in installed.items()}
    present = [name for name in FORBIDDEN if name in versions]
    if present:
        raise ValueError(
            f"the Binder image must not hold {', '.join(present)} "
            f"(forbidden: {', '.join(FORBIDDEN)}; tensorflow-cpu is the TensorFlow to use)"
        )
    missing = [name for name in REPORTED if name not in versions]
    if missing:
        raise ValueError(
            f"the Binder image lacks {', '.join(missing)} (needs {', '.join(REPORTED)})"
        )
    return {name: versions[name] for name in REPORTED}


def added_packages(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """The distributions in ``after`` that ``before`` lacks or holds at another version."""
    old = {_canonical(name): version for name, version in before.items()}
    return {
        name: version
        for name, version in sorted((_canonical(n), v) for n, v in after.items())
        if old.get(name) != version
    }


def _under_limit(peak_mb: float) -> str:
    if peak_mb <= 0:
        return "not measured (no kernel seen)"
    return "yes" if peak_mb <= BINDER_LIMIT_MB else "NO"


def binder_markdown(
    runs: Sequence[NotebookRun],
    *,
    versions: Mapping[str, str],
    added: Mapping[str, str],
    python_version: str,
    pip_version: str,
    install_seconds: float,
    sources: tuple[int, int],
    post_build_seconds: float,
    distributions: int,
    data_dir: bool,
    load_average: tuple[float, float, float],
    day: datetime.date,
) -> str:
    """The ``binder`` section of RESULTS.md: one table row per notebook, then the setting."""
    if not runs:
        raise ValueError("no notebook runs to report")
    lines = [
        "## Binder environment, built in a fresh venv (`python -m benchmarks.binder_run`)",
        "",
        f"Measured on {day.isoformat()}, one run: a fresh Python {python_version} venv (pip "
        f"{pip_version}), `pip install --no-cache-dir -r binder/requirements.txt` in "
        f"{install_seconds:.0f} s ({sources[0]} distributions downloaded from PyPI, "
        f"{sources[1]} taken from this machine's local wheel mirror, so this is not "
        f"mybinder.org's build time), then `binder/postBuild` in {post_build_seconds:.0f} s: "
        f"{distributions} distributions, among them "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
        + "; neither `tensorflow` (the full wheel) nor `nbgrader`.",
        "",
        "Added for the measurement only, not in the Binder image: "
        + ", ".join(f"{name} {version}" for name, version in added.items())
        + ". Each notebook ran alone under `pytest --nbval-lax --nbval-sanitize-with "
        "notebooks/sanitize.cfg` with the venv's Python; wall time is the whole pytest run, "
        "kernel start included; peak RSS is the kernel's `VmHWM` read from `/proc`. "
        f"mybinder.org's memory limit is {BINDER_LIMIT_MB} MB. "
        + (
            "The NHANES I files were read from a local copy (`MEDINTERP_DATA_DIR`); on Binder "
            "the first run downloads them."
            if data_dir
            else "`MEDINTERP_DATA_DIR` was not set: the NHANES I files were downloaded."
        ),
        "",
        "| notebook | nbval result | wall s | kernel peak RSS MB | under 2048 MB |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | {'pass' if run.passed else 'FAIL'} | {run.seconds:.1f} "
            f"| {run.peak_mb:.0f} | {_under_limit(run.peak_mb)} |"
        )
    highest = max(runs, key=lambda run: run.peak_mb)
    lines += [
        "",
        f"Series: {sum(run.seconds for run in runs):.1f} s; highest kernel peak "
        f"{highest.peak_mb:.0f} MB ({highest.name}). Machine: {os.cpu_count()} cores shared "
        "with other work, no GPU; load average (1, 5, 15 min) before the notebooks: "
        + ", ".join(f"{value:.2f}" for value in load_average)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _run(command: list[str], **kwargs) -> tuple[float, str]:
    """Seconds taken by ``command``, which must succeed, and its output."""
    print("$", " ".join(command), flush=True)
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )
    seconds = time.perf_counter() - started
    if completed.returncode:
        print(completed.stdout)
        raise subprocess.CalledProcessError(completed.returncode, command)
    return seconds, completed.stdout


def wheel_sources(pip_output: str) -> tuple[int, int]:
    """(downloaded, local): how many distributions ``pip install`` fetched over the network
    and how many it took from a local wheel folder or file index (this machine has one).

    pip 23 prints ``Downloading NAME.whl (SIZE)`` for the first and ``Processing /PATH`` for
    the second; ``Downloading NAME.whl.metadata`` lines are metadata only and not counted.
    """
    downloaded = local = 0
    for line in pip_output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "Downloading" and not words[1].endswith(".metadata"):
            downloaded += 1
        elif len(words) >= 2 and words[0] == "Processing" and words[1].startswith(("/", "file:")):
            local += 1
    return downloaded, local


def _installed(python: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {entry["name"]: entry["version"] for entry in json.loads(listing)}


def _fresh_folder(text: str | None) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    if text is None:
        temporary = tempfile.TemporaryDirectory(prefix="binder-venv-")
        return Path(temporary.name) / "venv", temporary
    folder = Path(text).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"--venv must name a new or empty folder, {folder} holds files")
    return folder, None


def _python_says(python: Path, code: str) -> str:
    command = [str(python), "-c", code]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def measure(folder: Path) -> str:
    """Build the Binder venv in ``folder``, run the notebooks there and return the section."""
    _run([PYTHON, "-m", "venv", str(folder)])
    python = folder / "bin/python"
    pip = [str(python), "-m", "pip", "install", "--progress-bar", "off", "--no-cache-dir"]
    install_seconds, output = _run([*pip, "-r", "binder/requirements.txt"])
    downloaded, local = wheel_sources(output)
    # postBuild calls `python -m pip`: the venv's Python must be the first on PATH.
    environment = {**os.environ, "VIRTUAL_ENV": str(folder)}
    environment["PATH"] = f"{folder / 'bin'}{os.pathsep}{environment['PATH']}"
    post_build_seconds, _ = _run(["bash", "binder/postBuild"], env=environment)
    image = _installed(python)
    versions = check_student_image(image)
    print(f"requirements {install_seconds:.0f} s ({downloaded} downloaded, {local} local), "
          f"postBuild {post_build_seconds:.0f} s; {len(image)} distributions; {versions}")  # fmt: skip
    print(f"Adding {' and '.join(MEASUREMENT_ONLY)} for the measurement only: "
          "they are not in the Binder image.", flush=True)  # fmt: skip
    _run([*pip, *MEASUREMENT_ONLY])
    added = added_packages(image, _installed(python))
    setting = {
        "python_version": _python_says(python, "import platform; print(platform.python_version())"),
        "pip_version": _python_says(python, "import pip; print(pip.__version__)"),
        "install_seconds": install_seconds,
        "sources": (downloaded, local),
        "post_build_seconds": post_build_seconds,
        "distributions": len(image),
        "data_dir": bool(os.environ.get("MEDINTERP_DATA_DIR")),
        "load_average": os.getloadavg(),
    }
    runs = []
    for notebook in SOLUTIONS:
        seconds, peak_mb, passed = nbval_run(notebook, python=python)
        runs.append(NotebookRun(notebook.stem, passed, seconds, peak_mb))
        print(f"{notebook.stem:28s} {'pass' if passed else 'FAIL'} {seconds:6.1f} s "
              f"{peak_mb:6.0f} MB {_under_limit(peak_mb)}", flush=True)  # fmt: skip
    return binder_markdown(
        runs, versions=versions, added=added, day=datetime.date.today(), **setting
    )


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", help="a new or empty folder for the venv, kept afterwards")
    args = parser.parse_args(argv)
    try:
        folder, temporary = _fresh_folder(args.venv)
    except ValueError as error:
        parser.error(str(error))
    try:
        markdown = measure(folder)
    finally:
        if temporary is not None:
            temporary.cleanup()
    write_section("binder", markdown)
    print(markdown)
    return markdown


if __name__ == "__main__":
    main()
