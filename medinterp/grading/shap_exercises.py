"""Grader for the SHAP exercise ``class_one_values(raw)``: class 1's values from either of
shap's return formats.

For a scikit-learn forest classifier, shap < 0.45 returned a list with one
``(people, features)`` array per class; shap >= 0.45 returns one ``(people, features, 2)``
array. The grader builds both from a small forest (more people than features and not two of
them, so no wrong axis can pass by having the right length) and names the usual mistakes:
``raw[1]`` on the new format (person 1, not class 1), class 0 instead of class 1, a function
that handles only one format, and a sum or mean over the classes.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from medinterp.grading.feedback import Exercise, run_exercise

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
            parts = given if isinstance(given, list) else [given]
            before = [part.copy() for part in parts]
            got = exercise.call(given)
            unchanged = all(np.array_equal(a, b) for a, b in zip(parts, before, strict=True))
            exercise.check(
                f"{name}: leaves raw unchanged", unchanged,
                hint="" if unchanged else "don't write into raw: select from it (the caller still needs it)",
            )  # fmt: skip
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
