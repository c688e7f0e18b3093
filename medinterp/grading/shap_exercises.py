"""Grader for the SHAP exercise ``class_one_values(raw)``: class 1's values from either of
shap's return formats.

For a scikit-learn forest classifier, shap < 0.45 returned a list with one
``(people, features)`` array per class; shap >= 0.45 returns one ``(people, features, 2)``
array. The grader builds both from a small forest (more people than features and not two of
them, so no wrong axis can pass by having the right length) and names the usual mistakes:
``raw[1]`` on the new format (person 1, not class 1), class 0 instead of class 1, a function
that handles only one format (``raw[..., 1]`` on the list raises; that is named, not shown as
a crash), a sum or mean over the classes, and a function that changes ``raw`` (even
``raw.pop(1)``, which returns the right values) before the framework could mistake it for its
own failure.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from medinterp.grading.feedback import Exercise, StudentCrash, run_exercise

__all__ = ["class_one_values_test"]

_PEOPLE, _FEATURES = 12, 5


@cache
def _raw_values() -> np.ndarray:
    """SHAP values of a small fitted forest, shap >= 0.45's (people, features, 2) array."""
    import shap
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(45)
    X = rng.normal(size=(200, _FEATURES))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    raw = np.asarray(shap.TreeExplainer(forest).shap_values(X[:_PEOPLE]))
    raw.flags.writeable = False
    return raw


LIST_INDEX_HINT = (
    "raw[..., 1] and raw[:, :, 1] index an array; shap < 0.45's list takes one index: raw[1]. "
    "Tell the formats apart first: isinstance(raw, list)"
)


def _indexed_a_list(error: BaseException) -> bool:
    """Whether ``error`` is Python's answer to a list indexed with a tuple (``raw[..., 1]``)."""
    return isinstance(error, TypeError) and "list indices must be" in str(error)


def _snapshot(given) -> list:
    """Copies of the arrays in ``given`` (a list of arrays or one array)."""
    return [np.array(part, copy=True) for part in (given if isinstance(given, list) else [given])]


def _change(before: list, given) -> str:
    """'' when ``given`` still holds what ``before`` recorded, else a hint naming the change."""
    parts = given if isinstance(given, list) else [given]
    if len(parts) != len(before):
        return (
            f"raw now holds {len(parts)} item(s), not {len(before)}: raw.pop(), del raw[...] and "
            "raw.remove() change the caller's list. Select without removing: raw[1]"
        )
    same = all(
        np.shape(part) == old.shape and np.array_equal(part, old)
        for part, old in zip(parts, before, strict=True)
    )
    return "" if same else "don't write into raw: select from it (the caller still needs it)"


def _mistake(got: np.ndarray, raw: np.ndarray) -> str:
    """A hint that names what a wrong answer returned, when it is recognisable."""
    class_one = raw[:, :, 1]
    if got.shape == raw[1].shape and np.allclose(got, raw[1]):
        return "raw[1] on shap >= 0.45's array is person 1's (features, classes); select the class on the last axis: raw[:, :, 1]"
    if got.shape == class_one.shape:
        if np.allclose(got, raw[:, :, 0]):
            return "these values explain class 0; class 1 is index 1 (raw[1] for the list, raw[:, :, 1] for the array)"
        combined = (raw.sum(axis=2), raw.mean(axis=2), raw[:, :, 1] - raw[:, :, 0])
        if any(np.allclose(got, values) for values in combined):
            return "don't combine the two classes: keep class 1 only"
        if np.allclose(got, np.abs(class_one)):
            return "keep the sign: a negative SHAP value pushes the prediction down"
    stacked_first = raw[:, 1, :].T  # np.asarray(list)[..., 1]: feature 1, per class
    if got.shape == stacked_first.shape and np.allclose(got, stacked_first):
        return (
            "np.asarray(list) puts the class first, (classes, people, features): class 1 is "
            "[1] there, not [..., 1]; isinstance(raw, list) tells the two formats apart"
        )
    if got.shape == class_one.T.shape:
        return "people are rows and features are columns: (people, features)"
    return (
        "return class 1's values as they are: raw[1] for the list, raw[:, :, 1] for the array "
        "(isinstance(raw, list) tells the two formats apart)"
    )


def class_one_values_test(fn) -> bool:
    """Grade ``class_one_values(raw)``. Prints the feedback; returns True or False."""

    def body(exercise: Exercise) -> None:
        raw = _raw_values()
        formats = {
            "3-D array (shap >= 0.45)": raw.copy(),
            "list of per-class arrays (shap < 0.45)": [raw[:, :, 0].copy(), raw[:, :, 1].copy()],
        }
        expected = raw[:, :, 1]
        for name, given in formats.items():
            before = _snapshot(given)
            try:
                got = exercise.call(given)
            except StudentCrash as crash:
                if not (isinstance(given, list) and _indexed_a_list(crash.error)):
                    raise
                exercise.check(f"{name}: class 1's values, (people, features)", False,
                               "raw[1] for the list", "TypeError: " + str(crash.error),
                               LIST_INDEX_HINT)  # fmt: skip
                continue
            changed = _change(before, given)
            exercise.check(f"{name}: leaves raw unchanged", not changed, hint=changed)
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                exercise.check(f"{name}: returns numbers", False, "an array", type(got).__name__)
                continue
            right = got.shape == expected.shape and np.allclose(got, expected)
            exercise.check(
                f"{name}: class 1's values, (people, features)",
                right,
                f"shape {expected.shape}, class 1's values",
                f"shape {got.shape}" + ("" if got.shape != expected.shape else ", other values"),
                "" if right else _mistake(got, raw),
            )

    return run_exercise("class_one_values", fn, body)
