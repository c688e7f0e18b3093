"""A simulated class, graded by nbgrader end to end (`make autograde`'s code path).

Sixteen students hand in notebook 05 (and two of them notebook 06), built from the
students' copies: correct answers in several styles, wrong answers from the grader banks,
an untouched notebook, a crash, a syntax error, an infinite loop, a forged test cell, a
deleted test cell, a grader redefined in an answer cell, the package's own function
imported as the answer (0: not the student's code), and a student who submitted another
notebook only. grades.csv is checked
cell by cell against the points each submission must get, and the feedback files against
the graders' messages.
"""

import inspect
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from medinterp.instructor.autograde import autograde

sys.path.insert(0, str(Path(__file__).parent))

from grader_banks import class_one_values_bank as shap_bank  # noqa: E402
from grader_banks import permutation_importance_bank as importance_bank  # noqa: E402
from grader_banks import permute_feature_bank as permute_bank  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NB05, NB06 = "05_permutation_importance", "06_shap"
# Only the notebooks someone handed in get rows (01-04 are not due in this simulated week).
MAX_SCORE = {NB05: 3, NB06: 1}
EXERCISES = {NB05: ["permute_feature", "permutation_importance"], NB06: ["class_one_values"]}
CELL_TIMEOUT = 40  # seconds; the slowest cell of notebook 05 takes about 4


def _solution_answers(notebook: str) -> dict[str, str]:
    """The source notebook's exercise cells, markers removed: the course's own answers."""
    source = nbformat.read(ROOT / "notebooks/source" / f"{notebook}.ipynb", as_version=4)
    return {
        cell.metadata.nbgrader["grade_id"]: re.sub(
            r"\n\s*### (BEGIN|END) SOLUTION", "", cell.source
        )
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def _answer(function, exercise: str, *helpers, imports: str = "") -> str:
    """An exercise cell holding a bank answer, renamed to the exercise's name."""
    code = inspect.getsource(function).replace(f"def {function.__name__}(", f"def {exercise}(", 1)
    parts = [imports, *(inspect.getsource(helper) for helper in helpers), code]
    return "# UNQ (UNIQUE CELL IDENTIFIER, DO NOT EDIT)\n" + "\n".join(p for p in parts if p)


GRADER_REDEFINED = (
    "def permute_feature_test(fn):\n    return True\n\n"
    "def permute_feature(df, feature):\n    return None\n"
)
PACKAGE_IMPORTED = "from medinterp.importance import permute_feature\n"
INFINITE = "def permute_feature(df, feature):\n    while True:\n        pass\n"
CRASHES = "def permute_feature(df, feature):\n    return df.permute(feature)\n"
SYNTAX_ERROR = "def permute_feature(df, feature)\n    return df\n"


def _class():
    """{student: {notebook: {cell grade_id: new source or None (deleted)}}}, and the points
    and tampered cells each must get: {student: {notebook: ({exercise: points}, tampered)}}."""
    course = _solution_answers(NB05)
    wrong_sort = _answer(permute_bank.sorts, "permute_feature")
    pf, pi = "permute_feature_solution", "permutation_importance_solution"
    submissions = {
        "ada": {NB05: dict(course)},
        "ben": {NB05: {pf: _answer(permute_bank.permutation_of_values, "permute_feature"),
                       pi: _answer(importance_bank.list_comprehensions, "permutation_importance")}},
        "cleo": {NB05: {pf: _answer(permute_bank.shuffle_numpy_copy, "permute_feature"),
                        pi: _answer(importance_bank.dict_of_importances, "permutation_importance",
                                    imports="import statistics")}},
        "dan": {NB05: {pf: wrong_sort}},
        "eve": {NB05: {pf: _answer(permute_bank.pandas_sample_values, "permute_feature"),
                       pi: _answer(importance_bank.takes_abs, "permutation_importance",
                                   importance_bank._loop)}},
        "finn": {NB05: {pf: _answer(permute_bank.loc_assignment, "permute_feature"),
                        pi: _answer(importance_bank.reversed_sign, "permutation_importance",
                                    importance_bank._loop)}},
        "gus": {NB05: {}},
        "hana": {NB05: {pf: CRASHES,
                        pi: _answer(importance_bank.at_accessor, "permutation_importance")}},
        "ivan": {NB05: {pf: SYNTAX_ERROR,
                        pi: _answer(importance_bank.own_shuffle_on_numpy, "permutation_importance")}},
        "jo": {NB05: {pf: INFINITE,
                      pi: _answer(importance_bank.generator_and_series, "permutation_importance")}},
        "kim": {NB05: {pf: wrong_sort, "permute_feature": "permute_feature_passed = True",
                       pi: _answer(importance_bank.numpy_input_to_model, "permutation_importance")}},
        "lea": {NB05: {pf: wrong_sort, "permute_feature": None}},
        "max": {NB05: dict(course),
                NB06: {"class_one_values_solution": _answer(shap_bank.ellipsis_index, "class_one_values")}},
        "nia": {NB06: {"class_one_values_solution": _answer(shap_bank.old_indexing_always, "class_one_values")}},
        "olga": {NB05: {pf: GRADER_REDEFINED}},
        "pat": {NB05: {pf: PACKAGE_IMPORTED}},
    }  # fmt: skip
    expected = {
        "ada": {NB05: ({"permute_feature": 1, "permutation_importance": 2}, "")},
        "ben": {NB05: ({"permute_feature": 1, "permutation_importance": 2}, "")},
        "cleo": {NB05: ({"permute_feature": 1, "permutation_importance": 2}, "")},
        "dan": {NB05: ({"permute_feature": 0, "permutation_importance": 0}, "")},
        "eve": {NB05: ({"permute_feature": 1, "permutation_importance": 0}, "")},
        "finn": {NB05: ({"permute_feature": 1, "permutation_importance": 0}, "")},
        "gus": {NB05: ({"permute_feature": 0, "permutation_importance": 0}, "")},
        "hana": {NB05: ({"permute_feature": 0, "permutation_importance": 2}, "")},
        "ivan": {NB05: ({"permute_feature": 0, "permutation_importance": 2}, "")},
        "jo": {NB05: ({"permute_feature": 0, "permutation_importance": 2}, "")},
        "kim": {NB05: ({"permute_feature": 0, "permutation_importance": 2}, "permute_feature")},
        "lea": {NB05: ({"permute_feature": 0, "permutation_importance": 0}, "permute_feature")},
        "max": {NB05: ({"permute_feature": 1, "permutation_importance": 2}, ""),
                NB06: ({"class_one_values": 1}, "")},
        "nia": {NB06: ({"class_one_values": 0}, "")},
        "olga": {NB05: ({"permute_feature": 0, "permutation_importance": 0}, "")},
        "pat": {NB05: ({"permute_feature": 0, "permutation_importance": 0}, "")},
    }  # fmt: skip
    # What the instructor is told to look at (grades.csv's flags column).
    flags = {
        "olga": "permute_feature_solution: uses permute_feature_test",
        "pat": "permute_feature_solution: imports medinterp.importance",
    }
    return submissions, expected, flags


def _write_submission(folder: Path, notebook: str, changes: dict) -> None:
    student_copy = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    cells = []
    for cell in student_copy.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in changes:
            if changes[grade_id] is None:
                continue  # the student deleted this cell
            cell.source = changes[grade_id]
        cells.append(cell)
    student_copy.cells = cells
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_copy, folder / f"{notebook}.ipynb")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    submissions, expected, flags = _class()
    assert len(submissions) >= 12
    folder = tmp_path_factory.mktemp("class")
    for student, notebooks in submissions.items():
        for notebook, changes in notebooks.items():
            _write_submission(folder / student, notebook, changes)
    result = autograde(
        folder, ROOT / "notebooks/source", timeout=CELL_TIMEOUT, config_dir=ROOT, jobs=2
    )
    seconds = result.seconds["autograde"]
    print(f"\nautograde: {result.n_notebooks} notebooks in {seconds:.0f} s, "
          f"{seconds / result.n_notebooks:.1f} s each; steps {result.seconds}")  # fmt: skip
    print(pd.read_csv(folder / "grades.csv").to_string(index=False))
    return folder, result, expected, flags


@pytest.mark.slow
def test_grades_csv_cell_by_cell(graded_class):
    folder, result, expected, flags = graded_class
    grades = pd.read_csv(
        folder / "grades.csv",
        keep_default_na=False,
        na_values={name: [""] for names in EXERCISES.values() for name in names},
    )
    exercise_columns = [e for names in EXERCISES.values() for e in names]
    assert list(grades.columns) == ["student", "notebook", "submitted", "score", "max_score",
                                    *exercise_columns, "tampered_cells", "flags",
                                    "forged", "reason", "checks"]  # fmt: skip
    assert len(grades) == len(expected) * len(MAX_SCORE)
    for row in grades.itertuples(index=False):
        row = row._asdict()
        student, notebook = row["student"], row["notebook"]
        points, tampered = expected[student].get(notebook, (None, ""))
        where = f"{student} / {notebook}"
        assert row["submitted"] == (points is not None), where
        assert row["max_score"] == MAX_SCORE[notebook], where
        own = EXERCISES[notebook]
        for exercise in exercise_columns:
            want = (points or {}).get(exercise, 0) if exercise in own else np.nan
            assert row[exercise] == want or (np.isnan(want) and np.isnan(row[exercise])), (
                f"{where}: {exercise} got {row[exercise]}, expected {want}"
            )
        assert row["score"] == sum((points or {}).values()), where
        assert row["tampered_cells"] == tampered, where
        assert row["flags"] == (flags.get(student, "") if points is not None else ""), where
        # No notebook's own tests claimed a pass the trusted grader refused.
        assert row["forged"] == "", where
        # Only an answer that never ended, never compiled, or is the package's own function
        # could not be graded as usual.
        named = {("jo", NB05): "permute_feature: your code stopped after",
                 ("ivan", NB05): "permute_feature is not defined",
                 ("pat", NB05): "calls medinterp.importance.permute_feature, the package's own",
                 }.get((student, notebook))  # fmt: skip
        assert (named in row["reason"]) if named else row["reason"] == "", (where, row["reason"])


def _feedback(folder: Path, student: str, notebook: str = NB05) -> str:
    path = folder / "feedback" / student / f"{notebook}.html"
    assert path.is_file(), f"no feedback file {path}"
    return path.read_text()


@pytest.mark.slow
def test_feedback_files_carry_the_graders_messages(graded_class):
    folder, result, expected, _ = graded_class
    submitted = {(s, n) for s, notebooks in expected.items() for n in notebooks}
    assert {(p.parent.name, p.stem) for p in result.feedback} == submitted
    assert "All tests passed" in _feedback(folder, "ada")
    assert "not attempted" in _feedback(folder, "gus")
    assert permute_bank.WRONG[permute_bank.sorts][1] in _feedback(folder, "dan")
    assert importance_bank.WRONG[importance_bank.takes_abs][1] in _feedback(folder, "eve")
    assert "AttributeError" in _feedback(folder, "hana")  # the crash, named
    assert "SyntaxError" in _feedback(folder, "ivan")
    assert "CellTimeoutError" in _feedback(folder, "jo")  # the infinite loop was stopped
    # The forged cell was graded as released: its grader ran and said what was wrong.
    kim = _feedback(folder, "kim")
    assert "permute_feature_passed = True" not in kim
    assert permute_bank.WRONG[permute_bank.sorts][1] in kim
    assert "Testing permute_feature" in _feedback(folder, "lea")  # the deleted cell came back
    assert "permute_feature_test was redefined in the notebook" in _feedback(folder, "olga")
    assert "is your own code" in _feedback(folder, "pat")
