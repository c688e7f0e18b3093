"""nbgrader's format, the release through generate_assignment, and the autograde plumbing.

The class simulation (nbgrader grading a dozen submissions) is tests/test_autograde.py.
"""

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.converters import GenerateAssignment
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import ClearOutput, ClearSolutions
from traitlets.config.loader import PyFileConfigLoader

from medinterp.instructor.autograde import collect_submissions
from medinterp.instructor.export import answer_flags, tampered_cells
from medinterp.instructor.placeholders import (
    ClearWidgetState,
    PlaceholderSolutions,
    placeholder_code,
)
from medinterp.instructor.release import release

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks/source"
SOLUTIONS = sorted(SOURCE.glob("[0-9]*.ipynb"))
NAMES = {path.stem for path in SOLUTIONS}


def _lines(code):
    return placeholder_code(textwrap.dedent(code).strip("\n")).split("\n")


# --- placeholders ---------------------------------------------------------------------------


def test_multi_line_statements_become_one_placeholder_line():
    """The regex tool this replaces left `num_samples = None` orphaned and indented inside a
    call spread over lines: a student copy that did not even parse."""
    lines = _lines("""
        details = permutation_importance_details(X_test, y_test, rf, cindex,
                                                 num_samples=30,
                                                 random_state=0)
        plot(details,
             num_samples = 5)
        total = sum([1,
                     2])
    """)
    assert lines == ["details = None", "total = None"]


def test_structure_comments_and_targets_are_kept():
    lines = _lines("""
        # 1. The baseline.
        baseline = metric(y, model.predict_proba(X)[:, 1])
        for feature in X.columns:  # every feature
            scores = np.zeros(n)
            with tf.GradientTape() as tape:
                maps, outputs = hook(image)
            importances.loc["importance", feature] = baseline - scores.mean()
            total += scores.sum()
            counts: list = []
        print("done")
        return total
    """)
    assert lines == [
        "# 1. The baseline.",
        "baseline = None",
        "for feature in X.columns:  # every feature",
        "    scores = None",
        "    with tf.GradientTape() as tape:",
        "        maps, outputs = None",
        '    importances.loc["importance", feature] = None',
        "    total += None",
        "    counts: list = None",
        "return None",
    ]


def test_every_branch_stays_valid_python():
    code = """
        if x:
            y = 1
        elif z:
            y = 2
        else:
            # nothing to keep but a call
            print(y)
        try:
            q = compute()
        except ValueError:
            q = None
        finally:
            log(q)
        while (a and
               b):
            break
    """
    result = "\n".join(_lines(code))
    ast.parse(result)
    assert result.split("\n") == [
        "if x:", "    y = None", "elif z:", "    y = None", "else:",
        "    # nothing to keep but a call", "    pass", "try:", "    q = None",
        "except ValueError:", "    q = None", "finally:", "    pass",
        "while (a and", "       b):", "    break",
    ]  # fmt: skip


def test_indentation_of_the_cell_is_kept():
    code = "    a = f(1,\n          2)\n    for i in x:\n        b = g(i)"
    assert placeholder_code(code) == "    a = None\n    for i in x:\n        b = None"


def test_a_region_that_is_not_python_is_refused():
    with pytest.raises(ValueError, match="whole Python statements"):
        placeholder_code("    for i in x:")
    with pytest.raises(ValueError, match="whole Python statements"):
        placeholder_code("    a = f(1,")


def _cell(source, **nbgrader):
    cell = new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade": False, "locked": False, "schema_version": 3,
                                     "solution": True, "grade_id": "x", **nbgrader}  # fmt: skip
    return cell


def test_preprocessor_on_cells():
    pre = PlaceholderSolutions()
    cell = _cell("def f():\n    ### BEGIN SOLUTION\n    x = 41 + 1\n    ### END SOLUTION\n    return x", solution=True)  # fmt: skip
    pre.preprocess_cell(cell, {}, 0)
    assert cell.source == "def f():\n    x = None\n    return x"
    whole = _cell("x = secret()", solution=True)
    pre.preprocess_cell(whole, {}, 1)
    assert "secret" not in whole.source and whole.source.startswith("#")
    untouched = new_code_cell("y = 2")
    pre.preprocess_cell(untouched, {}, 2)
    assert untouched.source == "y = 2"
    with pytest.raises(ValueError, match="not an nbgrader solution cell"):
        pre.preprocess_cell(new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), {}, 3)
    for broken, message in [
        ("### BEGIN SOLUTION\nx = 1", "without ### END"),
        ("### END SOLUTION", "without ### BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "Nested"),
    ]:
        with pytest.raises(ValueError, match=message):
            pre.preprocess_cell(_cell(broken, solution=True), {}, 4)


def test_widget_state_and_run_times_are_cleared_from_a_copy():
    notebook = new_notebook(cells=[new_code_cell("x = 1")])
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"s": 1}}
    notebook.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-11-22"}
    notebook.cells[0].metadata["tags"] = ["nbval-check-output"]
    cleared, _ = ClearWidgetState().preprocess(notebook, {})
    assert "widgets" not in cleared.metadata and "execution" not in cleared.cells[0].metadata
    assert cleared.cells[0].metadata["tags"] == ["nbval-check-output"]


def test_config_is_nbgraders_pipeline_with_our_two_steps():
    """If an nbgrader upgrade changes its generate_assignment pipeline, this says so."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    ours = config.GenerateAssignment.preprocessors
    expected = list(GenerateAssignment.class_traits()["preprocessors"].default())
    expected[expected.index(ClearSolutions)] = PlaceholderSolutions
    expected.insert(expected.index(ClearOutput) + 1, ClearWidgetState)
    assert ours == expected
    assert config.Execute.timeout > 0 and config.OverwriteCells.add_missing_cells is True


# --- the source notebooks in nbgrader's format ----------------------------------------------


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_source_notebooks_carry_nbgrader_metadata(solution):
    notebook = nbformat.read(solution, as_version=4)
    MetadataValidator().validate_nb(notebook)  # raises on a malformed cell
    ids, points = [], 0
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if cell.cell_type == "markdown":
            assert meta and meta["locked"] and not meta["solution"], cell.source[:60]
        if "### BEGIN SOLUTION" in cell.source:
            assert meta and meta["solution"] and not meta["grade"] and not meta["locked"]
        if meta is None:
            continue
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert meta["locked"] and meta["points"] > 0
            name = meta["grade_id"]
            assert cell.source.startswith(f"{name}_passed = {name}_test({name}")
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
            assert f"assert {name}_passed" in hidden
            # A grader redefined in an answer cell would grade itself: the hidden test fails it.
            assert f"assert {name}_test is medinterp.grading.{name}_test" in hidden
            points += meta["points"]
    assert len(ids) == len(set(ids)), "grade ids must be unique in a notebook"
    exercises = sum("### BEGIN SOLUTION" in c.source for c in notebook.cells)
    assert (points > 0) == (exercises > 0)


@pytest.mark.slow
def test_release_regenerates_the_committed_copies_byte_for_byte(tmp_path):
    written = release(SOURCE, tmp_path, config_dir=ROOT)
    assert [p.name for p in written] == [p.name for p in SOLUTIONS]
    for path in written:
        committed = ROOT / "notebooks" / path.name
        assert path.read_bytes() == committed.read_bytes(), f"{path.name}: run `make release`"


@pytest.mark.slow
def test_nbgrader_validate_passes_on_a_solution_notebook(tmp_path):
    """nbgrader's own check (it runs the notebook and its hidden tests); nbval runs every
    solution notebook, hidden tests included, in make test."""
    scripts = str(Path(sys.executable).parent)
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(SOURCE / "06_shap.ipynb")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": scripts + ":" + os.environ["PATH"]},
    )  # fmt: skip
    assert "Success! Your notebook passes all the tests." in completed.stdout, completed.stdout


def test_release_needs_the_config_and_the_notebooks(tmp_path):
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        release(SOURCE, tmp_path / "out", config_dir=tmp_path)
    with pytest.raises(ValueError, match="NN_name.ipynb"):
        release(tmp_path, tmp_path / "out", config_dir=ROOT)


# --- submissions and tampering --------------------------------------------------------------


def _submit(path: Path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_both_submission_layouts_are_read(tmp_path):
    platform = tmp_path / "platform"
    _submit(platform / "ada" / "05_permutation_importance.ipynb")
    _submit(platform / "ada" / "06_shap.ipynb")
    _submit(platform / "b.o-b" / "upload" / "06_shap.ipynb")  # a platform's own subfolder
    _submit(platform / "b.o-b" / ".ipynb_checkpoints" / "06_shap.ipynb")
    _submit(platform / "feedback" / "ada" / "06_shap.ipynb")  # our own output, skipped
    found = collect_submissions(platform, NAMES)
    assert sorted(found) == ["ada", "b.o-b"]
    assert sorted(found["ada"]) == ["05_permutation_importance", "06_shap"]
    assert found["b.o-b"]["06_shap"].parent.name == "upload"
    nbgrader_layout = tmp_path / "course"
    _submit(nbgrader_layout / "submitted" / "ada" / "series" / "06_shap.ipynb")
    found = collect_submissions(nbgrader_layout, NAMES)
    assert list(found) == ["ada"] and list(found["ada"]) == ["06_shap"]


def test_every_problem_is_named_at_once(tmp_path):
    _submit(tmp_path / "ada" / "model_interpretation.ipynb")
    _submit(tmp_path / "ada smith" / "06_shap.ipynb")
    _submit(tmp_path / "bob" / "a" / "06_shap.ipynb")
    _submit(tmp_path / "bob" / "b" / "06_shap.ipynb")
    (tmp_path / "cleo").mkdir()
    _submit(tmp_path / "dan" / "06_shap.ipynb")  # fine: not in the message
    with pytest.raises(ValueError) as raised:
        collect_submissions(tmp_path, NAMES)
    message = str(raised.value)
    for part in ("model_interpretation.ipynb: not a notebook of the series",
                 "student id 'ada smith'", "bob has two copies of 06_shap.ipynb",
                 "no notebook in cleo's folder", "the notebooks are 01_hooks_and_gradients"):  # fmt: skip
        assert part in message
    assert "dan" not in message


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["submitted/ada/series/06_shap.ipynb", "submitted/ada/other/06_shap.ipynb"],
         "one assignment folder"),
        ([], "No submission"),
    ],
)  # fmt: skip
def test_bad_submission_folders_are_named(tmp_path, files, message):
    for name in files:
        _submit(tmp_path / name)
    with pytest.raises(ValueError, match=message):
        collect_submissions(tmp_path, NAMES)
    with pytest.raises(ValueError, match="must be a folder"):
        collect_submissions(tmp_path / "missing", NAMES)


def test_command_line_names_the_problem_without_a_traceback(tmp_path):
    _submit(tmp_path / "ada" / "notes.ipynb")
    completed = subprocess.run(
        [sys.executable, "-m", "medinterp.instructor.autograde", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "notes.ipynb: not a notebook of the series" in completed.stderr
    assert "Traceback" not in completed.stderr


def _released(tmp_path):
    notebook = new_notebook(cells=[new_markdown_cell("read me"), new_code_cell("f_passed = f_test(f)"),
                                   new_code_cell("def f(): return None")])  # fmt: skip
    kinds = [("instructions", True, False, False), ("f", True, True, False),
             ("f_solution", False, False, True)]  # fmt: skip
    for cell, (grade_id, locked, grade, solution) in zip(notebook.cells, kinds, strict=True):
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": locked, "grade": grade,
                                     "solution": solution, "schema_version": 3}  # fmt: skip
        if grade:
            cell.metadata["nbgrader"]["points"] = 1
    from nbgrader.utils import compute_checksum

    for cell in notebook.cells:
        cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    path = tmp_path / "released.ipynb"
    nbformat.write(notebook, path)
    return path, notebook


def test_tampered_cells_are_the_changed_or_deleted_locked_ones(tmp_path):
    path, notebook = _released(tmp_path)
    submitted = tmp_path / "submitted.ipynb"
    answered = nbformat.from_dict(notebook)
    answered.cells[2].source = "def f(): return 42"  # the answer: not tampering
    nbformat.write(answered, submitted)
    assert tampered_cells(submitted, path) == []
    forged = nbformat.from_dict(answered)
    forged.cells[1].source = "f_passed = True"
    nbformat.write(forged, submitted)
    assert tampered_cells(submitted, path) == ["f"]
    deleted = nbformat.from_dict(answered)
    del deleted.cells[0]
    nbformat.write(deleted, submitted)
    assert tampered_cells(submitted, path) == ["instructions"]


def test_autograde_target_needs_submissions():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    completed = subprocess.run([make, "-s", "autograde"], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "SUBMISSIONS": ""})  # fmt: skip
    assert completed.returncode != 0 and "usage: make autograde SUBMISSIONS=DIR" in completed.stdout


def test_answers_reaching_for_graders_or_the_package_are_flagged(tmp_path):
    path, notebook = _released(tmp_path)
    submitted = tmp_path / "submitted.ipynb"
    cases = {
        "def f():\n    return sorted(x)": [],
        "def f_test(fn):\n    return True\ndef f(): return None": ["f_solution: uses f_test"],
        "from medinterp.importance import permute_feature as f": [
            "f_solution: imports medinterp.importance"
        ],
        "import medinterp.grading as g\ng.f_test = print": [
            "f_solution: imports medinterp.grading",
            "f_solution: uses f_test",
        ],
        "def f(:": [],  # does not parse: scores 0 anyway
    }
    for answer, flags in cases.items():
        copy = nbformat.from_dict(notebook)
        copy.cells[2].source = answer
        copy.cells[0].source = "import medinterp"  # a locked cell: not the student's answer
        nbformat.write(copy, submitted)
        assert answer_flags(submitted) == flags, answer
