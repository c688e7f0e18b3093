"""c-index: ours (ranks, O(n log n)) against its two peers.

For a 0/1 label the c-index is ROC AUC, so ``sklearn.metrics.roc_auc_score`` is the right peer;
``lifelines.utils.concordance_index`` solves the general censored problem and is slower.
"""

from __future__ import annotations

import numpy as np
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score

from benchmarks.common import Row, side_by_side
from medinterp.metrics import cindex


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    sizes = [1_000, 10_000] if smoke else [1_000, 10_000, 100_000, 1_000_000]
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        y = rng.integers(0, 2, n)
        scores = rng.integers(0, 1000, n) / 1000 + 0.2 * y  # ties and signal
        difference = abs(cindex(y, scores) - concordance_index(y, scores))
        ours, theirs = side_by_side(
            lambda y=y, s=scores: cindex(y, s),
            lambda y=y, s=scores: concordance_index(y, s),
            repeats=1 if smoke else repeats,
        )
        largest = n == sizes[-1]
        goal = "equal to 1e-9; >= 5x at 10^6" if largest else "equal to 1e-9"
        passed = difference < 1e-9 and (not largest or smoke or theirs / ours >= 5)
        rows.append(
            Row(f"c-index, n = {n:,}, vs lifelines", ours, theirs, goal, passed,
                note=f"|difference| {difference:.1e}")
        )  # fmt: skip
        auc_difference = abs(cindex(y, scores) - roc_auc_score(y, scores))
        ours, auc_time = side_by_side(
            lambda y=y, s=scores: cindex(y, s),
            lambda y=y, s=scores: roc_auc_score(y, s),
            repeats=1 if smoke else repeats,
        )
        rows.append(
            Row(f"c-index, n = {n:,}, vs sklearn roc_auc_score", ours, auc_time,
                "equal to 1e-12 (same statistic)", auc_difference < 1e-12,
                note=f"|difference| {auc_difference:.1e}")
        )  # fmt: skip
    return rows
