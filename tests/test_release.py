"""make release: solutions out, outputs and widget state out, nbval markers into tags."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from medinterp.release import (
    markers_to_tags,
    release_all,
    strip_solutions,
    student_notebook,
)


def test_strip_solutions():
    source = "\n".join([
        "def f(df):",
        "    ### START CODE HERE ###",
        "    ### BEGIN SOLUTION",
        "    # copy first",
        "    out = df.copy()",
        "    for column in df.columns:",
        "        out.loc['x', column] = abs(1 - 2)",
        "    out.sort_index(inplace=True)",
        "    ### END SOLUTION",
        "    ### END CODE HERE ###",
        "    return out",
    ])  # fmt: skip
    assert strip_solutions(source).splitlines() == [
        "def f(df):",
        "    ### START CODE HERE ###",
        "    # copy first",
        "    out = None",
        "    for column in df.columns:",
        "        out.loc['x', column] = None",
        "    ### END CODE HERE ###",
        "    return out",
    ]
    with pytest.raises(ValueError, match="without"):
        strip_solutions("### BEGIN SOLUTION\nx = 1")


def test_markers_become_tags():
    cell = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)\n  # NBVAL_IGNORE_OUTPUT  ")
    cell.metadata["tags"] = ["keep-me"]
    markers_to_tags(cell)
    assert cell.source == "print(1)"
    assert cell.metadata["tags"] == ["keep-me", "nbval-check-output", "nbval-ignore-output"]
    plain = new_code_cell("x = 1  # NBVAL_CHECK_OUTPUT is only a marker on its own line")
    markers_to_tags(plain)
    assert "tags" not in plain.metadata and plain.source.startswith("x = 1")


def _solution():
    solution = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell("# NBVAL_CHECK_OUTPUT\ngrader(fn)"),
            new_code_cell(
                "def fn():\n    ### BEGIN SOLUTION\n    x = 41 + 1\n    ### END SOLUTION\n"
                "    return x"
            ),  # fmt: skip
        ]
    )
    solution.cells[1].outputs = [nbformat.v4.new_output("stream", text="All tests passed\n")]
    solution.cells[1].execution_count = 3
    solution.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": "y" * 500}}
    return solution


def test_student_notebook_drops_outputs_widget_state_and_markers():
    solution = _solution()
    student = student_notebook(solution)
    assert "widgets" not in student.metadata
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert student.cells[1].source == "grader(fn)"
    assert student.cells[1].metadata["tags"] == ["nbval-check-output"]
    assert "x = None" in student.cells[2].source and "41" not in student.cells[2].source
    # The solution itself is untouched.
    assert "widgets" in solution.metadata and solution.cells[1].outputs
    assert solution.cells[1].source.startswith("# NBVAL_CHECK_OUTPUT")


def test_release_all_writes_one_student_copy_per_solution(tmp_path):
    source, target = tmp_path / "source", tmp_path / "students"
    source.mkdir()
    for name in ("02_b.ipynb", "01_a.ipynb"):
        nbformat.write(_solution(), source / name)
    written = release_all(source, target)
    assert [p.name for p in written] == ["01_a.ipynb", "02_b.ipynb"]
    for path in written:
        text = path.read_text()
        assert "NBVAL_" not in text and "widget-state" not in text and "41 + 1" not in text
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .ipynb"):
        release_all(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ValueError, match="must be a folder"):
        release_all(tmp_path / "missing", tmp_path / "out")
