"""The trusted verdict on one student's notebook: the graders run outside the student's code.

For each graded exercise of a released notebook (a locked test cell whose first line is
``<name>_passed = <name>_test(<name>[, extra, ...])``), the trusted process runs the same
grader the notebook runs, ``medinterp.grading.<name>_test``, on a
:class:`~medinterp.instructor.remote.RemoteFunction`: the student's function runs in a
sandboxed worker, the grader's checks and messages run here on the plain data it returns
(see :mod:`medinterp.instructor.remote`). The worker runs the student's answer cells
(found by their grade id) with the released notebook's locked cells, the instructor's copy
of them, never the student's; test cells and cells the student added are not run. An answer
that calls the package's own implementation of its exercise
(:data:`medinterp.grading.package_answers.PACKAGE_ANSWERS`) while it is graded scores 0,
whatever its checks say.

:func:`plan` reads a released notebook; :func:`judge` grades one submission with it.
``python -m medinterp.instructor.verdict JOB OUT`` grades the submissions a JSON job file
names and writes the verdicts as JSON (the autograder runs one such process per student).
"""

from __future__ import annotations

import ast
import json
import sys
import types
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field
from importlib import import_module
from io import StringIO
from pathlib import Path

import nbformat

__all__ = ["Exercise", "Verdict", "plan", "judge", "answer_cells"]

GRADERS = "medinterp.grading"
MAX_FEEDBACK = 4000
RELEASED_CELL_SECONDS = 300  # characters of one grader's trusted output kept


@dataclass(frozen=True)
class Exercise:
    """One graded exercise of a released notebook."""

    grade_id: str  # the test cell's grade id
    grader: str  # the grader's name in medinterp.grading
    function: str  # the student's function it grades
    extras: tuple[tuple[str, str], ...]  # (module, name) of the grader's other arguments
    points: float


@dataclass
class Verdict:
    """What the trusted grader decided for one exercise."""

    passed: bool
    points: float
    checks_passed: int = 0
    checks_run: int = 0
    passed_checks: list[str] = field(default_factory=list)
    feedback: str = ""
    reason: str = ""  # why the answer could not be graded normally ('' if it could)


def _nbgrader(cell) -> dict:
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return metadata if isinstance(metadata, dict) else {}


def _imports(cells) -> dict[str, tuple[str, str]]:
    """``{bound name: (module, name)}`` of the ``from M import n`` lines of ``cells``."""
    bound = {}
    for cell in cells:
        try:
            tree = ast.parse(_without_magics(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    bound[alias.asname or alias.name] = (node.module, alias.name)
    return bound


def plan(released) -> tuple[list[Exercise], list]:
    """The graded exercises of released notebook ``released`` and its cells.

    Raises
    ------
    ValueError
        A test cell does not start with ``<name>_passed = <name>_test(<name>, ...)``, or
        an extra argument is not imported by a locked cell.
    """
    notebook = nbformat.read(released, as_version=4)
    locked = [c for c in notebook.cells if c.cell_type == "code" and _nbgrader(c).get("locked")]
    imports = _imports(locked)
    exercises = []
    for cell in notebook.cells:
        metadata = _nbgrader(cell)
        if cell.cell_type != "code" or not metadata.get("grade") or metadata.get("solution"):
            continue
        try:
            statement = ast.parse(cell.source).body[0]
            call = statement.value
            grader, function, *extras = [call.func.id, *(arg.id for arg in call.args)]
        except (SyntaxError, IndexError, AttributeError, ValueError):
            raise ValueError(
                f"{released}: test cell {metadata.get('grade_id')} must start with "
                "'<name>_passed = <name>_test(<name>, ...)'"
            ) from None
        missing = [name for name in extras if name not in imports]
        if missing:
            raise ValueError(f"{released}: {grader}'s arguments {missing} are not imported")
        exercises.append(
            Exercise(metadata["grade_id"], grader, function,
                     tuple(imports[name] for name in extras), float(metadata.get("points", 0)))
        )  # fmt: skip
    return exercises, notebook.cells


def _without_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines dropped (the worker runs plain Python)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def answer_cells(released_cells, submitted) -> tuple[list[str], dict[str, str]]:
    """The code the worker runs, in the released notebook's order, and each answer's text.

    Locked cells come from the released notebook (their imports, definitions and constants);
    each solution cell is the student's cell with that grade id (the first, if they copied it), or the released placeholder if
    they deleted it. A submission that cannot be read gives the placeholders.
    """
    answers = {}
    try:
        for cell in nbformat.read(submitted, as_version=4).cells:
            grade_id = _nbgrader(cell).get("grade_id")
            if isinstance(grade_id, str) and grade_id not in answers and cell.cell_type == "code":
                answers[grade_id] = str(cell.source)
    except Exception:  # noqa: BLE001 - a corrupt notebook is graded as untouched
        answers = {}
    code, texts = [], {}
    for cell in released_cells:
        metadata = _nbgrader(cell)
        if cell.cell_type != "code":
            continue
        if metadata.get("solution"):
            text = answers.get(metadata["grade_id"], cell.source)
            texts[metadata["grade_id"]] = text
            code.append(_without_magics(text))
        elif metadata.get("locked") and not metadata.get("grade"):
            code.append(_definitions(_without_magics(cell.source)))
    return code, texts


def _definitions(source: str) -> str:
    """The imports, definitions and constants of a locked cell: what an answer may use.

    The rest (loading data, training a model, drawing) is the lesson's, not the answers':
    the graders pass every input an answer needs.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
            kept.append(node)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(GRADERS):
            continue  # the graders run on the trusted side, not next to the answers
        elif isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
            kept.append(node)
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def _inert_function(texts: dict[str, str], name: str):
    """A function object for ``def name`` in the answers, compiled but never run: the
    graders read its source to tell an untouched template."""
    import linecache

    for grade_id, text in texts.items():
        filename = f"<answer {grade_id}>"
        try:
            module = compile(_without_magics(text), filename, "exec")
        except (SyntaxError, ValueError):
            continue
        for constant in module.co_consts:
            if isinstance(constant, types.CodeType) and constant.co_name == name:
                lines = text.splitlines(keepends=True)
                linecache.cache[filename] = (len(text), None, lines, filename)
                return types.FunctionType(constant, {})
    return None


def judge(exercises: list[Exercise], released_cells, submitted, timeout: float,
          limits=None) -> dict[str, Verdict]:  # fmt: skip
    """Grade ``submitted`` (a trusted copy of the student's notebook) exercise by exercise.

    A worker that dies, hangs or exits fails the exercise it was answering (with the
    reason); the next exercise gets a fresh worker, as a notebook's next cell would.
    """
    import medinterp.grading
    from medinterp.grading.feedback import last_checks
    from medinterp.grading.package_answers import PACKAGE_ANSWERS, package_answers
    from medinterp.instructor.remote import RemoteFunction, open_worker

    cells, texts = answer_cells(released_cells, submitted)
    # The student's cells get the cell timeout; the released imports (TensorFlow's takes
    # tens of seconds on a busy machine) get at least RELEASED_CELL_SECONDS.
    answers = {_without_magics(text) for text in texts.values()}
    seconds = [timeout if cell in answers else max(timeout, RELEASED_CELL_SECONDS)
               for cell in cells]  # fmt: skip
    watched = package_answers(exercise.function for exercise in exercises)
    verdicts, worker = {}, None
    try:
        for exercise in exercises:
            if worker is None or worker.gone:
                if worker is not None:
                    worker.close()
                worker = open_worker(cells, timeout, limits, seconds, watched)
            if worker.gone:
                verdicts[exercise.grade_id] = Verdict(
                    False, 0.0, reason=f"your notebook's code {worker.gone} before grading"
                )
                continue
            grader = getattr(medinterp.grading, exercise.grader)
            extras = [getattr(import_module(m), n) for m, n in exercise.extras]
            function = (
                RemoteFunction(worker, exercise.function, _inert_function(texts, exercise.function))
                if exercise.function in worker.functions
                else None
            )
            output = StringIO()
            worker.used.clear()
            with redirect_stdout(output):
                passed = bool(grader(function, *extras))
            checks = last_checks()
            passed_checks = [check.name for check in checks if check.passed]
            reason = f"your code {worker.gone}" if worker.gone else ""
            called = sorted(worker.used & set(PACKAGE_ANSWERS.get(exercise.function, ())))
            if called:  # no point at all, whatever points its other checks would earn
                passed, passed_checks = False, []
                reason = (f"{exercise.function} calls {called[0]}, the package's own answer "
                          "to this exercise")  # fmt: skip
            if function is None and not reason:
                errors = "; ".join(worker.cell_errors)
                reason = f"{exercise.function} is not defined" + (f" ({errors})" if errors else "")
            verdicts[exercise.grade_id] = Verdict(
                passed=passed,
                points=exercise.points if passed else 0.0,
                checks_passed=len(passed_checks),
                checks_run=len(checks),
                passed_checks=passed_checks,
                feedback=output.getvalue()[:MAX_FEEDBACK],
                reason=reason[:500],
            )
    finally:
        if worker is not None:
            worker.close()
    return verdicts


def main(argv: list[str]) -> None:
    """``JOB`` names ``notebooks`` ({notebook: [released path, submitted path]}),
    ``timeout`` and ``limits``; ``OUT`` gets {notebook: {grade id: verdict}}."""
    from medinterp.instructor.sandbox import Limits

    job = json.loads(Path(argv[0]).read_text())
    limits = Limits(**job["limits"])
    result = {}
    for notebook, (released, submitted) in job["notebooks"].items():
        exercises, cells = plan(released)
        verdicts = judge(exercises, cells, submitted, job["timeout"], limits)
        result[notebook] = {grade_id: asdict(v) for grade_id, v in verdicts.items()}
    Path(argv[1]).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
