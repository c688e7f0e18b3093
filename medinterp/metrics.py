"""Evaluation metrics for risk models."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["cindex"]


def cindex(y_true, scores) -> float:
    """Harrell's concordance index for a binary outcome, which equals ROC AUC.

    A pair of individuals is *permissible* when their outcomes differ. It is *concordant*
    when the individual with the outcome (``y_true == 1``) has the higher risk score, and a
    tie in score counts one half. The c-index is the concordant share of permissible pairs:
    0.5 is chance, 1.0 a perfect ranking.

    It is computed from ranks in O(n log n): with average ranks for ties, the sum of the
    positives' ranks minus its minimum counts every (positive, negative) pair the positive
    wins, and half of the tied ones (the Mann-Whitney U statistic).

    For a 0/1 outcome with no censoring this is exactly the area under the ROC curve:
    ``sklearn.metrics.roc_auc_score(y_true, scores)`` gives the same number. The two names
    come from two fields (survival analysis and classification); the c-index differs from
    ROC AUC only when survival times and censoring enter, as in
    ``lifelines.utils.concordance_index``.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or boolean.
    scores : array-like of shape (n,)
        Risk scores; higher means more likely to have the outcome.

    Returns
    -------
    float
        Equal to ``sklearn.metrics.roc_auc_score(y_true, scores)`` and to
        ``lifelines.utils.concordance_index(y_true, scores)``.

    Raises
    ------
    ValueError
        Lengths differ, a value is NaN, a label is not 0/1, or only one outcome is present
        (no permissible pairs).
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    if y_true.ndim != 1 or scores.ndim != 1:
        raise ValueError(
            f"y_true and scores must be 1-D, got shapes {y_true.shape} and {scores.shape}"
        )
    if len(y_true) != len(scores):
        raise ValueError(
            f"y_true and scores have different lengths: {len(y_true)} and {len(scores)}"
        )
    if np.isnan(scores).any():
        raise ValueError(f"scores contain {int(np.isnan(scores).sum())} NaN value(s)")
    if y_true.dtype.kind == "f" and np.isnan(y_true).any():
        raise ValueError(f"y_true contains {int(np.isnan(y_true).sum())} NaN value(s)")
    if not np.isfinite(scores).all():
        raise ValueError(f"scores contain {int((~np.isfinite(scores)).sum())} infinite value(s)")
    labels = np.unique(y_true)
    if not set(labels.tolist()) <= {0, 1}:
        shown = ", ".join(map(repr, labels[:5].tolist())) + (", ..." if len(labels) > 5 else "")
        raise ValueError(
            f"y_true must be binary (0/1 or bool), got {len(labels)} distinct values: {shown}"
        )
    positive = y_true.astype(bool)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError(
            "y_true has a single outcome class, so there are no permissible pairs "
            f"({n_positive} positive, {n_negative} negative)"
        )
    ranks = rankdata(scores)  # average ranks: a tie is worth one half
    wins = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    return float(wins / (n_positive * n_negative))
