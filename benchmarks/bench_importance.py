"""Permutation importance: ours against scikit-learn's, the stacked path and the course's loop.

A random forest goes through the tree-aware fast path (:mod:`medinterp.forest_importance`);
the same forest behind :class:`OpaqueModel` goes through the stacked ``predict_proba`` path,
as any other model would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.metrics import make_scorer

from benchmarks.common import Row, side_by_side
from medinterp.data import load_nhanes
from medinterp.forest_importance import ForestPermutationPredictor
from medinterp.importance import permutation_importance_details
from medinterp.metrics import cindex
from medinterp.models import NHANES_FOREST_PARAMS, nhanes_forest
from tests.cindex_reference import quadratic_cindex  # the course's O(n^2) pairwise loop

# The synthetic table is this many times NHANES's test set, with as many features.
SYNTHETIC_SCALE = 10


class OpaqueModel:
    """A fitted model seen only through ``predict_proba``: the stacked path scores it."""

    def __init__(self, model):
        self.model = model

    def predict_proba(self, X):
        return self.model.predict_proba(X)


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


def skipped_share(model, X, samples=1) -> float:
    """Share of the (tree, row) evaluations of the stacked path that the fast path skips.

    The pairs the fast path evaluates depend on the feature only, not on the permutation.
    """
    predictor = ForestPermutationPredictor(model, X.to_numpy(dtype=float))
    identity = [np.arange(len(X))] * samples
    for j in range(X.shape[1]):
        predictor.permuted_probabilities(j, identity)
    return 1 - predictor.n_tree_evaluations / predictor.n_tree_evaluations_stacked


def synthetic_table(n_rows: int, n_features: int, random_state: int = 0):
    """A fitted forest (the course's hyperparameters) and a held-out table of ``n_rows``."""
    X, y = make_classification(
        n_samples=2 * n_rows, n_features=n_features, n_informative=8, n_redundant=4,
        flip_y=0.1, random_state=random_state,
    )  # fmt: skip
    X = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)])
    model = RandomForestClassifier(**NHANES_FOREST_PARAMS, n_jobs=2).fit(X[:n_rows], y[:n_rows])
    return model.set_params(n_jobs=None), X[n_rows:].reset_index(drop=True), y[n_rows:]


def compare(name, X, y, model, samples, repeats, sklearn_goal, smoke):
    """Two rows: the fast path against scikit-learn's loop, and against the stacked path.

    ``sklearn_goal``: the speed-up over scikit-learn to reach, or None for "faster".
    """
    results = {}

    def ours():
        results["ours"] = permutation_importance_details(
            X, y, model, cindex, num_samples=samples, random_state=0, progress=False
        )

    def stacked():
        results["stacked"] = permutation_importance_details(
            X, y, OpaqueModel(model), cindex, num_samples=samples, random_state=0, progress=False
        )

    scorer = make_scorer(cindex, response_method="predict_proba")

    def theirs():
        results["sklearn"] = sklearn_permutation_importance(
            model, X, y, scoring=scorer, n_repeats=samples, random_state=0
        )

    ours_time, sklearn_time = side_by_side(ours, theirs, repeats=repeats, warmup=0)
    ours_mean = results["ours"].importances_mean
    sklearn_mean = results["sklearn"].importances_mean
    # Within sampling noise: the difference of two means, each with std/sqrt(samples).
    noise = np.sqrt(results["ours"].importances_std ** 2 + results["sklearn"].importances_std ** 2)
    tolerance = 4 * noise / np.sqrt(samples) + 1e-4
    agree = bool(np.all(np.abs(ours_mean - sklearn_mean) <= tolerance))
    skipped = skipped_share(model, X)
    size = f"{name} ({len(y):,} rows), {X.shape[1]} x {samples}"
    speed_goal = f">= {sklearn_goal}x faster" if sklearn_goal else "faster"
    fast_enough = sklearn_time / ours_time >= (sklearn_goal or 1)
    rows = [
        Row(f"permutation importance, {size}, fast path vs scikit-learn",
            ours_time, sklearn_time, f"{speed_goal}; agree within sampling noise",
            agree and (smoke or fast_enough),
            note=f"importances agree within 4 standard errors: {agree}; "
            f"tree evaluations skipped: {skipped:.1%}")
    ]  # fmt: skip

    ours_time, stacked_time = side_by_side(ours, stacked, repeats=repeats, warmup=0)
    difference = float(np.abs(results["ours"].importances - results["stacked"].importances).max())
    rows.append(
        Row(f"permutation importance, {size}, fast path vs the stacked predict_proba path",
            ours_time, stacked_time, "faster; every sample equal to 1e-12",
            difference <= 1e-12 and stacked_time > ours_time,
            note=f"largest difference of a sample: {difference:.1e}; "
            f"tree evaluations skipped: {skipped:.1%}")
    )  # fmt: skip
    return rows


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    X_dev, X_test, y_dev, y_test = load_nhanes()
    model = nhanes_forest(X_dev, y_dev)
    y = y_test.to_numpy()
    samples = 3 if smoke else 100
    repeats = 1 if smoke else repeats
    rows = compare("NHANES test", X_test, y, model, samples, repeats, 20, smoke)

    # scikit-learn's loop takes about 50 s per run at 10 x NHANES's rows and 18 x 10.
    n_synthetic = 2_000 if smoke else SYNTHETIC_SCALE * len(y)
    synthetic_model, X_synthetic, y_synthetic = synthetic_table(n_synthetic, X_test.shape[1])
    rows += compare(
        "synthetic", X_synthetic, y_synthetic, synthetic_model, 3 if smoke else 10, repeats, None,
        smoke,
    )  # fmt: skip

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
