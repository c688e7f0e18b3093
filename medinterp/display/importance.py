"""Drawing permutation importance (a bar chart with error bars) and the features'
correlation structure (a dendrogram beside a heat map).

The numbers come from :func:`medinterp.importance.permutation_importance_details` and
:func:`medinterp.importance.spearman_clustering`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_importance", "plot_feature_clustering"]


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


def plot_feature_clustering(clustering, threshold: float | None = None):
    """The features' dendrogram and their Spearman correlation heat map, side by side.

    Parameters
    ----------
    clustering : sklearn.utils.Bunch
        With ``correlation``, ``linkage`` and ``feature_names``, as returned by
        :func:`medinterp.importance.spearman_clustering`.
    threshold : float in (0, 1], optional
        The absolute correlation :func:`medinterp.importance.correlated_groups` cuts at:
        drawn as a dashed line at the height ``1 - threshold``, and the groups below it
        share a colour.

    Returns
    -------
    matplotlib.figure.Figure
        Left, the dendrogram (height ``1 - |rho|``, so 0 for an exact copy); right, rho
        from -1 to 1 with the features in the dendrogram's order, so a correlated group is
        a block on the diagonal.
    """
    from scipy.cluster import hierarchy

    missing = [k for k in ("correlation", "linkage", "feature_names") if k not in clustering]
    if missing:
        raise ValueError(f"clustering lacks {missing}: pass what spearman_clustering returns")
    names = list(clustering.feature_names)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    plt.close(figure)
    cut = None if threshold is None else 1 - threshold
    tree = hierarchy.dendrogram(
        clustering.linkage, labels=names, ax=left, orientation="right",
        color_threshold=cut if cut is not None else 0, above_threshold_color="grey",
    )  # fmt: skip
    if cut is not None:
        left.axvline(cut, color="black", linestyle="--", linewidth=0.8)
    left.set_xlabel("1 - |Spearman rho| (complete linkage)")
    left.set_title("Feature clustering")
    # Top to bottom in the dendrogram's order, as the heat map's rows.
    order = tree["leaves"][::-1]
    correlation = np.asarray(clustering.correlation, dtype=float)[np.ix_(order, order)]
    image = right.imshow(correlation, cmap="RdBu_r", vmin=-1, vmax=1)
    ordered = [names[i] for i in order]
    right.set_xticks(range(len(names)), ordered, rotation=90)
    right.set_yticks(range(len(names)), ordered)
    right.set_title("Spearman correlation")
    figure.colorbar(image, ax=right, fraction=0.046)
    figure.tight_layout()
    return figure
