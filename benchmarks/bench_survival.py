"""Harrell's C against its two peers, and grouped permutation importance on both paths.

``lifelines.utils.concordance_index`` is O(n log n) too (a balanced tree in Python);
``sksurv.metrics.concordance_index_censored`` builds a mask over all people for every death,
O(n^2), so it runs at the two smaller sizes only. Grouped permutation importance on NHANES
goes through the tree-aware path for the forest, and through the stacked ``predict_proba``
path for the same forest behind :class:`~benchmarks.bench_importance.OpaqueModel`.
"""

from __future__ import annotations

import numpy as np
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored

from benchmarks.bench_importance import OpaqueModel
from benchmarks.common import Row, side_by_side
from medinterp.data import load_nhanes
from medinterp.importance import grouped_permutation_importance
from medinterp.metrics import cindex, harrell_c
from medinterp.models import nhanes_forest

# NHANES's dependent features (notebook 08): the two exact identities and the protein pair.
GROUPS = {
    "blood pressure": ["Systolic BP", "Diastolic BP", "Pulse pressure"],
    "iron": ["TS", "Serum Iron", "TIBC"],
    "protein": ["Serum Albumin", "Serum Protein"],
    "age and sex": ["Age", "Sex"],
}


def survival_data(n: int):
    """Times on a grid of 0.01 years and risks on a grid of 0.001: ties in both."""
    rng = np.random.default_rng(n)
    risk = rng.integers(0, 1000, n) / 1000
    time = np.round(rng.exponential(10 / np.exp(2 * risk)), 2)
    event = rng.random(n) < 0.4
    return time, event, risk


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    sizes = [1_000, 10_000] if smoke else [10_000, 100_000, 1_000_000]
    repeats = 1 if smoke else repeats
    rows = []
    for n in sizes:
        time, event, risk = survival_data(n)
        ours_value = harrell_c(time, event, risk)
        difference = abs(ours_value - concordance_index(time, -risk, event))
        ours, theirs = side_by_side(
            lambda t=time, e=event, r=risk: harrell_c(t, e, r),
            lambda t=time, e=event, r=risk: concordance_index(t, -r, e),
            repeats=1 if n == sizes[-1] and not smoke else repeats,
        )
        largest = n == sizes[-1]
        goal = "equal to 1e-9; >= 5x at 10^6" if largest and not smoke else "equal to 1e-9"
        passed = difference < 1e-9 and (smoke or not largest or theirs / ours >= 5)
        rows.append(
            Row(f"Harrell's C, n = {n:,}, vs lifelines concordance_index", ours, theirs, goal,
                passed, note=f"|difference| {difference:.1e}")
        )  # fmt: skip
        if n <= 100_000:
            sksurv_value = concordance_index_censored(event, time, risk)[0]
            sksurv_difference = abs(ours_value - sksurv_value)
            # About 45 s a call at 10^5: one run, no warm-up.
            ours, sksurv_time = side_by_side(
                lambda t=time, e=event, r=risk: harrell_c(t, e, r),
                lambda t=time, e=event, r=risk: concordance_index_censored(e, t, r),
                repeats=1 if n >= 100_000 else repeats, warmup=0,
            )  # fmt: skip
            rows.append(
                Row(f"Harrell's C, n = {n:,}, vs scikit-survival concordance_index_censored",
                    ours, sksurv_time, "equal to 1e-9", sksurv_difference < 1e-9,
                    note=f"|difference| {sksurv_difference:.1e}; scikit-survival is O(n^2), "
                    "so not run at 10^6")
            )  # fmt: skip

    X_dev, X_test, y_dev, y_test = load_nhanes()
    model = nhanes_forest(X_dev, y_dev)
    y = y_test.to_numpy()
    samples = 3 if smoke else 50
    results = {}

    def fast():
        results["fast"] = grouped_permutation_importance(
            X_test, y, model, cindex, GROUPS, num_samples=samples, random_state=0
        )

    def stacked():
        results["stacked"] = grouped_permutation_importance(
            X_test, y, OpaqueModel(model), cindex, GROUPS, num_samples=samples, random_state=0
        )

    fast_time, stacked_time = side_by_side(fast, stacked, repeats=repeats)
    difference = float((results["fast"] - results["stacked"]).abs().to_numpy().max())
    rows.append(
        Row(f"grouped permutation importance, NHANES test ({len(y):,} rows), {len(GROUPS)} "
            f"groups x {samples}, tree-aware vs stacked predict_proba",
            fast_time, stacked_time, "faster; equal to 1e-12",
            difference <= 1e-12 and (smoke or stacked_time > fast_time),
            note=f"largest difference: {difference:.1e}")
    )  # fmt: skip
    return rows
