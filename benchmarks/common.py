"""Timing helpers and the result row shared by every benchmark script."""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
_SECTION = re.compile(
    r"<!-- section: (?P<name>[\w-]+) -->\n.*?<!-- end section: (?P=name) -->\n", re.S
)


@dataclass
class Row:
    """One line of RESULTS.md: our time against the alternative's, and the goal."""

    measure: str
    ours: float
    theirs: float | None
    goal: str
    passed: bool
    unit: str = "s"
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.theirs / self.ours if self.theirs else None


def median_time(function, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``function()`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def side_by_side(ours, theirs, repeats: int, warmup: int = 1):
    """Median times of two functions, run alternately so machine noise hits both alike."""
    for _ in range(warmup):
        ours()
        theirs()
    ours_times, theirs_times = [], []
    for _ in range(repeats):
        for function, times in ((ours, ours_times), (theirs, theirs_times)):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
    return statistics.median(ours_times), statistics.median(theirs_times)


def sections(text: str) -> list[str]:
    """The named sections of a RESULTS.md text, markers included, in order."""
    return [match.group(0) for match in _SECTION.finditer(text)]


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Put ``markdown`` into RESULTS.md as the section ``name``, replacing an older one.

    Measurements that `make bench` does not run (``make classroom``, the one-off Binder run)
    keep their figures in RESULTS.md this way; `make bench` rewrites its table and keeps
    every section.
    """
    if not re.fullmatch(r"[\w-]+", name):
        raise ValueError(f"section name must be letters, digits, '_' or '-', got {name!r}")
    block = f"<!-- section: {name} -->\n{markdown.rstrip()}\n<!-- end section: {name} -->\n"
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(
        rf"<!-- section: {re.escape(name)} -->\n.*?<!-- end section: {re.escape(name)} -->\n", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block if text else block
    path.write_text(text)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children ...), read from /proc."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue  # the process ended while we looked
        found += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return found
