"""One source, two notebooks: the release is in sync and the student version fails kindly."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from medinterp.release import strip_solutions, student_notebook

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "notebooks/source/model_interpretation_solution.ipynb"
STUDENT = ROOT / "notebooks/model_interpretation.ipynb"
GRADER_CALLS = ("grad_cam_test(", "compute_gradcam_test(", "permute_feature_test(",
                "permutation_importance_test(")  # fmt: skip


def test_committed_student_notebook_is_current():
    expected = student_notebook(nbformat.read(SOLUTION, as_version=4))
    committed = nbformat.read(STUDENT, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in expected.cells], (
        "notebooks/model_interpretation.ipynb is stale: run `make release`"
    )
    assert all(not c.get("outputs") for c in committed.cells if c.cell_type == "code")


def test_student_notebook_has_no_solutions():
    text = STUDENT.read_text()
    assert "BEGIN SOLUTION" not in text
    for solution_line in ("weights = np.mean(gradients", "= np.random.permutation(len(df))",
                          "baseline_performance = metric("):  # fmt: skip
        assert solution_line not in text
    assert len(re.findall(r"# UNQ_C\d", text)) == 4


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


def test_student_notebook_reports_not_attempted(nhanes_dir):
    """Executed as delivered, every grader cell says "not attempted" and shows no traceback."""
    notebook = nbformat.read(STUDENT, as_version=4)
    NotebookClient(
        notebook, timeout=600, allow_errors=True,
        resources={"metadata": {"path": str(STUDENT.parent)}},
    ).execute()  # fmt: skip
    grader_cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip().endswith(")")
                    and any(call in c.source for call in GRADER_CALLS)]  # fmt: skip
    assert len(grader_cells) == 4
    for cell in grader_cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"grader cell raised: {cell.source}"
        assert "not attempted" in text, text
        assert "Traceback" not in text and "crashed" not in text
