"""``make autograde SUBMISSIONS=DIR``: grade a class's notebooks with nbgrader.

``DIR`` holds the class's submissions, either the way a learning platform exports them::

    DIR/<student_id>/<notebook>.ipynb                       e.g. DIR/ada/05_permutation_importance.ipynb

or in nbgrader's own layout, ``DIR/submitted/<student_id>/<assignment>/<notebook>.ipynb``.
A fresh nbgrader course is built in ``DIR/nbgrader_course`` from the solution notebooks,
the submissions are copied in, and nbgrader's ``autograde`` (each cell under a timeout, locked
cells restored from their checksums, hidden tests put back), ``generate_feedback`` and
``export`` run. The results:

- ``DIR/grades.csv``: one row per student and notebook, one column per exercise
  (:func:`medinterp.instructor.export.grades_table`);
- ``DIR/feedback/<student_id>/<notebook>.html``: the graded notebook with every grader's
  feedback, for the student.

    python -m medinterp.instructor.autograde DIR [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
from pathlib import Path

import pandas as pd
from sklearn.utils import Bunch

from medinterp.instructor.course import (
    ASSIGNMENT,
    make_course,
    run_nbgrader,
    solution_notebooks,
)

__all__ = ["collect_submissions", "autograde", "COURSE_FOLDER", "FEEDBACK_FOLDER", "GRADES_FILE"]

COURSE_FOLDER, FEEDBACK_FOLDER, GRADES_FILE = "nbgrader_course", "feedback", "grades.csv"
# nbgrader puts student ids into paths and its database; keep them to plain names.
_STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")


def collect_submissions(submissions, notebook_names) -> dict[str, dict[str, Path]]:
    """``{student_id: {notebook: path}}`` found in ``submissions`` (either layout).

    A student's notebooks may sit in subfolders of their folder (some platforms add one).
    A student folder holding no notebook is reported, not skipped in silence.

    Raises
    ------
    ValueError
        Naming every problem at once: the folder is missing or holds no submission, a
        student id is not a plain name, a notebook is not one of ``notebook_names`` (or
        appears twice for one student), a student folder has no notebook, or nbgrader's
        layout holds more than one assignment for a student.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(f"SUBMISSIONS must be a folder of submissions, got {submissions}")
    nbgrader_layout = (submissions / "submitted").is_dir()
    root = submissions / "submitted" if nbgrader_layout else submissions
    found, problems = {}, []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or (
            not nbgrader_layout and folder.name in (COURSE_FOLDER, FEEDBACK_FOLDER)
        ):
            continue
        student = folder.name
        if not _STUDENT_ID.fullmatch(student):
            problems.append(f"student id {student!r} must be letters, digits and . _ @ - only")
            continue
        if nbgrader_layout:
            assignments = [p for p in folder.iterdir() if p.is_dir()]
            if len(assignments) != 1:
                names = sorted(p.name for p in assignments)
                problems.append(f"{folder} must hold one assignment folder, found {names}")
                continue
            folder = assignments[0]
        notebooks = {}
        for path in sorted(folder.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            if path.stem not in notebook_names:
                problems.append(f"{path}: not a notebook of the series")
            elif path.stem in notebooks:
                problems.append(f"{path}: {student} has two copies of {path.name}")
            else:
                notebooks[path.stem] = path
        if notebooks:
            found[student] = notebooks
        else:
            problems.append(f"{folder}: no notebook in {student}'s folder")
    if problems:
        raise ValueError(
            "Cannot grade these submissions; fix the files below and run again (the "
            f"notebooks are {', '.join(sorted(notebook_names))}):\n  " + "\n  ".join(problems)
        )
    if not found:
        raise ValueError(
            f"No submission in {submissions}: expected <student_id>/<notebook>.ipynb or "
            "submitted/<student_id>/<assignment>/<notebook>.ipynb"
        )
    return found


def autograde(submissions, source_dir="notebooks/source", timeout=None, config_dir=None) -> Bunch:
    """Grade every submission in ``submissions`` and write grades.csv and the feedback.

    Parameters
    ----------
    submissions : path
        The class's folder (see the module docstring for the two layouts).
    source_dir : path, default="notebooks/source"
        The solution notebooks the assignment is generated from.
    timeout : int, optional
        Seconds a cell may run before nbgrader interrupts it and it scores 0; default
        ``nbgrader_config.py``'s ``Execute.timeout``.
    config_dir : path, optional
        The folder holding ``nbgrader_config.py``; default the current directory.

    Returns
    -------
    Bunch
        ``grades`` (the DataFrame written to grades.csv), ``feedback`` (the HTML files),
        ``n_notebooks`` (notebooks graded) and ``seconds`` (wall time of each nbgrader step).
    """
    if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    submissions = Path(submissions)
    names = {path.stem for path in solution_notebooks(source_dir)}
    found = collect_submissions(submissions, names)
    seconds = {}
    started = time.perf_counter()
    course = make_course(submissions / COURSE_FOLDER, source_dir, config_dir)
    seconds["generate_assignment"] = time.perf_counter() - started
    for student, notebooks in found.items():
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        for name, path in notebooks.items():
            shutil.copyfile(path, target / f"{name}.ipynb")
    grades_file = submissions / GRADES_FILE
    steps = {
        "autograde": ["autograde", ASSIGNMENT, "--force"]
        + ([f"--Execute.timeout={timeout}"] if timeout else []),
        "generate_feedback": ["generate_feedback", ASSIGNMENT, "--force"],
        "export": [
            "export",
            "--exporter=medinterp.instructor.export.GradesCsv",
            f"--to={grades_file.resolve()}",
        ],  # fmt: skip
    }
    for step, arguments in steps.items():
        started = time.perf_counter()
        run_nbgrader(arguments, course, config_dir)
        seconds[step] = time.perf_counter() - started
    feedback = _collect_feedback(course, submissions / FEEDBACK_FOLDER)
    return Bunch(
        grades=pd.read_csv(grades_file, keep_default_na=False),
        feedback=feedback,
        n_notebooks=sum(len(notebooks) for notebooks in found.values()),
        seconds=seconds,
    )


def _collect_feedback(course: Path, destination: Path) -> list[Path]:
    """nbgrader's feedback/<student>/<assignment>/<nb>.html as destination/<student>/<nb>.html."""
    if destination.exists():
        shutil.rmtree(destination)
    written = []
    for html in sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html")):
        target = destination / html.parent.parent.name / html.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, target)
        written.append(target)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--source-dir", type=Path, default=Path("notebooks/source"))
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    args = parser.parse_args(argv)
    try:
        result = autograde(args.submissions, args.source_dir, args.timeout)
    except ValueError as error:  # the instructor's input: the message, not a traceback
        parser.exit(2, f"make autograde: {error}\n")
    per_notebook = result.seconds["autograde"] / result.n_notebooks
    print(result.grades.to_string(index=False))
    print(
        f"\nautograded {result.n_notebooks} notebooks in {result.seconds['autograde']:.0f} s "
        f"({per_notebook:.1f} s each); wrote {args.submissions / GRADES_FILE} and "
        f"{len(result.feedback)} feedback files in {args.submissions / FEEDBACK_FOLDER}"
    )


if __name__ == "__main__":
    main()
