"""Timing helpers and the result row shared by every benchmark script."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


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
