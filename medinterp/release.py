"""Make the students' notebooks from the solution notebooks (``make release``).

The solution notebooks in ``notebooks/source/`` are the source of truth. Inside their exercise
cells, solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``. A student
copy keeps the comments and the compound-statement lines (``with``, ``for``, ``if``) of those
blocks, turns every assignment into ``<target> = None``, drops the markers, clears all
outputs, drops saved widget state (it can weigh far more than the cells), and turns nbval's
comment markers (``# NBVAL_CHECK_OUTPUT`` ...) into cell tags (``nbval-check-output`` ...),
which nbval reads the same way and students do not see.

    python -m medinterp.release                      # every notebooks/source/*.ipynb
    python -m medinterp.release SOURCE_DIR STUDENT_DIR
    python -m medinterp.release SOLUTION.ipynb STUDENT.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

__all__ = [
    "strip_solutions",
    "markers_to_tags",
    "student_notebook",
    "release",
    "release_all",
    "NBVAL_TAGS",
]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# nbval's comment markers and the cell tags nbval reads in their place.
NBVAL_TAGS = {
    "# NBVAL_CHECK_OUTPUT": "nbval-check-output",
    "# NBVAL_IGNORE_OUTPUT": "nbval-ignore-output",
    "# NBVAL_SKIP": "nbval-skip",
    "# NBVAL_RAISES_EXCEPTION": "nbval-raises-exception",
}
_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z_][\w.\[\]\"', ]*?)\s*=(?!=)\s*\S.*$")
_COMPOUND = re.compile(r"^\s*(with|for|if|elif|else|while|try|except|finally)\b.*:\s*(#.*)?$")


def strip_solutions(source: str) -> str:
    """The student version of one cell's source."""
    out, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            inside = True
        elif marker == END:
            inside = False
        elif not inside or not marker or marker.startswith("#") or _COMPOUND.match(line):
            out.append(line)
        elif match := _ASSIGNMENT.match(line):
            out.append(f"{match.group(1)}{match.group(2)} = None")
        # any other solution line (a bare call) is dropped
    if inside:
        raise ValueError(f"{BEGIN} without {END} in cell:\n{source}")
    return "\n".join(out)


def markers_to_tags(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Move nbval comment markers out of a code cell's source into its tags (in place)."""
    kept, tags = [], list(cell.metadata.get("tags", []))
    for line in cell.source.splitlines():
        tag = NBVAL_TAGS.get(line.strip())
        if tag is None:
            kept.append(line)
        elif tag not in tags:
            tags.append(tag)
    cell.source = "\n".join(kept)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def student_notebook(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``solution`` with solutions replaced by placeholders, no outputs, no saved
    widget state, and nbval markers as cell tags. ``solution`` is not changed."""
    student = nbformat.from_dict(solution)
    student.metadata.pop("widgets", None)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            markers_to_tags(cell)
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return student


def release(solution_path, student_path) -> None:
    """Write the student copy of one solution notebook."""
    solution = nbformat.read(solution_path, as_version=4)
    nbformat.write(student_notebook(solution), student_path)


def release_all(source_dir, student_dir) -> list[Path]:
    """Release every ``*.ipynb`` of ``source_dir`` into ``student_dir`` (same file names).

    Returns the student paths written, in name order.
    """
    source_dir, student_dir = Path(source_dir), Path(student_dir)
    if not source_dir.is_dir():
        raise ValueError(f"source_dir must be a folder of solution notebooks, got {source_dir}")
    solutions = sorted(source_dir.glob("*.ipynb"))
    if not solutions:
        raise ValueError(f"source_dir {source_dir} holds no .ipynb file")
    student_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for solution in solutions:
        release(solution, student_dir / solution.name)
        written.append(student_dir / solution.name)
    return written


def main(argv: list[str]) -> None:
    if not argv:
        argv = ["notebooks/source", "notebooks"]
    if len(argv) != 2:
        sys.exit(__doc__)
    source, target = argv
    if Path(source).is_dir():
        for path in release_all(source, target):
            print(f"wrote {path}")
    else:
        release(source, target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
