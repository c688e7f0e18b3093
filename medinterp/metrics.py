"""Evaluation metrics for risk models: the c-index of a 0/1 outcome (:func:`cindex`), and
the c-index of survival times with censoring, Harrell's (:func:`harrell_c`) and Uno's
(:func:`uno_c`)."""

from __future__ import annotations

import numba
import numpy as np
from scipy.stats import rankdata

__all__ = ["cindex", "harrell_c", "uno_c"]


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


def harrell_c(time, event, risk) -> float:
    """Harrell's concordance index for survival times with censoring.

    A pair of people is *comparable* when we know who died first: the one with the shorter
    time died (``event``), or both have the same time and only that one died (someone
    censored at a time was still alive at it). It is *concordant* when the one who died
    first has the higher risk; a tie in risk counts one half. Pairs whose shorter time is
    censored are not comparable (that person may have outlived the other), nor are two
    deaths at the same time.

    Parameters
    ----------
    time : array-like of shape (n,)
        Follow-up times (finite).
    event : array-like of shape (n,)
        True (or 1) when the person died at ``time``, False (0) when censored.
    risk : array-like of shape (n,)
        Higher means an earlier death is expected, as in scikit-survival (lifelines'
        ``concordance_index`` takes the opposite, a predicted survival time).

    Returns
    -------
    float
        Equal to ``lifelines.utils.concordance_index(time, -risk, event)`` and to
        ``sksurv.metrics.concordance_index_censored(event, time, risk)[0]`` (which counts
        risks within 1e-8 of each other as tied; this counts exact ties).

    Raises
    ------
    ValueError
        Lengths differ, a value is NaN or infinite, ``event`` is not 0/1 or boolean, or
        there is no comparable pair (no death before another person's time).

    Notes
    -----
    O(n log n): people are visited from the longest time down. Before the deaths at a
    time are scored, everyone with a longer time and everyone censored at that time is in
    a Fenwick tree over the ranks of the risks, which counts how many of them have a lower
    (concordant) or an equal (tied) risk in O(log n). The deaths at that time join the
    tree only afterwards, so two deaths at one time are never compared.
    """
    time, event, risk = _survival_arrays(time, event, risk)
    numerator, denominator = _weighted_concordance(time, event, risk, np.ones(len(time)))
    if denominator == 0:
        raise ValueError(
            "no comparable pair: Harrell's C needs at least one death before another "
            "person's follow-up time"
        )
    return float(numerator / denominator)


def uno_c(time_train, event_train, time_test, event_test, risk, tau=None) -> float:
    """Uno's concordance index: Harrell's pairs weighted by the inverse probability of
    censoring, so that it does not depend on how heavily the test data are censored.

    Each comparable pair whose earlier death is at time ``t`` weighs ``1 / G(t)^2``, where
    ``G`` is the Kaplan-Meier estimate of the probability of *not yet being censored*,
    estimated on the training data (censoring is the "event" there). Deaths late in
    follow-up, when many people have already been censored, weigh more: they stand in for
    the pairs that censoring hid.

    Parameters
    ----------
    time_train, event_train : array-like of shape (n_train,)
        Follow-up of the data the censoring distribution is estimated on.
    time_test, event_test : array-like of shape (n_test,)
        Follow-up of the people scored.
    risk : array-like of shape (n_test,)
        Higher means an earlier death is expected.
    tau : float, optional
        Only deaths before ``tau`` count (their pairs may reach beyond it). Choose ``tau``
        where ``G`` is still well above 0; by default every death counts.

    Returns
    -------
    float
        Equal to ``sksurv.metrics.concordance_index_ipcw(survival_train, survival_test,
        risk, tau)[0]`` (risks equal within 1e-8 aside, as for :func:`harrell_c`).

    Raises
    ------
    ValueError
        Bad arrays (as for :func:`harrell_c`), ``tau`` not a positive number, a test death
        after the last training time while ``G`` there is above 0 (undefined), ``G`` equal
        to 0 at a test death, or no comparable pair before ``tau``.
    """
    time_train, event_train, _ = _survival_arrays(
        time_train, event_train, np.zeros(len(np.atleast_1d(time_train))), "_train"
    )
    time_test, event_test, risk = _survival_arrays(time_test, event_test, risk, "_test")
    if tau is not None:
        if isinstance(tau, bool) or not np.isscalar(tau) or not np.isreal(tau):
            raise TypeError(f"tau must be a number (a time), got {tau!r}")
        if not np.isfinite(tau) or tau <= 0:
            raise ValueError(f"tau must be a positive, finite time, got {tau}")
    times, not_censored = _censoring_survival(time_train, event_train)
    deaths = event_test & (time_test < tau) if tau is not None else event_test
    death_times = time_test[deaths]
    if len(death_times) and death_times.max() > times[-1] and not_censored[-1] > 0:
        raise ValueError(
            f"a test death at {death_times.max():g} is after the last training time "
            f"{times[-1]:g}, where the censoring distribution is unknown; pass tau <= "
            f"{times[-1]:g}"
        )
    # G at each death time: the step function's value at the last training time <= t.
    position = np.searchsorted(times, death_times, side="right") - 1
    probability = np.where(death_times > times[-1], 0.0, not_censored[np.maximum(position, 0)])
    probability[position < 0] = 1.0
    if (probability == 0).any():
        raise ValueError(
            "the censoring distribution is 0 at a test death time (everyone in the training "
            "data was censored by then): pass a smaller tau"
        )
    weights = np.zeros(len(time_test))
    weights[deaths] = 1.0 / probability**2
    numerator, denominator = _weighted_concordance(time_test, event_test, risk, weights)
    if denominator == 0:
        raise ValueError("no comparable pair with a death before tau: Uno's C is undefined")
    return float(numerator / denominator)


def _censoring_survival(time, event):
    """Kaplan-Meier of staying uncensored: at each distinct time, the share of those at
    risk (deaths at that time leave the risk set first) who were not censored."""
    times, inverse = np.unique(time, return_inverse=True)
    censored = np.bincount(inverse, weights=~event, minlength=len(times))
    died = np.bincount(inverse, weights=event, minlength=len(times))
    total = np.bincount(inverse, minlength=len(times))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(total)[:-1]]) - died
    ratio = np.divide(censored, at_risk, out=np.zeros(len(times)), where=censored != 0)
    return times, np.cumprod(1.0 - ratio)


def _survival_arrays(time, event, risk, suffix=""):
    """time, event and risk as 1-D float, bool and float arrays, checked."""
    names = (f"time{suffix}", f"event{suffix}", "risk")
    arrays = []
    for name, values in zip(names, (time, event, risk), strict=True):
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
        arrays.append(array)
    time, event, risk = arrays
    if not len(time) == len(event) == len(risk):
        raise ValueError(
            f"{names[0]}, {names[1]} and risk must have the same length, got "
            f"{len(time)}, {len(event)} and {len(risk)}"
        )
    if event.dtype != bool:
        if event.dtype.kind not in "iuf" or not np.isin(event, (0, 1)).all():
            raise ValueError(f"{names[1]} must be boolean or 0/1, got values like {event[:5]}")
        event = event.astype(bool)
    for name, array in ((names[0], time), ("risk", risk)):
        if array.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    time, risk = time.astype(float), risk.astype(float)
    for name, array in ((names[0], time), ("risk", risk)):
        if not np.isfinite(array).all():
            raise ValueError(
                f"{name} holds {int((~np.isfinite(array)).sum())} NaN or infinite values"
            )
    return time, event, risk


def _weighted_concordance(time, event, risk, weights):
    """Sum over comparable pairs of the earlier death's weight times 1, 1/2 or 0, and of
    the weight alone."""
    _, risk_rank = np.unique(risk, return_inverse=True)
    order = np.argsort(-time, kind="stable")
    return _concordance_sums(order, time, event, risk_rank.astype(np.int64) + 1, weights)


@numba.njit(cache=True)
def _concordance_sums(order, time, event, risk_rank, weights):
    n = order.shape[0]
    tree = np.zeros(n + 1, dtype=np.int64)  # Fenwick tree: people per risk rank in the pool
    pool = 0
    numerator = 0.0
    denominator = 0.0
    i = 0
    while i < n:
        end = i
        while end < n and time[order[end]] == time[order[i]]:
            end += 1
        # Censored at this time: alive at it, so later than a death at it.
        for k in range(i, end):
            person = order[k]
            if not event[person]:
                _fenwick_add(tree, risk_rank[person])
                pool += 1
        for k in range(i, end):
            person = order[k]
            if event[person] and weights[person] != 0:
                lower = _fenwick_sum(tree, risk_rank[person] - 1)
                tied = _fenwick_sum(tree, risk_rank[person]) - lower
                numerator += weights[person] * (lower + 0.5 * tied)
                denominator += weights[person] * pool
        for k in range(i, end):
            person = order[k]
            if event[person]:
                _fenwick_add(tree, risk_rank[person])
                pool += 1
        i = end
    return numerator, denominator


@numba.njit(cache=True)
def _fenwick_add(tree, position):
    while position < tree.shape[0]:
        tree[position] += 1
        position += position & -position


@numba.njit(cache=True)
def _fenwick_sum(tree, position):
    total = 0
    while position > 0:
        total += tree[position]
        position -= position & -position
    return total
