"""Drawing permutation importance: a horizontal bar chart with error bars.

The numbers come from :func:`medinterp.importance.permutation_importance_details`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_importance"]


def plot_importance(result, metric_name: str = "c-index", ax=None):
    """Bar chart of each feature's mean importance, most important on top.

    Parameters
    ----------
    result : sklearn.utils.Bunch
        With ``importances_mean``, ``importances_std`` and ``feature_names`` (as returned by
        :func:`medinterp.importance.permutation_importance_details`).
    metric_name : str
        Named on the axis: the importance is the drop in this metric.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The bars are signed: a feature whose permutation *raised* the metric has a negative
        importance, which is noise, and is drawn to the left of zero.
    """
    missing = [
        name
        for name in ("importances_mean", "importances_std", "feature_names")
        if name not in result
    ]
    if missing:
        raise ValueError(
            f"result lacks {missing}: pass what permutation_importance_details returns"
        )
    means = np.asarray(result.importances_mean, dtype=float)
    stds = np.asarray(result.importances_std, dtype=float)
    names = list(result.feature_names)
    if not len(means) == len(stds) == len(names):
        raise ValueError(
            f"importances_mean, importances_std and feature_names differ in length: "
            f"{len(means)}, {len(stds)} and {len(names)}"
        )
    order = np.argsort(means, kind="stable")
    if ax is None:
        figure, ax = plt.subplots(figsize=(6, 5))
        plt.close(figure)
    ax.barh([names[i] for i in order], means[order], xerr=stds[order])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"drop in {metric_name} when permuted (mean, std error bars)")
    ax.set_title("Permutation importance")
    ax.figure.tight_layout()
    return ax.figure
