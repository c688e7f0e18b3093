"""A class presses Run All at once: K students execute the series concurrently (`make classroom`).

python -m benchmarks.classroom                  # K = 1, 2, 4 (about 7 minutes on 2 cores)
python -m benchmarks.classroom --students 1 8   # other class sizes
python -m benchmarks.classroom --smoke          # K = 1, one small notebook: checks the script

Each student is a separate process that runs every solution notebook in order, each in its own
kernel started by nbclient (as a student runs a notebook top to bottom), writing the executed
copies into a temporary directory: notebooks/ is never written. Separate processes make the
accounting clean: a student's kernels are that student's children, so the student's
``RUSAGE_CHILDREN`` (user + sys, counted by Linux when each kernel is reaped) is exactly the
CPU its kernels used, however many other students run at the same time. A sampler in the parent
reads ``/proc`` every 0.2 s for memory: each kernel's ``VmHWM`` (its own high-water mark) and the
sum of a student's (and the class's) resident memory at one instant. ``/proc/stat`` before and
after each K gives the CPU the rest of the machine used meanwhile (other users' work).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import descendants, write_section

__all__ = [
    "StudentRecord",
    "children_cpu_seconds",
    "class_table",
    "machine_busy_seconds",
    "main",
    "proc_cpu_seconds",
    "run_class",
    "section_markdown",
    "slowdowns",
    "summarize",
]

ROOT = Path(__file__).resolve().parents[1]
SERIES = sorted((ROOT / "notebooks/source").glob("[0-9]*.ipynb"))
SMOKE_NOTEBOOK = ROOT / "notebooks/source/01_hooks_and_gradients.ipynb"
CELL_TIMEOUT = 900  # seconds; generous, since K students on 2 cores slow every cell
SAMPLE_SECONDS = 0.2
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class StudentRecord:
    """One student's run of the series: wall time, kernels' CPU and memory."""

    k: int
    student: int
    wall_s: float
    cpu_s: float
    peak_kernel_mb: float = 0.0
    peak_sum_mb: float = 0.0
    ok: bool = True
    notebooks: list = field(default_factory=list)
    error: str = ""


def proc_cpu_seconds(pid: int) -> float:
    """User + sys CPU seconds of a running process, from ``/proc/<pid>/stat``.

    The command name (field 2) may hold spaces or parentheses, so the fields are counted
    after its closing parenthesis: utime and stime are fields 14 and 15.
    """
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu_seconds() -> float:
    """User + sys CPU seconds of this process's reaped children (and theirs, once reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, nice) CPU seconds of the whole machine since boot, from ``/proc/stat``."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, first[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS, nice / TICKS


def _student(notebooks: list[Path], workdir: Path) -> dict:
    """Run in a student's own process: each notebook in a fresh kernel, in order."""
    import nbformat
    from nbclient import NotebookClient

    record, started = {"notebooks": [], "ok": True, "error": ""}, time.perf_counter()
    for notebook in notebooks:
        cpu_before, nb_started = children_cpu_seconds(), time.perf_counter()
        nb = nbformat.read(notebook, as_version=4)
        # This notebook's kernel is this process's only child while it runs: its peak alone.
        sampler = _Sampler([os.getpid()])
        sampler.start()
        try:
            NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                           resources={"metadata": {"path": str(workdir)}}).execute()  # fmt: skip
        except Exception as error:  # a failed notebook is reported, and the student goes on
            record["ok"], record["error"] = False, f"{notebook.name}: {type(error).__name__}"
        sampler.done.set()
        sampler.join()
        nbformat.write(nb, workdir / notebook.name)
        record["notebooks"].append({
            "name": notebook.stem,
            "wall_s": time.perf_counter() - nb_started,
            "cpu_s": children_cpu_seconds() - cpu_before,
            "peak_mb": sampler.peak_kernel_kb[os.getpid()] / 1024,
        })  # fmt: skip
    record["wall_s"] = time.perf_counter() - started
    record["cpu_s"] = children_cpu_seconds()
    return record


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of a process in kB; (0, 0) once it has gone."""
    values = {"VmHWM:": 0, "VmRSS:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0] + ":"
            if key in values:
                values[key] = int(line.split()[1])
    except OSError:
        pass
    return values["VmHWM:"], values["VmRSS:"]


class _Sampler(threading.Thread):
    """Memory of each student's kernels (the student process's descendants), every 0.2 s."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.done = pids, threading.Event()
        self.peak_kernel_kb = dict.fromkeys(pids, 0)
        self.peak_sum_kb = dict.fromkeys(pids, 0)
        self.peak_class_kb = 0

    def run(self):
        while not self.done.is_set():
            total = 0
            for pid in self.pids:
                readings = [_memory_kb(child) for child in descendants(pid)]
                summed = sum(rss for _, rss in readings)
                top = max((hwm for hwm, _ in readings), default=0)
                self.peak_kernel_kb[pid] = max(self.peak_kernel_kb[pid], top)
                self.peak_sum_kb[pid] = max(self.peak_sum_kb[pid], summed)
                total += summed
            self.peak_class_kb = max(self.peak_class_kb, total)
            self.done.wait(SAMPLE_SECONDS)


def _record(k: int, student: int, process, sampler: _Sampler, workdir: Path) -> StudentRecord:
    try:
        data = json.loads((workdir / "record.json").read_text())
    except (OSError, ValueError):
        tail = (workdir / "log.txt").read_text().strip().splitlines()[-1:]
        data = {"wall_s": 0.0, "cpu_s": 0.0, "ok": False, "notebooks": [],
                "error": f"student process exited with {process.returncode}: {tail}"}  # fmt: skip
    return StudentRecord(
        k=k, student=student, wall_s=data["wall_s"], cpu_s=data["cpu_s"],
        peak_kernel_mb=sampler.peak_kernel_kb[process.pid] / 1024,
        peak_sum_mb=sampler.peak_sum_kb[process.pid] / 1024,
        ok=data["ok"] and process.returncode == 0, notebooks=data["notebooks"],
        error=data["error"],
    )  # fmt: skip


def run_class(k: int, notebooks: list[Path]) -> tuple[list[StudentRecord], dict]:
    """Start ``k`` students at once; their records and the machine's figures for the run."""
    if k < 1:
        raise ValueError(f"a class has at least one student, got {k}")
    load = os.getloadavg()
    busy_before, nice_before = machine_busy_seconds()
    started = time.perf_counter()
    # Students run from a temporary directory: they (and their kernels) import this checkout's
    # benchmarks and medinterp, whatever the venv has installed.
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        processes, workdirs = [], [Path(tmp) / f"student{student}" for student in range(k)]
        for workdir in workdirs:
            workdir.mkdir()
            command = [sys.executable, "-m", "benchmarks.classroom", "--as-student",
                       str(workdir), *map(str, notebooks)]  # fmt: skip
            # Files, not pipes: a full pipe would stall a student while we wait on another.
            with open(workdir / "log.txt", "w") as log:
                processes.append(subprocess.Popen(command, cwd=workdir, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT))  # fmt: skip
        sampler = _Sampler([p.pid for p in processes])
        sampler.start()
        for process in processes:
            process.wait()
        sampler.done.set()
        sampler.join()
        wall = time.perf_counter() - started
        busy_after, nice_after = machine_busy_seconds()
        records = [
            _record(k, student, process, sampler, workdir)
            for student, (process, workdir) in enumerate(zip(processes, workdirs, strict=True))
        ]
    machine = {
        "load": load,
        "wall_s": wall,
        "busy_s": busy_after - busy_before,
        "nice_s": nice_after - nice_before,
        "peak_class_mb": sampler.peak_class_kb / 1024,
    }
    return records, machine


def slowdowns(median_wall: dict[int, float]) -> dict[int, float | None]:
    """Median wall at each K over median wall at K = 1 (None for every K without K = 1)."""
    base = median_wall.get(1)
    return {k: (wall / base if base else None) for k, wall in median_wall.items()}


def summarize(records: list[StudentRecord], machines: dict[int, dict] | None = None) -> list[dict]:
    """One row per class size K: per-student medians and maxima, totals and the slowdown."""
    if not records:
        raise ValueError("no student records to summarize")
    machines = machines or {}
    by_k: dict[int, list[StudentRecord]] = {}
    for record in records:
        by_k.setdefault(record.k, []).append(record)
    median_wall = {k: statistics.median(r.wall_s for r in group) for k, group in by_k.items()}
    slow = slowdowns(median_wall)
    rows = []
    for k in sorted(by_k):
        group, machine = by_k[k], machines.get(k, {})
        total_cpu = sum(r.cpu_s for r in group)
        row = {
            "k": k,
            "students_ok": sum(r.ok for r in group),
            "median_wall_s": median_wall[k],
            "max_wall_s": max(r.wall_s for r in group),
            "slowdown": slow[k],
            "median_cpu_s": statistics.median(r.cpu_s for r in group),
            "total_cpu_s": total_cpu,
            "peak_kernel_mb": max(r.peak_kernel_mb for r in group),
            "peak_student_sum_mb": max(r.peak_sum_mb for r in group),
            "peak_class_mb": machine.get("peak_class_mb"),
            "load": machine.get("load"),
            "others_cpu_s": None,
            "others_nice_s": machine.get("nice_s"),
        }
        if "busy_s" in machine:
            # Machine-wide busy time minus the students' kernels: other users' work, plus the
            # students' own nbclient processes (small: they wait on their kernels).
            row["others_cpu_s"] = max(machine["busy_s"] - total_cpu, 0.0)
        rows.append(row)
    return rows


def _num(value, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def class_table(rows: list[dict]) -> str:
    """The markdown table of :func:`summarize`'s rows."""
    lines = [
        "| K | students ok | median wall | max wall | slowdown | median CPU-s per student "
        "| total CPU-s | peak kernel RSS (VmHWM) | peak RSS of one student at an instant "
        "| peak RSS of the class at an instant | load average at start (1, 5, 15 min) "
        "| others' CPU-s during the run (niced) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        load = "n/a" if r["load"] is None else ", ".join(f"{x:.2f}" for x in r["load"])
        others = f"{_num(r['others_cpu_s'], '.0f')} ({_num(r['others_nice_s'], '.0f')})"
        lines.append(
            f"| {r['k']} | {r['students_ok']}/{r['k']} | {r['median_wall_s']:.1f} s "
            f"| {r['max_wall_s']:.1f} s | {_num(r['slowdown'], '.2f')}x "
            f"| {r['median_cpu_s']:.1f} | {r['total_cpu_s']:.1f} | {r['peak_kernel_mb']:.0f} MB "
            f"| {r['peak_student_sum_mb']:.0f} MB | {_num(r['peak_class_mb'], '.0f')} MB "
            f"| {load} | {others} |"
        )
    return "\n".join(lines)


def _per_notebook_table(records: list[StudentRecord]) -> str:
    """Median wall, kernel CPU-s and kernel peak RSS of each notebook, per K."""
    names = [nb["name"] for nb in records[0].notebooks]
    last = "every kernel left open (sum of peaks, an upper bound)"
    lines = [
        "| K | " + " | ".join([*names, last]) + " |",
        "| ---: |" + " ---: |" * (len(names) + 1),
    ]
    for k in sorted({r.k for r in records}):
        cells, peaks = [], []
        for index, _ in enumerate(names):
            group = [r.notebooks[index] for r in records if r.k == k and len(r.notebooks) > index]
            wall = statistics.median(nb["wall_s"] for nb in group)
            cpu = statistics.median(nb["cpu_s"] for nb in group)
            peaks.append(max(nb["peak_mb"] for nb in group))
            cells.append(f"{wall:.1f} s / {cpu:.1f} CPU-s / {peaks[-1]:.0f} MB")
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {sum(peaks):.0f} MB |")
    return "\n".join(lines)


def section_markdown(
    records: list[StudentRecord], machines: dict[int, dict], notebooks: list[Path], smoke: bool
) -> str:
    """The classroom section of RESULTS.md: the machine, the method and both tables."""
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    failures = [f"K={r.k} student {r.student}: {r.error}" for r in records if not r.ok]
    parts = [
        "## Classroom: K students run the series at once (`make classroom`)",
        "",
        f"Measured {when}{' (smoke run: one notebook)' if smoke else ''} on {os.cpu_count()} "
        f"cores, {memory_gb:.0f} GB RAM, {platform.machine()}, Python "
        f"{platform.python_version()}; no GPU; the cores are shared with other users.",
        f"Each student is a process running {len(notebooks)} notebook(s) "
        f"({', '.join(nb.stem for nb in notebooks)}) in order, each in a fresh kernel "
        "(nbclient), all K students started together. Wall = the student's series, kernel starts "
        "included. CPU-s = user + sys of the student's kernels (RUSAGE_CHILDREN of the student "
        "process). Peak kernel RSS = the largest VmHWM of any kernel; the instant sums are of "
        f"VmRSS, sampled every {SAMPLE_SECONDS} s. Slowdown = median wall at K / median wall at "
        "K = 1. Others' CPU-s = machine busy time (/proc/stat) during the run minus the "
        "students' kernels; in parentheses the niced part (another user's training job).",
        "",
        class_table(summarize(records, machines)),
        "",
        "Per notebook: median wall and kernel CPU-s over the students, and the largest kernel "
        "peak RSS (VmHWM); the last column is the memory of a student who leaves every "
        "notebook's kernel running (JupyterLab keeps a kernel when its tab is closed).",
        "",
        _per_notebook_table(records),
    ]
    if failures:
        parts += ["", "Failed: " + "; ".join(failures)]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", nargs="+", type=int, default=[1, 2, 4], metavar="K")
    parser.add_argument("--smoke", action="store_true", help="K = 1, one small notebook")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write every record to this JSON file")
    parser.add_argument("--as-student", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("notebooks", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_student:
        record = _student(args.notebooks, args.as_student)
        (args.as_student / "record.json").write_text(json.dumps(record))
        return None
    if any(k < 1 for k in args.students) or len(set(args.students)) != len(args.students):
        parser.error(f"--students takes distinct class sizes >= 1, got {args.students}")
    sizes, notebooks = ([1], [SMOKE_NOTEBOOK]) if args.smoke else (args.students, SERIES)
    records, machines = [], {}
    for k in sizes:
        print(f"K = {k}: load average {os.getloadavg()} ...", flush=True)
        class_records, machines[k] = run_class(k, notebooks)
        records += class_records
        for r in class_records:
            failed = "" if r.ok else f" FAILED {r.error}"
            print(f"  student {r.student}: {r.wall_s:.1f} s wall, {r.cpu_s:.1f} CPU-s, "
                  f"peak kernel {r.peak_kernel_mb:.0f} MB{failed}")  # fmt: skip
    markdown = section_markdown(records, machines, notebooks, args.smoke)
    write_section("classroom", markdown, path=args.output)
    if args.json:
        args.json.write_text(json.dumps({"records": [asdict(r) for r in records],
                                         "machines": machines}, indent=1))  # fmt: skip
    print(markdown)
    return records, machines


if __name__ == "__main__":
    main()
