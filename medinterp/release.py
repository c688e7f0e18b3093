"""Make the student notebook from the solution notebook (``make release``).

The solution notebook is the source of truth. Inside its exercise cells, solution code sits
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``. The student version keeps the
comments and the compound-statement lines (``with``, ``for``, ``if``) of those blocks, turns
every assignment into ``<target> = None``, drops the markers, and clears all outputs.

    python -m medinterp.release SOLUTION.ipynb STUDENT.ipynb
"""

from __future__ import annotations

import re
import sys

import nbformat

__all__ = ["strip_solutions", "student_notebook", "release"]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
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


def student_notebook(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``solution`` with solutions replaced by placeholders and no outputs."""
    student = nbformat.from_dict(solution)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return student


def release(solution_path, student_path) -> None:
    solution = nbformat.read(solution_path, as_version=4)
    nbformat.write(student_notebook(solution), student_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    release(sys.argv[1], sys.argv[2])
