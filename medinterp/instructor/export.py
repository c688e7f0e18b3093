"""``nbgrader export --exporter=medinterp.instructor.export.GradesCsv``: the class's grades.

nbgrader's own CSV export has one row per student and assignment. An instructor of this
series needs one row per student and notebook, one column per exercise, to know who edited
a locked test cell (nbgrader restores such a cell before grading it, its "checksum
treatment"; ``tampered_cells`` says whose), and whose answers reach for the graders or the
package's own implementations (``flags``: a grader redefined in an answer cell would
otherwise grade itself). :func:`grades_table` builds that table from the gradebook and the
course folder; :class:`GradesCsv` is the export plugin that writes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pandas as pd
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from medinterp.instructor.course import ASSIGNMENT

__all__ = ["GradesCsv", "grades_table", "exercises", "tampered_cells", "answer_flags"]


def exercises(release_dir) -> dict[str, list[str]]:
    """``{notebook: [grade cell ids in the notebook's order]}`` for a released assignment."""
    order = {}
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        order[path.stem] = [cell.metadata.nbgrader["grade_id"]
                            for cell in notebook.cells if utils.is_grade(cell)]  # fmt: skip
    return order


def tampered_cells(submitted: Path, released: Path) -> list[str]:
    """The locked cells of the submitted notebook whose text differs from the released one.

    A locked cell the student deleted counts too. Compared by nbgrader's own checksum of
    the released copy (the students' file, without hidden tests).
    """
    released_cells = nbformat.read(released, as_version=4).cells
    checksums = {cell.metadata.nbgrader["grade_id"]: cell.metadata.nbgrader["checksum"]
                 for cell in released_cells if utils.is_locked(cell)}  # fmt: skip
    found = {}
    for cell in nbformat.read(submitted, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in checksums:
            found[grade_id] = utils.compute_checksum(cell)
    return [grade_id for grade_id, checksum in checksums.items() if found.get(grade_id) != checksum]


def answer_flags(submitted: Path) -> list[str]:
    """What an instructor should look at in the student's answer cells.

    A name ending in ``_test`` (the graders) used, defined or assigned there, or any import
    of ``medinterp`` (whose modules hold reference implementations): one text per finding,
    ``"<cell>: <what>"``. Answers that do not parse are not flagged (they score 0 anyway).
    """
    flags = []
    for cell in nbformat.read(submitted, as_version=4).cells:
        if cell.cell_type != "code" or not utils.is_solution(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute | ast.FunctionDef | ast.ClassDef):
                name = getattr(node, "id", None) or getattr(node, "attr", None) or node.name
                if name.endswith("_test"):
                    found.add(f"uses {name}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                )
                found.update(f"imports {m}" for m in modules if m.split(".")[0] == "medinterp")
        grade_id = cell.metadata.nbgrader["grade_id"]
        flags += [f"{grade_id}: {finding}" for finding in sorted(found)]
    return flags


def grades_table(gradebook: Gradebook, course_dir, assignment: str = ASSIGNMENT) -> pd.DataFrame:
    """One row per student and graded notebook that someone in the class handed in.

    Notebooks without points (03) and notebooks nobody submitted (not due yet) have no rows.
    Columns: ``student``, ``notebook``, ``submitted`` (False: this student has no file for a
    notebook others handed in; scored 0), ``score``, ``max_score``, one column per exercise
    (its grade cell id; points earned, empty where the notebook has no such exercise),
    ``tampered_cells`` (locked cells the student changed or deleted, ``;``-separated;
    nbgrader graded the original instead) and ``flags`` (:func:`answer_flags`).
    """
    course_dir = Path(course_dir)
    release_dir = course_dir / "release" / assignment
    handed_in = {path.stem for path in (course_dir / "submitted").glob(f"*/{assignment}/*.ipynb")}
    order = {
        notebook: grade_ids
        for notebook, grade_ids in exercises(release_dir).items()
        if grade_ids and notebook in handed_in
    }
    columns = [grade_id for ids in order.values() for grade_id in ids]
    rows = []
    for student in sorted(s.id for s in gradebook.students):
        for notebook, grade_ids in order.items():
            row = {"student": student, "notebook": notebook}
            submitted = course_dir / "submitted" / student / assignment / f"{notebook}.ipynb"
            # nbgrader records every notebook of a submission, with 0 for a missing file.
            row["submitted"] = submitted.is_file()
            try:
                record = gradebook.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                record = None
            max_score = gradebook.find_notebook(notebook, assignment).max_score
            row["score"] = float(record.score) if record is not None else 0.0
            row["max_score"] = float(max_score)
            for grade_id in grade_ids:
                row[grade_id] = (
                    float(gradebook.find_grade(grade_id, notebook, assignment, student).score)
                    if record is not None
                    else 0.0
                )
            released = release_dir / f"{notebook}.ipynb"
            row["tampered_cells"] = (
                ";".join(tampered_cells(submitted, released)) if row["submitted"] else ""
            )
            row["flags"] = ";".join(answer_flags(submitted)) if row["submitted"] else ""
            rows.append(row)
    head = ["student", "notebook", "submitted", "score", "max_score"]
    return pd.DataFrame(rows, columns=[*head, *columns, "tampered_cells", "flags"])


class GradesCsv(ExportPlugin):
    """nbgrader export plugin writing :func:`grades_table` to ``--to`` (default grades.csv)."""

    def export(self, gradebook: Gradebook) -> None:
        destination = self.to or "grades.csv"
        course_dir = self.parent.coursedir.root
        table = grades_table(gradebook, course_dir)
        table.to_csv(destination, index=False)
        self.log.info("Wrote %d rows to %s", len(table), destination)
