"""Which features move together: hierarchical clustering on Spearman correlation.

Permutation importance is misleading for features that carry the same information (see
:mod:`medinterp.importance`). scikit-learn's example "Permutation Importance with
Multicollinear or Correlated Features" finds them by clustering the features on their
Spearman rank correlation; :func:`spearman_clustering` does that, and
:func:`correlated_groups` cuts the tree at a correlation: with complete linkage, every two
features of a group are correlated at least that strongly (in absolute value).

Spearman's correlation is the Pearson correlation of the ranks, so it sees any monotone
dependence (``TS = 100 * Serum Iron / TIBC`` is not linear in either) and is not pulled by
the sentinel codes of NHANES (a 999 is just the highest rank).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.utils import Bunch

__all__ = ["spearman_clustering", "correlated_groups"]


def spearman_clustering(X: pd.DataFrame) -> Bunch:
    """The features' Spearman correlations and their complete-linkage clustering.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n, n_features)
        Numeric columns, at least two, none constant, no NaN.

    Returns
    -------
    sklearn.utils.Bunch
        ``correlation`` (DataFrame, features x features): Spearman's rho.
        ``linkage`` (ndarray, ``(n_features - 1, 4)``): :func:`scipy.cluster.hierarchy.linkage`
        of the distance ``1 - |rho|``, complete linkage; a merge at height ``h`` joins
        clusters whose least correlated pair has ``|rho| = 1 - h``.
        ``feature_names`` (list of str).

    Raises
    ------
    TypeError
        ``X`` is not a DataFrame or holds a non-numeric column.
    ValueError
        ``X`` has fewer than two columns or rows, a NaN, or a constant column (its
        correlation is undefined).
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if X.shape[1] < 2 or X.shape[0] < 2:
        raise ValueError(f"X needs at least two rows and two columns, got shape {X.shape}")
    not_numeric = [
        str(c) for c, dtype in X.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)
    ]
    if not_numeric:
        raise TypeError(f"X must hold numbers; these columns do not: {not_numeric}")
    missing = [str(c) for c in X.columns[X.isna().any()]]
    if missing:
        raise ValueError(f"X holds NaN in {missing}; drop or impute them first")
    constant = [str(c) for c in X.columns[X.nunique() < 2]]
    if constant:
        raise ValueError(f"X's columns {constant} are constant: their correlation is undefined")
    # Pearson on average ranks is Spearman's rho, ties included.
    correlation = X.rank().corr()
    distance = 1 - np.abs(correlation.to_numpy())
    np.fill_diagonal(distance, 0)
    distance = (distance + distance.T) / 2  # exactly symmetric for squareform
    linkage = hierarchy.linkage(squareform(np.clip(distance, 0, None)), method="complete")
    return Bunch(correlation=correlation, linkage=linkage, feature_names=list(X.columns))


def correlated_groups(X: pd.DataFrame, threshold: float) -> dict[str, list[str]]:
    """Groups of features whose every pair has ``|Spearman rho| >= threshold``.

    Parameters
    ----------
    X : pandas.DataFrame
        As for :func:`spearman_clustering`.
    threshold : float in (0, 1]
        The weakest absolute correlation allowed inside a group (complete linkage, cut at
        the distance ``1 - threshold``).

    Returns
    -------
    dict of str to list of str
        Every feature in exactly one group; groups of two or more first (largest first),
        then the single features, each in ``X``'s column order. A group is named by its
        members joined with ``" + "``; a single feature by itself. Ready for
        :func:`medinterp.importance.grouped_permutation_importance`.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, Real):
        raise TypeError(f"threshold must be a number in (0, 1], got {threshold!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be an absolute correlation in (0, 1], got {threshold}")
    clustering = spearman_clustering(X)
    # Heights are 1 - |rho| of the least correlated pair; a tiny margin keeps a pair at
    # exactly the threshold (an exact copy: rho = 1, height 0) inside.
    labels = hierarchy.fcluster(clustering.linkage, t=1 - threshold + 1e-12, criterion="distance")
    members: dict[int, list[str]] = {}
    for column, label in zip(X.columns, labels, strict=True):
        members.setdefault(int(label), []).append(column)
    ordered = sorted(members.values(), key=lambda group: (len(group) == 1, -len(group)))
    return {" + ".join(map(str, group)): group for group in ordered}
