"""Permutation importance: ours against scikit-learn's, and against the course's loop."""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.metrics import make_scorer

from benchmarks.common import Row, side_by_side
from medinterp.data import load_nhanes
from medinterp.importance import permutation_importance_details
from medinterp.metrics import cindex
from medinterp.models import nhanes_forest


def quadratic_cindex(y, scores):
    """The course's c-index: a Python loop over every permissible pair, O(n^2)."""
    concordant = permissible = 0.0
    for i, j in itertools.combinations(range(len(y)), 2):
        if y[i] != y[j]:
            permissible += 1
            positive, negative = (i, j) if y[i] == 1 else (j, i)
            if scores[positive] > scores[negative]:
                concordant += 1
            elif scores[positive] == scores[negative]:
                concordant += 0.5
    return concordant / permissible


def _course_permutation_importance(X, y, model, metric, num_samples):
    """The course's loop: a DataFrame copy and a prediction per permutation."""
    baseline = metric(y, model.predict_proba(X)[:, 1])
    importances = {}
    for feature in X.columns:
        scores = []
        for _ in range(num_samples):
            permuted = X.copy(deep=True)
            permuted[feature] = np.random.permutation(permuted[feature].to_numpy())
            scores.append(metric(y, model.predict_proba(permuted)[:, 1]))
        importances[feature] = abs(baseline - np.mean(scores))
    return importances


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    X_dev, X_test, y_dev, y_test = load_nhanes()
    model = nhanes_forest(X_dev, y_dev)
    y = y_test.to_numpy()
    samples = 3 if smoke else 100
    repeats = 1 if smoke else repeats
    results = {}

    def ours():
        results["ours"] = permutation_importance_details(
            X_test, y, model, cindex, num_samples=samples, random_state=0, progress=False
        )

    scorer = make_scorer(cindex, response_method="predict_proba")

    def theirs():
        results["sklearn"] = sklearn_permutation_importance(
            model, X_test, y, scoring=scorer, n_repeats=samples, random_state=0
        )

    ours_time, sklearn_time = side_by_side(ours, theirs, repeats=repeats, warmup=0)
    ours_mean = results["ours"].importances_mean
    sklearn_mean = results["sklearn"].importances_mean
    # Within sampling noise: the difference of two means, each with std/sqrt(samples).
    noise = np.sqrt(results["ours"].importances_std ** 2 + results["sklearn"].importances_std ** 2)
    tolerance = 4 * noise / np.sqrt(samples) + 1e-4
    agree = bool(np.all(np.abs(ours_mean - sklearn_mean) <= tolerance))
    rows = [
        Row(f"permutation importance, NHANES test ({len(y):,} rows), 18 x {samples}",
            ours_time, sklearn_time, ">= 5x faster; agree within sampling noise",
            agree and (smoke or sklearn_time / ours_time >= 5),
            note=f"importances agree within 4 standard errors: {agree}")
    ]  # fmt: skip

    sub_X, sub_y = X_test.iloc[:300], y[:300]
    course_samples = 2 if smoke else 10

    def ours_small():
        permutation_importance_details(
            sub_X, sub_y, model, cindex, num_samples=course_samples, random_state=0, progress=False
        )

    def course_small():
        _course_permutation_importance(sub_X, sub_y, model, quadratic_cindex, course_samples)

    ours_small_time, course_time = side_by_side(ours_small, course_small, repeats=repeats, warmup=0)
    rows.append(
        Row(f"permutation importance, 300 rows, 18 x {course_samples}, vs the course's loop "
            "(DataFrame copy per permutation, O(n^2) Python c-index)",
            ours_small_time, course_time, "faster", course_time > ours_small_time)
    )  # fmt: skip
    return rows
