"""``make autograde SUBMISSIONS=DIR JOBS=N``: grade a class, each student in sandboxes.

``DIR`` holds the class's submissions, either the way a learning platform exports them::

    DIR/<student_id>/<notebook>.ipynb                       e.g. DIR/ada/05_permutation_importance.ipynb

or in nbgrader's own layout, ``DIR/submitted/<student_id>/<assignment>/<notebook>.ipynb``.
A fresh nbgrader course is built in ``DIR/nbgrader_course`` (readable by the grader only)
and the submissions are copied in; their hashes, tampered locked cells and flags are taken
from those copies. Then, ``jobs`` students at once, each student's notebooks run in nbgrader's
``autograde`` in a sandbox (:mod:`medinterp.instructor.sandbox`) for their feedback, and the
trusted verdict (:mod:`medinterp.instructor.verdict`) grades their functions from outside.
Once every sandbox is gone, the trusted process writes (:mod:`medinterp.instructor.results`):

- ``DIR/grades.csv``: one row per student and notebook, one column per exercise, and
  ``tampered_cells``, ``flags``, ``forged``, ``reason``, ``checks``;
- ``DIR/feedback/<student_id>/<notebook>.html``: the verdict, then the graded notebook;
- ``DIR/nbgrader_course/gradebook.db``: the same scores, for the formgrader.

``--shard i/N`` grades one share of the class into ``DIR/.shards/``; ``--merge N`` writes
grades.csv from the N shares.

    python -m medinterp.instructor.autograde DIR [--jobs N] [--timeout SECONDS]
        [--shard i/N | --merge N] [--check-points FILE.json]

Why this module is long: collecting, sharding and merging share the course layout and the
per-student steps; the sandbox, the verdict and the results are modules of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path

from sklearn.utils import Bunch

from medinterp.instructor import sandbox
from medinterp.instructor.course import ASSIGNMENT, CONFIG_FILE, make_course, solution_notebooks
from medinterp.instructor.results import (
    build_records,
    collect,
    grades_table,
    write_feedback,
    write_gradebook,
)
from medinterp.instructor.sandbox import Limits
from medinterp.instructor.verdict import plan

__all__ = [
    "collect_submissions", "autograde", "merge_shards",
    "COURSE_FOLDER", "FEEDBACK_FOLDER", "GRADES_FILE", "SHARDS_FOLDER",
]  # fmt: skip

COURSE_FOLDER, FEEDBACK_FOLDER, GRADES_FILE = "nbgrader_course", "feedback", "grades.csv"
SHARDS_FOLDER = ".shards"  # partial results of --shard i/N (a dot: never a student's folder)
# Seconds on top of the cells' timeouts: nbgrader's and the trusted grader's own start-up.
NBGRADER_SECONDS, VERDICT_SECONDS = 240, 300
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


def autograde(submissions, source_dir="notebooks/source", timeout=None, config_dir=None,
              jobs=1, shard=None, limits=None, check_points=None) -> Bunch:  # fmt: skip
    """Grade every submission in ``submissions`` and write grades.csv and the feedback.

    Parameters
    ----------
    submissions : path
        The class's folder (see the module docstring for the two layouts).
    source_dir : path, default="notebooks/source"
        The solution notebooks the assignment is generated from.
    timeout : int, optional
        Seconds a cell (and a call of a student's function by the trusted grader) may run
        before it is stopped and scores 0; default ``nbgrader_config.py``'s
        ``Execute.timeout``.
    config_dir : path, optional
        The folder holding ``nbgrader_config.py``; default the current directory.
    jobs : int, default=1
        Submissions graded at once, each in its own sandbox.
    shard : (int, int), optional
        ``(i, n)``: grade only the i-th of n shares of the class (1-based) and write a
        partial result in ``DIR/.shards/`` for :func:`merge_shards` instead of grades.csv.
    limits : medinterp.instructor.sandbox.Limits, optional
        What each sandbox may use (default: 2 GB, ...).
    check_points : dict, optional
        ``{grade id: {check name: points}}``: partial credit for those exercises (the
        points of the passed checks, at most the exercise's points); the other exercises
        stay all or nothing.

    Returns
    -------
    Bunch
        ``grades`` (the DataFrame written to grades.csv; the shard's rows for a shard),
        ``feedback`` (the HTML files), ``n_notebooks`` (notebooks graded) and ``seconds``
        (wall time of each step, and ``per_submission``: each student's grading).
    """
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or timeout <= 0):  # fmt: skip
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    shard = _check_shard(shard)
    submissions = Path(submissions)
    config_dir = Path.cwd() if config_dir is None else Path(config_dir)
    names = {path.stem for path in solution_notebooks(source_dir)}
    found = collect_submissions(submissions, names)
    if shard is not None:
        students = sorted(found)[shard[0] - 1 :: shard[1]]
        found = {student: found[student] for student in students}
    timeout = timeout or _configured_timeout(config_dir)
    limits = limits or Limits()
    seconds = {}
    started = time.perf_counter()
    course = submissions / COURSE_FOLDER
    if shard is not None:
        course = submissions / SHARDS_FOLDER / f"{shard[0]}-of-{shard[1]}" / COURSE_FOLDER
    course.parent.mkdir(parents=True, exist_ok=True)
    course = make_course(course, source_dir, config_dir)
    os.chmod(course, 0o700)  # the trusted side's: no sandbox user may read it
    seconds["generate_assignment"] = time.perf_counter() - started
    release_dir = course / "release" / ASSIGNMENT
    plans = {path.stem: plan(path) for path in sorted(release_dir.glob("*.ipynb"))}
    # Collection: the trusted copies every later step reads, their hashes, and what
    # they show about the locked and answer cells, before any student code runs.
    collected = {}
    for student, notebooks in found.items():
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        collected[student] = {}
        for name, path in notebooks.items():
            copy = target / f"{name}.ipynb"
            shutil.copyfile(path, copy)
            collected[student][name] = collect(copy, release_dir / f"{name}.ipynb")
    started = time.perf_counter()
    grade_one = partial(
        _grade_student, course=course, config_dir=config_dir.resolve(), timeout=timeout,
        limits=limits, plans=plans,
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        graded = dict(zip(found, pool.map(grade_one, found), strict=True))
    seconds["autograde"] = time.perf_counter() - started
    seconds["per_submission"] = {student: result["seconds"] for student, result in graded.items()}
    seconds["nbgrader_per_submission"] = {s: r["nbgrader_seconds"] for s, r in graded.items()}
    # Every sandbox is gone: from here on only the trusted process writes.
    started = time.perf_counter()
    records = build_records(collected, graded, plans, check_points or {})
    if shard is None and (submissions / FEEDBACK_FOLDER).exists():
        shutil.rmtree(submissions / FEEDBACK_FOLDER)
    write_gradebook(course, records)
    feedback = write_feedback(course, records, graded, plans, config_dir,
                              submissions / FEEDBACK_FOLDER)  # fmt: skip
    seconds["feedback"] = time.perf_counter() - started
    grades = grades_table(records, plans)
    if shard is None:
        grades.to_csv(submissions / GRADES_FILE, index=False)
    else:
        shard_file = submissions / SHARDS_FOLDER / f"shard-{shard[0]}-of-{shard[1]}.json"
        shard_file.write_text(json.dumps({"records": records, "students": sorted(found)}))
    return Bunch(
        grades=grades,
        feedback=feedback,
        n_notebooks=sum(len(notebooks) for notebooks in found.values()),
        seconds=seconds,
    )


def _check_shard(shard):
    if shard is None:
        return None
    if isinstance(shard, str):
        match = re.fullmatch(r"(\d+)/(\d+)", shard)
        shard = (int(match[1]), int(match[2])) if match else shard
    if (not isinstance(shard, tuple) or len(shard) != 2
            or not all(isinstance(n, int) for n in shard) or not 1 <= shard[0] <= shard[1]):  # fmt: skip
        raise ValueError(f"shard must be i/N with 1 <= i <= N, got {shard!r}")
    return shard


def _configured_timeout(config_dir: Path) -> int:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(config_dir)).load_config()
    return int(config.Execute.get("timeout", 120))


def _grade_student(student, course, config_dir, timeout, limits, plans) -> dict:
    """One student: nbgrader in a sandbox (their notebooks' feedback and what the hidden
    tests claimed), then the trusted verdict (a process of ours, calling their functions
    in sandboxed workers). Nothing of the student's reaches the course folder."""
    started = time.perf_counter()
    submitted = course / "submitted" / student / ASSIGNMENT
    notebooks = sorted(path.stem for path in submitted.glob("*.ipynb"))
    files = {
        "nbgrader_config.py": config_dir / CONFIG_FILE,
        "course/gradebook.db": course / "gradebook.db",
        **{f"course/submitted/{student}/{ASSIGNMENT}/{name}.ipynb": submitted / f"{name}.ipynb"
           for name in notebooks},
    }  # fmt: skip
    run = _run_nbgrader(student, notebooks, files, timeout, limits, plans)
    if run["failed"]:
        # One broken notebook fails nbgrader's whole run: run each alone, so the others
        # are graded and the broken one is named (and a run that failed by chance, e.g. a
        # kernel slow to start on a busy machine, gets a second try).
        runs = {name: _run_nbgrader(student, [name], files, timeout, limits, plans)
                for name in notebooks}  # fmt: skip
        run = {
            "failed": any(r["failed"] for r in runs.values()),
            "reason": "; ".join(f"{n}: {r['reason']}" for n, r in runs.items() if r["reason"]),
            "log": "\n".join(r["log"] for r in runs.values() if r["failed"])[-3000:],
            "notebooks": {name: r["notebooks"][name] for name, r in runs.items()},
        }
    nbgrader_seconds = time.perf_counter() - started
    verdicts, verdict_reason = _trusted_verdicts(student, course, notebooks, timeout, limits)
    return {"run": run, "verdicts": verdicts, "verdict_reason": verdict_reason,
            "seconds": time.perf_counter() - started, "nbgrader_seconds": nbgrader_seconds}  # fmt: skip


def _run_nbgrader(student, notebooks, files, timeout, limits, plans) -> dict:
    """``nbgrader autograde`` of ``notebooks`` in a new sandbox; the graded notebooks."""
    autograded = f"course/autograded/{student}/{ASSIGNMENT}"
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, f"--student={student}",
               "--force", "--CourseDirectory.root={work}/course", f"--Execute.timeout={timeout}"]  # fmt: skip
    if len(notebooks) == 1:
        command.append(f"--notebook={notebooks[0]}")
    code_cells = sum(len(plans[name][1]) for name in notebooks if name in plans)
    budget = NBGRADER_SECONDS + 2 * timeout * len(notebooks) + code_cells
    returncode, log, outputs, reason = sandbox.run(
        command, files, limits, timeout=budget,
        collect=[f"{autograded}/{name}.ipynb" for name in notebooks],
    )  # fmt: skip
    found = {name: outputs.get(f"{autograded}/{name}.ipynb") for name in notebooks}
    failed = returncode != 0 or any(value is None for value in found.values())
    return {"failed": failed, "reason": reason, "log": log[-3000:] if failed else "",
            "notebooks": {name: value if not failed else None for name, value in found.items()}}  # fmt: skip


def _trusted_verdicts(student, course, notebooks, timeout, limits):
    """The verdict process for one student: ``medinterp.instructor.verdict``, as the
    grader's own user, in a session killed whole when it ends."""
    work = course / "verdicts" / student
    work.mkdir(parents=True, exist_ok=True)
    release_dir = course / "release" / ASSIGNMENT
    submitted = course / "submitted" / student / ASSIGNMENT
    job = {
        "notebooks": {name: [str(release_dir / f"{name}.ipynb"),
                             str(submitted / f"{name}.ipynb")] for name in notebooks},
        "timeout": timeout, "limits": asdict(limits),
    }  # fmt: skip
    (work / "job.json").write_text(json.dumps(job))
    out = work / "verdict.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "medinterp.instructor.verdict", str(work / "job.json"), str(out)],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        log, _ = process.communicate(timeout=VERDICT_SECONDS + 20 * timeout * len(notebooks))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {}, "the trusted grader ran out of time"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.returncode != 0 or not out.is_file():
        tail = log.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {}, "the trusted grader failed: " + " / ".join(tail)
    return json.loads(out.read_text()), ""


def merge_shards(submissions, shards: int) -> Bunch:
    """Merge the partial results of ``--shard 1/N`` ... ``--shard N/N`` into grades.csv.

    Raises
    ------
    ValueError
        A shard's result is missing (it has not run or has not finished).
    """
    submissions = Path(submissions)
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive integer, got {shards!r}")
    files = [submissions / SHARDS_FOLDER / f"shard-{i}-of-{shards}.json"
             for i in range(1, shards + 1)]  # fmt: skip
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ValueError(f"Cannot merge: no result yet from {', '.join(missing)}")
    records = []
    for path in files:
        records += json.loads(path.read_text())["records"]
    release_dir = (submissions / SHARDS_FOLDER / f"1-of-{shards}" / COURSE_FOLDER / "release"
                   / ASSIGNMENT)  # fmt: skip
    plans = {path.stem: plan(path) for path in sorted(release_dir.glob("*.ipynb"))}
    grades = grades_table(records, plans)
    grades.to_csv(submissions / GRADES_FILE, index=False)
    feedback = sorted((submissions / FEEDBACK_FOLDER).glob("*/*.html"))
    return Bunch(grades=grades, feedback=feedback, n_notebooks=len(records), seconds={})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--source-dir", type=Path, default=Path("notebooks/source"))
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    parser.add_argument("--shard", default=None, help="i/N: grade the i-th of N shares only")
    parser.add_argument(
        "--merge",
        type=int,
        default=None,
        metavar="N",
        help="merge the results of --shard 1/N ... N/N into grades.csv",
    )
    parser.add_argument(
        "--check-points",
        type=Path,
        default=None,
        help="JSON {grade id: {check name: points}}: partial credit",
    )
    args = parser.parse_args(argv)
    try:
        if args.merge is not None:
            result = merge_shards(args.submissions, args.merge)
            print(result.grades.to_string(index=False))
            print(f"\nmerged {args.merge} shards into {args.submissions / GRADES_FILE}")
            return
        check_points = None
        if args.check_points is not None:
            check_points = json.loads(args.check_points.read_text())
        result = autograde(args.submissions, args.source_dir, args.timeout, jobs=args.jobs,
                           shard=args.shard, check_points=check_points)  # fmt: skip
    except ValueError as error:  # the instructor's input: the message, not a traceback
        parser.exit(2, f"make autograde: {error}\n")
    per_submission = result.seconds["autograde"] / max(1, len(result.seconds["per_submission"]))
    print(result.grades.to_string(index=False))
    written = (
        args.submissions / GRADES_FILE if args.shard is None
        else args.submissions / SHARDS_FOLDER / f"shard-{args.shard.replace('/', '-of-')}.json"
    )  # fmt: skip
    print(
        f"\nautograded {result.n_notebooks} notebooks in {result.seconds['autograde']:.0f} s "
        f"({per_submission:.1f} s per submission, {args.jobs} at once); wrote {written} and "
        f"{len(result.feedback)} feedback files in {args.submissions / FEEDBACK_FOLDER}"
    )


if __name__ == "__main__":
    main()
