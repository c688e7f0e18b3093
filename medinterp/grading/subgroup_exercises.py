"""Grader for the shortcut-learning exercise ``subgroup_auc(labels, probabilities, subgroup,
label)``: the ROC AUC of one label among the people a boolean mask selects.

The test data make every usual mistake give another number: the label's AUC differs between
the subgroup, its complement and everyone; neighbouring labels have other AUCs; and hard 0/1
predictions lose the ranking. The subgroup is tried as a NumPy array and as a pandas Series,
and once so small that it holds a single outcome class, where the AUC is undefined and the
function must say so (NaN, as ``sklearn.metrics.roc_auc_score`` returns, or ``ValueError``)
rather than return a number. ``roc_auc_score`` called with its arguments swapped raises
("continuous format is not supported"); that crash is named, not shown as a bare error.
"""

from __future__ import annotations

from functools import cache
from numbers import Real

import numpy as np
import pandas as pd

from medinterp.grading.feedback import Exercise, StudentCrash, brief, run_exercise
from medinterp.labels import LABELS

__all__ = ["subgroup_auc_test", "reference_subgroup_auc"]

_PEOPLE = 240
GENERIC_HINT = (
    "roc_auc_score(labels[subgroup, j], probabilities[subgroup, j]) with j = LABELS.index(label)"
)
UNDEFINED_HINT = "don't make up a value: with one outcome class the AUC is undefined"
SWAPPED_HINT = (
    "roc_auc_score raised 'continuous format is not supported': its arguments are swapped. "
    "The truth comes first, then the scores: roc_auc_score(labels[subgroup, j], "
    "probabilities[subgroup, j])"
)


def _scores_given_as_truth(error: BaseException) -> bool:
    """Whether ``error`` is scikit-learn's answer to probabilities passed as ``y_true``."""
    return isinstance(error, ValueError) and "continuous format is not supported" in str(error)


def reference_subgroup_auc(labels, probabilities, subgroup, label: str) -> float:
    """The reference: ``roc_auc_score`` on the label's column, rows where ``subgroup``."""
    from sklearn.metrics import roc_auc_score

    column = LABELS.index(label)
    chosen = np.asarray(subgroup, dtype=bool)
    return float(
        roc_auc_score(np.asarray(labels)[chosen, column], np.asarray(probabilities)[chosen, column])
    )


@cache
def _cases() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (n, 14), probabilities (n, 14) and a subgroup mask (n,) where the AUC inside the
    subgroup, outside it and overall all differ, for every label."""
    rng = np.random.default_rng(16)
    labels = (rng.random((_PEOPLE, len(LABELS))) < 0.3).astype(int)
    subgroup = rng.random(_PEOPLE) < 0.4
    # Inside the subgroup the scores barely follow the labels; outside they follow them well,
    # and each label gets its own strength, so a wrong column gives another number.
    strength = np.where(subgroup[:, None], 0.3, 2.0) * np.linspace(0.6, 1.4, len(LABELS))
    scores = strength * labels + rng.normal(size=labels.shape)
    probabilities = 1 / (1 + np.exp(-scores))
    for array in (labels, probabilities, subgroup):
        array.flags.writeable = False
    return labels, probabilities, subgroup


def _mistake(got: float, labels, probabilities, subgroup, label: str, columns: bool = True) -> str:
    """A hint naming what a wrong number was computed as; "" when it is not recognisable."""
    from sklearn.metrics import roc_auc_score

    column = LABELS.index(label)
    everyone = np.ones(len(subgroup), bool)
    candidates = {
        "the subgroup is not applied: select the rows with labels[subgroup]": reference_subgroup_auc(
            labels, probabilities, everyone, label
        ),
        "the mask is inverted: keep the rows where subgroup is True": reference_subgroup_auc(
            labels, probabilities, ~subgroup, label
        ),
        "use the predicted probabilities, not 0/1 predictions (> 0.5): AUC needs a ranking": float(
            roc_auc_score(labels[subgroup, column], probabilities[subgroup, column] > 0.5)
        ),
        "an AUC below 0.5 is a result (a model ranking backwards): don't flip it, and pass the "
        "truth first, roc_auc_score(y_true, y_score)": 1
        - reference_subgroup_auc(labels, probabilities, subgroup, label),
    }
    for other, name in enumerate(LABELS):
        if columns and other != column:
            candidates[f"that is {name}'s column: use LABELS.index(label)"] = (
                reference_subgroup_auc(labels, probabilities, subgroup, name)
            )
    for hint, value in candidates.items():
        if np.isclose(got, value, atol=1e-9):
            return hint
    return ""


def _is_scalar_number(value) -> bool:
    """A Python or NumPy real number (a 0-d array counts); not text, a list or a 1-element array."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, (Real, np.integer, np.floating))


def _as_number(value):
    """``value`` as a finite float if it is a number; None otherwise (NaN included)."""
    if not _is_scalar_number(value):
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _is_nan(value) -> bool:
    return _is_scalar_number(value) and bool(np.isnan(float(value)))


def subgroup_auc_test(fn) -> bool:
    """Grade ``subgroup_auc(labels, probabilities, subgroup, label)``. Prints the feedback;
    returns True or False and never raises for the student's function."""

    def body(exercise: Exercise) -> None:
        labels, probabilities, subgroup = _cases()
        column = LABELS.index("Pneumothorax")
        both = np.flatnonzero(labels[:, column] == 1)[:4].tolist()
        small = np.zeros(len(subgroup), bool)
        small[both + np.flatnonzero(labels[:, column] == 0)[:8].tolist()] = True
        tries = [
            ("Pneumothorax", probabilities, subgroup, "a NumPy mask"),
            ("Effusion", probabilities, pd.Series(subgroup), "a pandas Series mask"),
            ("Pneumothorax", probabilities, ~subgroup, "the complementary mask"),
            ("Pneumothorax", probabilities, small, "a subgroup of 12 people"),
            # A model that ranks backwards: its AUC is below 0.5, and that is the answer.
            ("Pneumothorax", 1 - probabilities, subgroup, "a model that ranks backwards"),
        ]
        for label, scores, mask, kind in tries:
            expected = reference_subgroup_auc(labels, scores, mask, label)
            try:
                got = exercise.call(labels.copy(), scores.copy(), mask.copy(), label)
            except StudentCrash as crash:
                if not _scores_given_as_truth(crash.error):
                    raise
                exercise.check(f"{label}, {kind}: roc_auc_score(y_true, y_score)", False,
                               "the 0/1 labels first", "the probabilities as y_true",
                               SWAPPED_HINT)  # fmt: skip
                return
            name = f"{label}, {kind}: AUC within the subgroup"
            if not _is_scalar_number(got):
                exercise.check(name, False, "a number", f"{type(got).__name__} {brief(got)}",
                               "return the AUC itself, a float: not text, a list or an array")  # fmt: skip
                continue
            number = float(got)
            right = bool(np.isclose(number, expected, atol=1e-9))
            hint = ""
            if not right:
                chosen = np.asarray(mask, bool)
                hint = _mistake(number, labels, scores, chosen, label) or (
                    "don't round the AUC" if abs(number - expected) < 1e-3 else GENERIC_HINT
                )
            exercise.check(name, right, expected, number, hint)
        # Two people of the same outcome: no pair to rank, so no AUC. scikit-learn >= 1.6
        # returns NaN with a warning (older versions raise ValueError); a number is made up.
        tiny = np.zeros(len(subgroup), bool)
        tiny[np.flatnonzero(labels[:, column] == 0)[:2]] = True
        name = "a subgroup with one outcome class: no AUC (NaN or ValueError)"
        try:
            got = fn(labels.copy(), probabilities.copy(), tiny, "Pneumothorax")
        except ValueError:
            exercise.check(name, True)
            return
        except Exception as error:  # noqa: BLE001 - another error is feedback, not a crash
            exercise.check(name, False, "NaN or ValueError", type(error).__name__,
                           "an AUC needs both outcomes in the subgroup; let roc_auc_score say so")  # fmt: skip
            return
        undefined = _is_nan(got)
        hint = ""
        if not _is_scalar_number(got):
            hint = "return a number: NaN as a float, as roc_auc_score does (or let it raise)"
        elif not undefined:
            number = _as_number(got)
            named = "" if number is None else _mistake(
                number, labels, probabilities, tiny, "Pneumothorax", columns=False
            )  # fmt: skip
            hint = named or UNDEFINED_HINT
        got_text = f"returned {brief(got)}" + (
            "" if _is_scalar_number(got) else f" ({type(got).__name__})"
        )
        exercise.check(name, undefined, "NaN or ValueError", got_text, hint)

    return run_exercise("subgroup_auc", fn, body)
