"""An nbgrader course directory built from the solution notebooks, and the nbgrader runner.

nbgrader keeps a course in one folder: ``source/<assignment>/`` (the solution notebooks),
``release/``, ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``. Both
``make release`` and ``make autograde`` build a fresh one from ``notebooks/source`` and
run nbgrader's own commands in it. nbgrader reads ``nbgrader_config.py`` from the folder it
runs in, so every command runs from ``config_dir`` (the repository's root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ASSIGNMENT", "solution_notebooks", "make_course", "run_nbgrader"]

# The whole series is one nbgrader assignment; each notebook is one of its notebooks.
ASSIGNMENT = "series"
CONFIG_FILE = "nbgrader_config.py"


def solution_notebooks(source_dir) -> list[Path]:
    """The series' solution notebooks (``NN_*.ipynb``) in ``source_dir``, in order."""
    source_dir = Path(source_dir)
    notebooks = sorted(source_dir.glob("[0-9]*.ipynb"))
    if not notebooks:
        raise ValueError(
            f"source_dir must hold the solution notebooks (NN_name.ipynb); {source_dir} has none"
        )
    return notebooks


def _config_dir(config_dir) -> Path:
    config_dir = Path.cwd() if config_dir is None else Path(config_dir)
    if not (config_dir / CONFIG_FILE).is_file():
        raise ValueError(
            f"No {CONFIG_FILE} in {config_dir}: run from the repository's root or pass "
            "config_dir=<the folder holding it>."
        )
    return config_dir.resolve()


def run_nbgrader(arguments: list[str], course_dir, config_dir=None) -> str:
    """Run ``nbgrader <arguments>`` on ``course_dir``; return its log, raise if it fails.

    nbgrader calls ``alembic`` (its database migrations) as a command, so the environment's
    scripts folder goes first on ``PATH``.
    """
    config_dir = _config_dir(config_dir)
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "nbgrader", *arguments,
               f"--CourseDirectory.root={Path(course_dir).resolve()}"]  # fmt: skip
    completed = subprocess.run(
        command, cwd=config_dir, env=env, capture_output=True, text=True, check=False
    )
    log = completed.stdout + completed.stderr
    if completed.returncode != 0:
        tail = "\n".join(log.splitlines()[-30:])
        raise RuntimeError(f"nbgrader {' '.join(arguments)} failed:\n{tail}")
    return log


def make_course(course_dir, source_dir="notebooks/source", config_dir=None) -> Path:
    """A fresh course in ``course_dir`` with the series generated (release + gradebook).

    Anything already in ``course_dir`` is removed first: a course built twice from the same
    notebooks is the same course.
    """
    notebooks = solution_notebooks(source_dir)
    course_dir = Path(course_dir)
    if course_dir.exists():
        shutil.rmtree(course_dir)
    source = course_dir / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for notebook in notebooks:
        shutil.copyfile(notebook, source / notebook.name)
    run_nbgrader(["generate_assignment", ASSIGNMENT], course_dir, config_dir)
    return course_dir
