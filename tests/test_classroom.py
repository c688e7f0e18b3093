"""make classroom: the CPU accounting, the per-K summary and its table (the real run is slow)."""

import json
import subprocess
import sys

import pytest

from benchmarks import classroom
from benchmarks.classroom import (
    StudentRecord,
    children_cpu_seconds,
    class_table,
    proc_cpu_seconds,
    section_markdown,
    slowdowns,
    summarize,
)

# A child that burns user time (a Python loop) and system time (reading /dev/zero), then
# reports its own os.times() and waits for a line on stdin, so its /proc entry can be read
# while it is still alive.
BURNER = """
import os, sys
total = 0
for i in range(6_000_000):  # arithmetic only: no system calls
    total += i * i
with open("/dev/zero", "rb", buffering=0) as zero:
    for _ in range(9000):
        zero.read(1 << 20)
times = os.times()
print(times.user, times.system, flush=True)
sys.stdin.readline()
"""


def _burn():
    child = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    user, system = map(float, child.stdout.readline().split())
    return child, user, system


def test_proc_cpu_seconds_counts_user_and_system_time_of_a_live_process():
    child, user, system = _burn()
    try:
        seen = proc_cpu_seconds(child.pid)
    finally:
        child.communicate("\n")
    assert user > 0.2 and system > 0.1  # the burner really spent both kinds
    # The same ticks the child counted itself (one tick of slack for each): a reader that
    # dropped stime, used the wrong fields or the wrong clock rate would be off by far more.
    assert seen == pytest.approx(user + system, abs=0.05)


def test_children_cpu_seconds_counts_a_reaped_child_only_once_it_is_reaped():
    before = children_cpu_seconds()
    child, user, system = _burn()
    assert children_cpu_seconds() - before < 0.05  # still running: not yet counted
    child.communicate("\n")  # waits for it: Linux adds its CPU to ours
    assert children_cpu_seconds() - before == pytest.approx(user + system, abs=0.05)


def _records():
    """Three class sizes; K = 2's median wall is 155 s, K = 4's is 315 s."""
    walls = {1: [80.0], 2: [150.0, 160.0], 4: [330.0, 300.0, 320.0, 310.0]}
    return [
        StudentRecord(k=k, student=i, wall_s=wall, cpu_s=60.0 + i,
                      peak_kernel_mb=1000.0 + 10 * i, peak_sum_mb=1100.0 + 10 * i, ok=i != 3)
        for k, group in walls.items() for i, wall in enumerate(group)
    ]  # fmt: skip


def test_slowdowns_are_median_wall_over_that_of_one_student():
    assert slowdowns({1: 80.0, 2: 155.0, 4: 315.0}) == {1: 1.0, 2: 155 / 80, 4: 315 / 80}
    assert slowdowns({2: 155.0, 4: 315.0}) == {2: None, 4: None}


def test_summary_has_one_row_per_class_size_with_medians_maxima_and_totals():
    machines = {4: {"load": (1.5, 1.0, 0.5), "busy_s": 500.0, "nice_s": 40.0,
                    "peak_class_mb": 4200.0}}  # fmt: skip
    rows = summarize(_records(), machines)
    assert [r["k"] for r in rows] == [1, 2, 4]
    one, two, four = rows
    assert (one["median_wall_s"], one["slowdown"]) == (80.0, 1.0)
    assert (two["median_wall_s"], two["max_wall_s"]) == (155.0, 160.0)
    assert (four["median_wall_s"], four["max_wall_s"]) == (315.0, 330.0)
    assert four["slowdown"] == pytest.approx(315 / 80)
    assert four["total_cpu_s"] == 60 + 61 + 62 + 63 and four["median_cpu_s"] == 61.5
    assert (four["peak_kernel_mb"], four["peak_student_sum_mb"]) == (1030.0, 1130.0)
    assert four["students_ok"] == 3  # student 3 failed
    assert four["others_cpu_s"] == 500.0 - 246.0 and four["others_nice_s"] == 40.0
    assert one["others_cpu_s"] is None and one["load"] is None  # nothing measured for K = 1


def test_table_shows_each_figure_in_its_column():
    machines = {4: {"load": (1.5, 1.0, 0.5), "busy_s": 500.0, "nice_s": 40.0,
                    "peak_class_mb": 4200.0}}  # fmt: skip
    lines = class_table(summarize(_records(), machines)).splitlines()
    assert len(lines) == 2 + 3
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert lines[2].startswith("| 1 | 1/1 | 80.0 s | 80.0 s | 1.00x | 60.0 | 60.0 | 1000 MB |")
    assert lines[4] == (
        "| 4 | 3/4 | 315.0 s | 330.0 s | 3.94x | 61.5 | 246.0 | 1030 MB | 1130 MB | 4200 MB "
        "| 1.50, 1.00, 0.50 | 254 (40) |"
    )


def test_section_gives_each_notebook_its_median_time_and_largest_peak():
    def notebooks(wall, peak):
        return [{"name": "01_a", "wall_s": wall, "cpu_s": 5.0, "peak_mb": peak},
                {"name": "02_b", "wall_s": 2 * wall, "cpu_s": 9.0, "peak_mb": 400.0}]  # fmt: skip

    records = [
        StudentRecord(k=1, student=0, wall_s=30, cpu_s=14, notebooks=notebooks(10.0, 700.0)),
        StudentRecord(k=3, student=0, wall_s=60, cpu_s=14, notebooks=notebooks(20.0, 690.0)),
        StudentRecord(k=3, student=1, wall_s=90, cpu_s=14, notebooks=notebooks(30.0, 720.0)),
        StudentRecord(k=3, student=2, wall_s=99, cpu_s=14, notebooks=notebooks(33.0, 710.0),
                      ok=False, error="02_b.ipynb: CellExecutionError"),
    ]  # fmt: skip
    text = section_markdown(records, {}, [], smoke=False)
    assert "| 1 | 10.0 s / 5.0 CPU-s / 700 MB | 20.0 s / 9.0 CPU-s / 400 MB | 1100 MB |" in text
    # K = 3: the median student's times, the largest kernel's peak, and their sum.
    assert "| 3 | 30.0 s / 5.0 CPU-s / 720 MB | 60.0 s / 9.0 CPU-s / 400 MB | 1120 MB |" in text
    assert "Failed: K=3 student 2: 02_b.ipynb: CellExecutionError" in text
    assert "| 3 | 2/3 | 90.0 s | 99.0 s | 3.00x |" in text


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no student records"):
        summarize([])
    with pytest.raises(ValueError, match="at least one student"):
        classroom.run_class(0, classroom.SERIES)
    for sizes in (["0"], ["2", "2"]):
        with pytest.raises(SystemExit):
            classroom.main(["--students", *sizes])


@pytest.mark.slow
def test_smoke_run_writes_the_classroom_section(tmp_path):
    # The smoke notebook (01) needs neither data set: phantoms and the shipped model.
    output, raw = tmp_path / "RESULTS.md", tmp_path / "classroom.json"
    output.write_text("# Benchmark results\n\nthe bench table\n")
    records, machines = classroom.main(["--smoke", "--output", str(output), "--json", str(raw)])
    (record,) = records
    assert record.ok, record.error
    (notebook,) = record.notebooks
    assert notebook["name"] == classroom.SMOKE_NOTEBOOK.stem
    # One kernel, sampled by its student and by the parent: the same peak, give or take the
    # growth between two samples.
    assert notebook["peak_mb"] > 200
    assert notebook["peak_mb"] == pytest.approx(record.peak_kernel_mb, rel=0.2)
    # A TensorFlow kernel: seconds of CPU and hundreds of MB, measured, not left at zero.
    assert record.cpu_s > 1 and record.wall_s > 1 and record.peak_kernel_mb > 200
    assert record.peak_sum_mb >= 0.5 * record.peak_kernel_mb
    assert machines[1]["busy_s"] >= record.cpu_s - 0.5  # the machine saw the kernel's work
    text = output.read_text()
    assert text.startswith("# Benchmark results\n\nthe bench table")
    assert "<!-- section: classroom -->" in text and "smoke run" in text and "| 1 | 1/1 |" in text
    assert json.loads(raw.read_text())["records"][0]["cpu_s"] == record.cpu_s
