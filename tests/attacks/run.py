"""Running `python -m medinterp.instructor.autograde` on a bank class and reading the outcome.

The run gets its own HOME and TMPDIR (snapshotted before and after, to see what was written
outside DIR) and an environment variable with a fresh token: every process of the run
inherits it, so the ones still alive afterwards can be found among the machine's others.
"""

import csv
import hashlib
import os
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
MARKER = "MEDINTERP_ATTACK_BANK"
# Columns whose meaning stays when the grader changes (others, such as `forged`, may come).
STABLE = ["student", "notebook", "score", "max_score"]
EXERCISES = [
    "get_hook",
    "get_gradients",
    "grad_cam",
    "compute_gradcam",
    "subgroup_auc",
    "permute_feature",
    "permutation_importance",
    "class_one_values",
    "integrated_gradients",  # 07 and 08 (issue 24), not in main at 99fdcc3
    "harrell_c",
]
# Seconds to wait after the grader returns before reading grades.csv and looking for
# processes: a detached process that rewrites grades.csv does it within this time.
SETTLE = 10


@dataclass
class Run:
    directory: Path
    returncode: int
    output: str
    seconds: float
    rows: list = field(default_factory=list)  # grades.csv after SETTLE seconds
    rows_at_exit: list = field(default_factory=list)  # grades.csv as the grader left it
    leftovers: list = field(default_factory=list)  # (pid, command line) still running
    written_outside: dict = field(default_factory=dict)  # place -> changed paths
    new_site_packages: list = field(default_factory=list)


def snapshot(folder):
    """{relative path: sha1 of the content} of every file under `folder`."""
    result = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            try:
                result[str(path.relative_to(folder))] = hashlib.sha1(path.read_bytes()).hexdigest()
            except OSError:
                result[str(path.relative_to(folder))] = "unreadable"
    return result


def changed(before, after):
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def read_grades(path):
    if not path.is_file():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def site_packages():
    return Path(sysconfig.get_paths()["purelib"])


def marked_processes(token):
    """Processes whose environment carries this run's token: (pid, command line)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER) == token:
                found.append((process.pid, " ".join(process.info["cmdline"] or [])))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def kill(pids):
    """End processes this run started, one by one, by pid."""
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


def run_autograde(directory, scratch, timeout=90, jobs=2):
    """Grade `directory` once with the CLI, HOME and TMPDIR in `scratch`; see `Run`."""
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    environment = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), **{MARKER: token})
    before = {"HOME": snapshot(home), "TMPDIR": snapshot(tmp)}
    packages_before = set(os.listdir(site_packages()))
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "medinterp.instructor.autograde",
            str(directory),
            "--timeout",
            str(timeout),
            # Two sandboxes at once: each submission is graded alone, so the order and the
            # parallelism must not change anyone's grade; on 2 cores it halves the wall time.
            "--jobs",
            str(jobs),
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        errors="replace",
    )
    seconds = time.monotonic() - started
    rows_at_exit = read_grades(directory / "grades.csv")
    time.sleep(SETTLE)
    run = Run(
        directory=directory,
        returncode=completed.returncode,
        output=(completed.stdout + completed.stderr)[-4000:],
        seconds=seconds,
        rows=read_grades(directory / "grades.csv"),
        rows_at_exit=rows_at_exit,
        leftovers=marked_processes(token),
        written_outside={
            "HOME": changed(before["HOME"], snapshot(home)),
            "TMPDIR": changed(before["TMPDIR"], snapshot(tmp)),
        },
        new_site_packages=sorted(set(os.listdir(site_packages())) - packages_before),
    )
    kill([pid for pid, _ in run.leftovers])
    for name in run.new_site_packages:  # what an attack left in the environment
        (site_packages() / name).unlink()
    return run


def points(row):
    """The points a grades.csv row gives: its score and every exercise column."""
    values = [row.get("score", "")] + [row.get(name, "") for name in EXERCISES]
    return sum(float(value) for value in values if value not in ("", None))


def stable(rows, handed_in):
    """The stable columns of the rows of notebooks these students handed in.

    `handed_in` maps a student to the notebook numbers they submitted ("01", ...); rows of
    notebooks they did not hand in (which another student's notebook adds) are left out.
    """
    columns = STABLE + EXERCISES
    return sorted(
        tuple(row.get(column, "") for column in columns)
        for row in rows
        if row["notebook"][:2] in handed_in.get(row["student"], ())
    )


def outcome(attack, run):
    """One line: what this attacker got in this run."""
    if not run.rows:
        return f"class stopped (exit {run.returncode}, no grades.csv)"
    mine = [row for row in run.rows if row["student"] == attack.student]
    at_exit = [row for row in run.rows_at_exit if row["student"] == attack.student]
    notes = []
    if not mine:
        notes.append("no row in grades.csv")
    for row in mine:
        got = points(row)
        if row["notebook"][:2] != attack.notebook and not got:
            continue  # a notebook the attacker did not hand in, graded 0
        text = f"{row['score']}/{row['max_score']}"
        if got:
            notes.append(f"UNEARNED {text}")
        else:
            notes.append(f"0 ({text})")
        for before in at_exit:
            if before["notebook"] == row["notebook"] and points(before) != got:
                notes.append(f"rewritten after the run ({before['score']} at exit)")
        for column in ("forged", "flags", "tampered_cells", "reason"):
            if row.get(column):
                notes.append(f"{column}: {row[column][:60]}")
    mine_alive = [pid for pid, command in run.leftovers if attack.student in command]
    if mine_alive:
        notes.append(f"{len(mine_alive)} processes left running")
    return "; ".join(notes)
