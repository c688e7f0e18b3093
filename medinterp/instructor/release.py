"""``make release``: the students' copies, made by ``nbgrader generate_assignment``.

The solution notebooks in ``notebooks/source/`` are the source of truth. nbgrader (with
``nbgrader_config.py``) replaces each ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
region with the course's ``None`` placeholders, removes hidden tests and outputs, locks the
instruction, setup and test cells and records their checksums; the copies then land in
``notebooks/``, where the README and the Binder links point.

    python -m medinterp.instructor.release [SOURCE_DIR STUDENT_DIR]   # notebooks/source notebooks
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from medinterp.instructor.course import ASSIGNMENT, make_course, solution_notebooks

__all__ = ["release"]


def release(source_dir="notebooks/source", student_dir="notebooks", config_dir=None) -> list[Path]:
    """Write the students' copy of every solution notebook of ``source_dir``.

    Parameters
    ----------
    source_dir : path, default="notebooks/source"
        The solution notebooks, ``NN_name.ipynb``.
    student_dir : path, default="notebooks"
        Where the students' copies go (same file names; existing copies are replaced).
    config_dir : path, optional
        The folder holding ``nbgrader_config.py``; default the current directory.

    Returns
    -------
    list of Path
        The students' copies written, in the series' order.
    """
    notebooks = solution_notebooks(source_dir)
    student_dir = Path(student_dir)
    student_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medinterp-release-") as work:
        course = make_course(Path(work) / "course", source_dir, config_dir)
        written = []
        for notebook in notebooks:
            target = student_dir / notebook.name
            shutil.copyfile(course / "release" / ASSIGNMENT / notebook.name, target)
            written.append(target)
    return written


def main(argv: list[str]) -> None:
    if argv and len(argv) != 2:
        sys.exit(__doc__)
    for path in release(*argv):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
