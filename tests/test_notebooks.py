"""The series: one source per notebook, students' copies in sync, small, kind when unfinished."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks/source"
STUDENTS = ROOT / "notebooks"
SOLUTIONS = sorted(SOURCE.glob("[0-9]*.ipynb"))
MAX_STUDENT_BYTES = 100_000

# Every course exercise: (notebook, function, marker, solution lines students must not see).
COURSE_EXERCISES = [
    ("01_hooks_and_gradients", "get_hook", "UNQ_C5", ["hook = keras.Model(model.inputs"]),
    ("01_hooks_and_gradients", "get_gradients", "UNQ_C6", ["score = predictions[:, category_index]"]),
    ("02_gradcam", "grad_cam", "UNQ_C1", ["weights = np.mean(gradients"]),
    ("02_gradcam", "compute_gradcam", "UNQ_C2", ["probabilities = [predictions[0]"]),
    ("04_shortcut_learning", "subgroup_auc", "UNQ_C8", ["auc = roc_auc_score(labels[chosen"]),
    ("05_permutation_importance", "permute_feature", "UNQ_C3",
     ["= np.random.permutation(len(df))"]),
    ("05_permutation_importance", "permutation_importance", "UNQ_C4",
     ["baseline_performance = metric("]),
    ("06_shap", "class_one_values", "UNQ_C7", ["np.asarray(raw)[:, :, 1]"]),
    ("07_comparing_saliency_methods", "integrated_gradients", "UNQ_C9",
     ["average = (gradients[:-1] + gradients[1:])"]),
    ("08_importance_pitfalls", "harrell_c", "UNQ_C10", ["i_first = event[i] and"]),
]  # fmt: skip
GRADER = re.compile(r"\b(\w+_test)\(")
# TensorFlow's native start-up log (medinterp.quiet_tensorflow keeps it out of a notebook).
TENSORFLOW_NOISE = re.compile(r"cuInit|oneDNN custom operations|absl::InitializeLog|cuda drivers")


def _ids(paths):
    return [p.stem for p in paths]


def _student(solution: Path) -> Path:
    return STUDENTS / solution.name


def test_the_series_is_there_and_the_single_notebook_is_retired():
    names = _ids(SOLUTIONS)
    for name in ("01_hooks_and_gradients", "02_gradcam", "03_checking_gradcam",
                 "04_shortcut_learning", "05_permutation_importance", "06_shap",
                 "07_comparing_saliency_methods", "08_importance_pitfalls"):  # fmt: skip
        assert name in names
    assert not (STUDENTS / "model_interpretation.ipynb").exists()
    assert not (SOURCE / "model_interpretation_solution.ipynb").exists()
    assert sorted(p.name for p in STUDENTS.glob("[0-9]*.ipynb")) == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_student_copy_is_small_and_clean(solution):
    path = _student(solution)
    assert path.stat().st_size < MAX_STUDENT_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "widget-state" not in text and "widgets" not in nbformat.reads(text, 4).metadata
    # The autograder's hidden asserts stay out of the students' copies.
    assert "HIDDEN TESTS" not in text and "_test did not pass" not in text


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_checked_cells_are_tagged(solution):
    """Grader cells, and the cells whose numbers the prose quotes, are checked by nbval."""
    notebook = nbformat.read(solution, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and GRADER.search(cell.source) and "def " not in cell.source:
            assert "nbval-check-output" in cell.metadata.get("tags", []), cell.source
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in notebook.cells)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_no_tensorflow_start_up_log_in_an_output(solution):
    """The executed solution (what nbval compares, and what an instructor reads) holds none of
    TensorFlow's start-up lines: they look like failures to a student."""
    notebook = nbformat.read(solution, as_version=4)
    noisy = [c.source[:60] for c in notebook.cells if TENSORFLOW_NOISE.search(_text(c))]
    assert not noisy, f"TensorFlow's start-up log in the output of {noisy}"


@pytest.mark.parametrize(("notebook", "function", "marker", "solution_lines"), COURSE_EXERCISES)
def test_every_exercise_keeps_its_name_marker_and_block(notebook, function, marker, solution_lines):
    text = (STUDENTS / f"{notebook}.ipynb").read_text()
    cells = [c.source for c in nbformat.reads(text, 4).cells if f"# {marker} " in c.source]
    assert len(cells) == 1, f"{marker} must mark exactly one cell of {notebook}"
    assert f"def {function}(" in cells[0]
    assert "### START CODE HERE" in cells[0] and "### END CODE HERE" in cells[0]
    assert "= None" in cells[0]
    for line in solution_lines:
        assert line not in text
        assert line in (SOURCE / f"{notebook}.ipynb").read_text()  # the check is not vacuous


def _run(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # fmt: skip
    return notebook


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
    return "".join(parts)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_fresh_student_notebook_runs_to_the_end(solution, nhanes_dir):
    """Run All, as delivered: no cell raises, every grader says "not attempted", and a cell
    that needs an unfinished exercise says so in one line."""
    notebook = _run(_student(solution))
    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [c.source for c in code if any(o.output_type == "error" for o in c.outputs)]
    assert not errors, f"cells raised: {errors}"
    for cell in code:
        text = _text(cell)
        assert "Traceback" not in text and "crashed" not in text, cell.source
        assert not TENSORFLOW_NOISE.search(text), f"{cell.source}\n{text}"
        if GRADER.search(cell.source) and "def " not in cell.source:
            assert "not attempted" in text, f"{cell.source}\n{text}"
            assert "All tests passed" not in text
        if "Needs Exercise" in cell.source:
            needs = [line for line in text.splitlines() if line.strip()]
            assert len(needs) == 1 and needs[0].startswith("Needs Exercise"), text


def test_make_lab_opens_the_first_notebook():
    """JupyterLab prints and opens LabApp.default_url: the first notebook, not the launcher."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    first = sorted(STUDENTS.glob("[0-9]*.ipynb"))[0].relative_to(ROOT)
    assert f"--LabApp.default_url=/lab/tree/{first.as_posix()}" in dry_run.stdout, dry_run.stdout
