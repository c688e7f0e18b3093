"""The class's results, written by the trusted process once every sandbox is gone.

- :func:`collect`: a submission's hash, tampered locked cells and flags, taken from the
  trusted copy when the submissions are collected (before any student code runs);
- :func:`build_records`: one record per student and notebook from the trusted verdicts,
  what the notebook's own hidden tests claimed, and why anything failed;
- :func:`grades_table`: grades.csv;
- :func:`write_gradebook`: nbgrader's gradebook (for the formgrader), with the trusted
  scores;
- :func:`write_feedback`: ``feedback/<student>/<notebook>.html``: the verdict on top of the
  notebook nbgrader ran in the sandbox, with nbgrader's own ``generate_feedback``.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_markdown_cell, new_notebook

from medinterp.instructor.course import ASSIGNMENT, run_nbgrader
from medinterp.instructor.export import answer_flags, tampered_cells

__all__ = ["collect", "build_records", "grades_table", "write_gradebook", "write_feedback"]

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # a graded notebook larger than this is not shown
MAX_OUTPUT_BYTES = 200 * 1024  # one cell output larger than this is replaced by a note


def collect(copy: Path, released: Path) -> dict:
    """What the trusted copy of a submission shows before it runs."""
    data = copy.read_bytes()
    found = {"sha256": hashlib.sha256(data).hexdigest(), "readable": True,
             "tampered_cells": [], "flags": []}  # fmt: skip
    try:
        found["tampered_cells"] = tampered_cells(copy, released)
        found["flags"] = answer_flags(copy)
    except Exception:  # noqa: BLE001 - any unreadable notebook is named, not raised
        found["readable"] = False
    return found


def _claimed(notebook: bytes | None) -> set[str]:
    """Grade ids whose test cell ran without an error in the sandbox's graded notebook."""
    if not notebook or len(notebook) > MAX_NOTEBOOK_BYTES:
        return set()
    try:
        cells = json.loads(notebook)["cells"]
    except (ValueError, KeyError, TypeError):
        return set()
    seen, claimed = set(), set()
    for cell in cells if isinstance(cells, list) else []:
        metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        nbgrader = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if not isinstance(grade_id, str) or grade_id in seen:
            continue
        seen.add(grade_id)
        outputs = cell.get("outputs", [])
        if isinstance(outputs, list) and not any(
            isinstance(o, dict) and o.get("output_type") == "error" for o in outputs
        ):
            claimed.add(grade_id)
    return claimed


def _first_line(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if "Error" in line or "error" in line]
    return (lines[-1] if lines else (log.strip().splitlines() or [""])[-1]).strip()[:200]


def build_records(collected: dict, graded: dict, plans: dict, check_points: dict) -> list[dict]:
    """One record (plain data) per student and notebook they handed in."""
    records = []
    for student, notebooks in collected.items():
        result = graded[student]
        run = result["run"]
        for notebook, found in notebooks.items():
            if notebook not in plans:
                continue
            exercises, _ = plans[notebook]
            ran = run["notebooks"].get(notebook)
            reasons = []
            if not found["readable"]:
                reasons.append("the notebook file cannot be read")
            if ran is None:
                why = "; ".join(filter(None, [run["reason"], _first_line(run["log"])]))
                reasons.append(f"the notebook could not be run ({why})")
            if result["verdict_reason"]:
                reasons.append(result["verdict_reason"])
            whole_notebook_failed = bool(reasons)
            claimed = _claimed(ran)
            verdicts = result["verdicts"].get(notebook, {})
            entries, forged = {}, []
            for exercise in exercises:
                verdict = verdicts.get(exercise.grade_id)
                if verdict is None:
                    verdict = {"passed": False, "points": 0.0, "checks_passed": 0,
                               "checks_run": 0, "passed_checks": [], "feedback": "",
                               "reason": ""}  # fmt: skip
                points = _points(exercise, verdict, check_points.get(exercise.grade_id))
                if whole_notebook_failed:  # a notebook that could not be run scores 0
                    points = 0.0
                if verdict["reason"]:
                    reasons.append(f"{exercise.function}: {verdict['reason']}")
                if exercise.grade_id in claimed and not verdict["passed"]:
                    forged.append(exercise.grade_id)
                entries[exercise.grade_id] = {**verdict, "points": points,
                                              "max_points": exercise.points}  # fmt: skip
            records.append({
                "student": student, "notebook": notebook, "sha256": found["sha256"],
                "tampered_cells": found["tampered_cells"], "flags": found["flags"],
                "exercises": entries, "forged": forged, "reason": "; ".join(reasons)[:1000],
                "score": sum(e["points"] for e in entries.values()),
                "max_score": sum(e.points for e in exercises),
            })  # fmt: skip
    return records


def _points(exercise, verdict: dict, check_points: dict | None) -> float:
    """All or nothing, or (when the instructor gives points per check) the points of the
    checks that passed, at most the exercise's points."""
    if not check_points:
        return exercise.points if verdict["passed"] else 0.0
    earned = sum(float(check_points.get(name, 0)) for name in verdict["passed_checks"])
    return min(exercise.points, earned)


def grades_table(records: list[dict], plans: dict) -> pd.DataFrame:
    """One row per student and graded notebook that someone in the class handed in.

    Columns: ``student``, ``notebook``, ``submitted``, ``score``, ``max_score``, one column
    of points per exercise (its grade id; empty where the notebook has no such exercise),
    ``tampered_cells`` and ``flags`` (from the copies taken at collection), ``forged`` (the
    exercises whose hidden tests claimed a pass the trusted grader refused), ``reason``
    (why a notebook or an exercise could not be graded normally) and ``checks`` (checks
    passed of checks run, per exercise).
    """
    handed_in = {record["notebook"] for record in records}
    order = {notebook: [e.grade_id for e in exercises]
             for notebook, (exercises, _) in plans.items()
             if exercises and notebook in handed_in}  # fmt: skip
    columns = [grade_id for grade_ids in order.values() for grade_id in grade_ids]
    by_key = {(r["student"], r["notebook"]): r for r in records}
    rows = []
    for student in sorted({record["student"] for record in records}):
        for notebook, grade_ids in order.items():
            record = by_key.get((student, notebook))
            row = {"student": student, "notebook": notebook, "submitted": record is not None}
            exercises = plans[notebook][0]
            row["score"] = float(record["score"]) if record else 0.0
            row["max_score"] = float(sum(e.points for e in exercises))
            entries = record["exercises"] if record else {}
            for grade_id in grade_ids:
                row[grade_id] = float(entries.get(grade_id, {}).get("points", 0.0))
            row["tampered_cells"] = ";".join(record["tampered_cells"]) if record else ""
            row["flags"] = ";".join(record["flags"]) if record else ""
            row["forged"] = ";".join(record["forged"]) if record else ""
            row["reason"] = record["reason"] if record else ""
            row["checks"] = "; ".join(
                f"{grade_id} {entries[grade_id]['checks_passed']}/{entries[grade_id]['checks_run']}"
                for grade_id in grade_ids
                if grade_id in entries
            )
            rows.append(row)
    head = ["student", "notebook", "submitted", "score", "max_score"]
    tail = ["tampered_cells", "flags", "forged", "reason", "checks"]
    return pd.DataFrame(rows, columns=[*head, *columns, *tail])


def write_gradebook(course: Path, records: list[dict]) -> None:
    """The trusted scores in nbgrader's gradebook (the formgrader reads it)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in sorted({record["student"] for record in records}):
            gradebook.update_or_create_student(student)
            gradebook.add_submission(ASSIGNMENT, student)
        for record in records:
            for grade_id, entry in record["exercises"].items():
                grade = gradebook.find_grade(grade_id, record["notebook"], ASSIGNMENT,
                                             record["student"])  # fmt: skip
                grade.auto_score = entry["points"]
        gradebook.db.commit()


def _verdict_cell(record: dict) -> str:
    lines = [f"## Your grade: {record['score']:g} of {record['max_score']:g}", ""]
    lines.append("Decided by the course's graders outside your notebook: they called your "
                 "functions and checked what they returned.")  # fmt: skip
    if record["reason"]:
        lines += ["", f"**Not graded as usual:** {html.escape(record['reason'])}"]
    if record["forged"]:
        lines += ["", "**Your notebook's own tests passed where the course's grader did not: "
                  f"{html.escape(', '.join(record['forged']))}.**"]  # fmt: skip
    for grade_id, entry in record["exercises"].items():
        lines += ["", f"### {html.escape(grade_id)}: {entry['points']:g} of "
                  f"{entry['max_points']:g} ({entry['checks_passed']} of {entry['checks_run']} "
                  "checks passed)", "", "```", entry["feedback"].strip() or "(no output)", "```"]  # fmt: skip
    return "\n".join(lines)


def _graded_notebook(ran: bytes | None, release_cells: dict, record: dict):
    """The sandbox's graded notebook made safe to render: nbgrader metadata only on the
    released grade ids (the released metadata, first copy only), large outputs replaced,
    and the trusted verdict on top. An unreadable one becomes the verdict alone."""
    notebook = None
    if ran and len(ran) <= MAX_NOTEBOOK_BYTES:
        try:
            notebook = nbformat.reads(ran.decode("utf-8"), as_version=4)
            nbformat.validate(notebook)
        except Exception:  # noqa: BLE001 - whatever the sandbox left, the verdict is shown
            notebook = None
    if notebook is None:
        notebook = new_notebook()
    seen = set()
    for cell in notebook.cells:
        metadata = cell.metadata.get("nbgrader")
        grade_id = metadata.get("grade_id") if isinstance(metadata, dict) else None
        cell.metadata.pop("nbgrader", None)
        if grade_id in release_cells and grade_id not in seen:
            seen.add(grade_id)
            cell.metadata["nbgrader"] = dict(release_cells[grade_id])
        for index, output in enumerate(cell.get("outputs", [])):
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                cell.outputs[index] = nbformat.v4.new_output(
                    "stream", name="stdout", text=f"(an output of {size} bytes, not shown)\n"
                )
    notebook.cells.insert(0, new_markdown_cell(_verdict_cell(record)))
    return notebook


def write_feedback(course, records, graded, plans, config_dir, destination: Path) -> list[Path]:
    """``destination/<student>/<notebook>.html`` for every record, through nbgrader's
    ``generate_feedback`` in the trusted course (one student at a time if the class's run
    fails, and a plain page for a student whose notebook it still cannot render)."""
    autograded = course / "autograded"
    if autograded.exists():
        shutil.rmtree(autograded)
    for record in records:
        _, cells = plans[record["notebook"]]
        release_cells = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
                         for c in cells if "grade_id" in c.metadata.get("nbgrader", {})}  # fmt: skip
        ran = graded[record["student"]]["run"]["notebooks"].get(record["notebook"])
        target = autograded / record["student"] / ASSIGNMENT / f"{record['notebook']}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_graded_notebook(ran, release_cells, record), target)
    students = sorted({record["student"] for record in records})
    try:
        run_nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course, config_dir)
    except RuntimeError:
        for student in students:
            try:
                run_nbgrader(["generate_feedback", ASSIGNMENT, "--force", f"--student={student}"],
                             course, config_dir)  # fmt: skip
            except RuntimeError:
                continue
    written = []
    for record in records:
        student, notebook = record["student"], record["notebook"]
        source = course / "feedback" / student / ASSIGNMENT / f"{notebook}.html"
        target = destination / student / f"{notebook}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            shutil.copyfile(source, target)
        else:
            page = _verdict_cell(record)
            target.write_text(
                f"<!DOCTYPE html><meta charset='utf-8'><pre>{html.escape(page)}</pre>"
            )
        written.append(target)
    return written
