"""Permutation feature importance, the course's way, computed fast.

The importance of a feature is how much the model's performance drops when that feature's
values are shuffled across individuals, which breaks its link with the outcome while
keeping its distribution:

    importance = | baseline performance - mean performance with the feature permuted |
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from tqdm.auto import tqdm

# Rows scored in one predict_proba call: bounds the stacked array to about 256 MB of floats.
_MAX_STACKED_VALUES = 32_000_000
# Show a progress bar by default once this many rows are scored in all.
_PROGRESS_THRESHOLD_ROWS = 200_000


def permute_feature(df: pd.DataFrame, feature: str, rng=None) -> pd.DataFrame:
    """Return a copy of ``df`` in which only column ``feature`` is shuffled.

    Parameters
    ----------
    df : pandas.DataFrame
        Never modified.
    feature : str
        The column to permute.
    rng : None, int or numpy.random.Generator
        Source of randomness (``numpy.random.default_rng(rng)``). One permutation of
        ``len(df)`` is drawn, so a Generator shared by several calls advances by one draw.

    Returns
    -------
    pandas.DataFrame
        Same index, columns and dtypes; the values of ``feature`` are a permutation of the
        original ones (no value repeated or lost), all other columns unchanged.
    """
    _check_feature(df, feature)
    rng = np.random.default_rng(rng)
    permuted = df.copy()
    permuted[feature] = df[feature].to_numpy()[rng.permutation(len(df))]
    return permuted


def permutation_importance_details(
    X: pd.DataFrame,
    y,
    model,
    metric,
    num_samples: int = 100,
    random_state=None,
    progress: bool | None = None,
) -> Bunch:
    """Permutation importance with every sample kept, for error bars.

    Parameters are those of :func:`permutation_importance`.

    Returns
    -------
    sklearn.utils.Bunch
        ``baseline`` (float): performance on the unpermuted data.
        ``importances`` (ndarray, ``(n_features, num_samples)``): baseline minus the
        performance of each permuted copy (signed).
        ``importances_mean``, ``importances_std`` (ndarray, ``(n_features,)``).
        ``feature_names`` (list of str).
    """
    _validate(X, y, model, metric, num_samples)
    y = np.asarray(y)
    values = X.to_numpy(dtype=float)
    n_rows, n_features = values.shape
    rng = np.random.default_rng(random_state)
    baseline = float(metric(y, model.predict_proba(X)[:, 1]))
    samples_per_call = max(1, min(num_samples, _MAX_STACKED_VALUES // (n_rows * n_features)))
    if progress is None:
        progress = n_features * num_samples * n_rows >= _PROGRESS_THRESHOLD_ROWS
    importances = np.empty((n_features, num_samples))
    bar = tqdm(total=n_features * num_samples, desc="Permutation importance", disable=not progress)
    with bar:
        for j in range(n_features):
            # Draw every permutation of this feature first, in the same order the one-copy-
            # at-a-time loop would, so both give identical results for a seed.
            permutations = [rng.permutation(n_rows) for _ in range(num_samples)]
            for start in range(0, num_samples, samples_per_call):
                chunk = permutations[start : start + samples_per_call]
                stacked = np.tile(values, (len(chunk), 1))
                stacked[:, j] = np.concatenate([values[order, j] for order in chunk])
                frame = pd.DataFrame(stacked, columns=X.columns, copy=False)
                probabilities = model.predict_proba(frame)[:, 1].reshape(len(chunk), n_rows)
                for k, scores in enumerate(probabilities):
                    importances[j, start + k] = baseline - metric(y, scores)
                bar.update(len(chunk))
    return Bunch(
        baseline=baseline,
        importances=importances,
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        feature_names=list(X.columns),
    )


def permutation_importance(
    X: pd.DataFrame,
    y,
    model,
    metric,
    num_samples: int = 100,
    random_state=None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Permutation importance of every feature of ``X``, the course's definition.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n, n_features)
    y : array-like of shape (n,)
    model : estimator with ``predict_proba``
        Performance is ``metric(y, model.predict_proba(X)[:, 1])``.
    metric : callable ``(y_true, scores) -> float``
        Higher is better, e.g. :func:`medinterp.metrics.cindex`.
    num_samples : int, default=100
        Permutations per feature.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives the same result.
    progress : bool or None, default=None
        Show a ``tqdm.auto`` progress bar. ``None`` shows it on long runs only.

    Returns
    -------
    pandas.DataFrame
        One row, index ``['importance']``, one column per feature of ``X``:
        ``|baseline - mean permuted performance|``.

    See Also
    --------
    permutation_importance_details : the same, with every sample, mean and std.

    Notes
    -----
    All permutations of one feature are scored in one stacked ``predict_proba`` call
    (chunked to bound memory) instead of one DataFrame copy and one call per permutation.
    """
    details = permutation_importance_details(
        X, y, model, metric, num_samples, random_state=random_state, progress=progress
    )
    return pd.DataFrame([np.abs(details.importances_mean)], index=["importance"], columns=X.columns)


def _check_feature(df, feature):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame, got {type(df).__name__}")
    if feature not in df.columns:
        raise KeyError(f"Unknown feature {feature!r}. Valid features: {list(df.columns)}")


def _validate(X, y, model, metric, num_samples):
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if not hasattr(model, "predict_proba"):
        raise TypeError(
            f"model ({type(model).__name__}) has no predict_proba; permutation importance "
            "scores predicted probabilities of the positive class"
        )
    if not callable(metric):
        raise TypeError(f"metric must be a callable (y_true, scores) -> float, got {metric!r}")
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"num_samples must be a positive integer, got {num_samples!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
