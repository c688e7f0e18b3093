"""Grader for Exercise 8.1, ``harrell_c(time, event, risk)``: Harrell's C with censoring.

The cases are built so that each usual mistake gives another number on at least one of
them: people censored early with a high risk (counting censored-first pairs), two deaths at
one time and a death at someone's censoring time (comparing equal times), ties in risk
(counted as 0 or 1 instead of 1/2), a model that ranks backwards (C below 0.5 is an answer,
not a sign to flip), and plain inputs as lists, NumPy arrays and pandas Series with an index
that is not 0..n-1. A wrong number is matched against the catalogue of mistakes to name it.
"""

from __future__ import annotations

from functools import cache
from numbers import Real

import numpy as np
import pandas as pd

from medinterp.grading.feedback import Exercise, brief, run_exercise

__all__ = ["harrell_c_test", "reference_harrell_c"]

_SEED = 26
GENERIC_HINT = (
    "a pair (i, j) counts when i died and time[i] < time[j], or time[i] == time[j] and j "
    "was censored; it is concordant when risk[i] > risk[j], half when equal"
)


def _pairwise(time, event, risk, *, censored_first=False, equal_deaths=False,
              equal_censored=True, tie=0.5, reverse=False, every_pair=False):  # fmt: skip
    """Harrell's C, or one of its usual mistakes, pair by pair (vectorised, small n)."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    r = np.asarray(risk, dtype=float)
    earlier = t[:, None] < t[None, :]
    same = (t[:, None] == t[None, :]) & ~np.eye(len(t), dtype=bool)
    died = e[:, None]
    if censored_first:  # the shorter time counts as "first" whether or not it was a death
        first = earlier & (died | e[None, :])
    else:
        first = earlier & died
    if equal_censored:
        first |= same & died & ~e[None, :]
    higher = r[:, None] < r[None, :] if reverse else r[:, None] > r[None, :]
    tied = r[:, None] == r[None, :]
    concordant = (first & higher).sum() + tie * (first & tied).sum()
    pairs = len(t) * (len(t) - 1) / 2 if every_pair else first.sum()
    if equal_deaths:
        # The course's loop: two deaths at one time make a pair (once), which can only
        # ever be a tie in risk, never concordant.
        both = np.triu(same & died & e[None, :])
        pairs += both.sum()
        concordant += tie * (both & tied).sum()
    return float(concordant / pairs)


def reference_harrell_c(time, event, risk) -> float:
    """The reference: Harrell's C, pair by pair."""
    return _pairwise(time, event, risk)


@cache
def _cases():
    """(name, time, event, risk) for each case; every array read-only."""
    rng = np.random.default_rng(_SEED)
    cases = []

    def add(name, time, event, risk):
        arrays = [np.asarray(time, float), np.asarray(event, bool), np.asarray(risk, float)]
        for array in arrays:
            array.flags.writeable = False
        cases.append((name, *arrays))

    n = 40
    time = rng.permutation(np.arange(1, n + 1)) * 0.25
    risk = -time + rng.normal(0, 3, n).round(2)
    add("no censoring, no ties", time, np.ones(n, bool), risk)
    # Censored people die "later" than their time; some are censored early with a high
    # risk, exactly the pairs that must not count.
    n = 60
    time = rng.permutation(np.arange(1, n + 1)) * 0.5
    event = rng.random(n) < 0.5
    risk = -time + rng.normal(0, 4, n).round(2)
    risk[~event & (time < 10)] += 8
    add("with censoring", time, event, risk)
    # Coarse times: deaths at the same time, and deaths at someone's censoring time.
    n = 60
    time = rng.integers(1, 9, n).astype(float)
    event = rng.random(n) < 0.6
    risk = -time + rng.normal(0, 2, n).round(1)
    add("ties in time", time, event, risk)
    # Coarse risks: ties in risk count one half.
    n = 50
    time = rng.permutation(np.arange(1, n + 1)).astype(float)
    event = rng.random(n) < 0.6
    risk = np.round(-time / 10 + rng.normal(0, 1, n)).clip(-4, 2)
    add("ties in risk", time, event, risk)
    # Everything at once, and a model that ranks backwards.
    n = 70
    time = rng.integers(1, 12, n) * 0.5
    event = rng.random(n) < 0.5
    risk = np.round(time / 2 + rng.normal(0, 1.5, n))
    add("a model ranking backwards (C < 0.5), ties in both", time, event, risk)
    return tuple(cases)


def _mistake(got: float, time, event, risk) -> str:
    """A hint naming the mistake that gives ``got`` on this case, or ''."""
    expected = reference_harrell_c(time, event, risk)
    if expected < 0.5 and np.isclose(got, 1 - expected, atol=1e-9):
        return "C below 0.5 is an answer (a model ranking backwards): don't flip it"
    catalogue = {
        "a pair whose shorter time is censored is not comparable: that person may have "
        "outlived the other. Count (i, j) only when i died": dict(censored_first=True),
        "two deaths at the same time are not comparable (neither died first): require "
        "time[i] < time[j] when both died": dict(equal_deaths=True),
        "a death at time t and a censoring at t are comparable: the censored person was "
        "still alive at t": dict(equal_censored=False),
        "a tie in risk counts one half, not 0": dict(tie=0.0),
        "a tie in risk counts one half, not 1": dict(tie=1.0),
        "higher risk means an earlier death: concordant when risk[i] > risk[j] for the one "
        "who died first (lifelines' convention is the opposite)": dict(reverse=True),
        "divide by the number of comparable pairs, not by every pair": dict(every_pair=True),
    }
    for hint, options in catalogue.items():
        if np.isclose(got, _pairwise(time, event, risk, **options), atol=1e-9):
            return hint
    if not event.all():
        ignored = _pairwise(time, np.ones(len(time), bool), risk)
        if np.isclose(got, ignored, atol=1e-9):
            return "censored people did not die at their time: use event to tell them apart"
    if np.isclose(got, 100 * expected, atol=1e-6):
        return "return a share between 0 and 1, not a percentage"
    if abs(got - expected) < 5e-3:
        return "don't round C"
    return ""


def _as_number(value):
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray):
        return float(value) if value.ndim == 0 and value.dtype.kind in "iuf" else None
    if isinstance(value, (Real, np.integer, np.floating)):
        return float(value)
    return None


def harrell_c_test(fn) -> bool:
    """Grade Exercise 8.1, ``harrell_c(time, event, risk)``.

    Returns True when every check passed; prints each check. Never raises for the student's
    function.
    """

    def body(exercise: Exercise) -> None:
        styles = [
            lambda t, e, r: (t.copy(), e.copy(), r.copy()),
            lambda t, e, r: (t.copy(), e.astype(int), r.copy()),
            lambda t, e, r: (list(t), list(e), list(r)),
        ]
        changed = False
        for number, (name, time, event, risk) in enumerate(_cases()):
            inputs = styles[number % len(styles)](time, event, risk)
            got = exercise.call(*inputs)
            changed |= not (
                np.array_equal(np.asarray(inputs[0], float), time)
                and np.array_equal(np.asarray(inputs[2], float), risk)
            )
            expected = reference_harrell_c(time, event, risk)
            number_got = _as_number(got)
            if number_got is None:
                exercise.check(name, False, "a number", f"{type(got).__name__} {brief(got)}",
                               "return C itself, one float: concordant / comparable")  # fmt: skip
                continue
            right = bool(np.isclose(number_got, expected, atol=1e-9))
            hint = "" if right else (_mistake(number_got, time, event, risk) or GENERIC_HINT)
            exercise.check(name, right, expected, number_got, hint)
        exercise.check("leaves time and risk unchanged", not changed, None, None,
                       "don't sort or modify the arrays you are given: sort a copy")  # fmt: skip
        # pandas Series whose index is not 0..n-1: positions, not labels.
        name, time, event, risk = _cases()[1]
        index = pd.Index(np.random.default_rng(_SEED).permutation(len(time)) + 500)
        name = "pandas Series with an index that is not 0..n-1"
        hint = "read the values by position: np.asarray(time) first, or time.iloc[i]"
        try:
            with exercise.student_code():
                got = exercise.fn(pd.Series(time, index=index), pd.Series(event, index=index),
                                  pd.Series(risk, index=index))  # fmt: skip
        except Exception as error:  # noqa: BLE001 - a label lookup failing is this check's point
            exercise.check(name, False, "a number", f"{type(error).__name__}: {brief(error)}", hint)
            return
        number_got = _as_number(got)
        expected = reference_harrell_c(time, event, risk)
        right = number_got is not None and bool(np.isclose(number_got, expected, atol=1e-9))
        if number_got is not None and not right:
            hint = _mistake(number_got, time, event, risk) or hint
        exercise.check(name, right, expected,
                       number_got if number_got is not None else brief(got), hint)  # fmt: skip

    return run_exercise("harrell_c", fn, body)
