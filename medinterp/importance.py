"""Permutation feature importance, the course's way, computed fast.

The importance of a feature is how much the model's performance drops when that feature's
values are shuffled across individuals, which breaks its link with the outcome while
keeping its distribution. Each permuted copy gives one signed sample,

    baseline performance - performance with the feature permuted,

which :func:`permutation_importance_details` returns as they are (negative when permuting
happened to help). :func:`permutation_importance`, the course's exercise, reports their mean,
``baseline - mean permuted performance``, signed as in the course's own code and in
scikit-learn: a feature the model does not need can come out slightly negative, which is how
it shows that it is noise.

A fitted scikit-learn random forest or extra-trees classifier is scored by the tree-aware fast
path of :mod:`medinterp.forest_importance`, which gives the same probabilities bit for bit;
any other model scores all the permuted copies of a feature in one stacked ``predict_proba``
call. Both draw the same permutations from the same ``random_state``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from medinterp.forest_importance import forest_predictor

__all__ = ["permute_feature", "permutation_importance", "permutation_importance_details"]

# Rows scored in one predict_proba call: bounds the stacked array to about 256 MB of floats.
_MAX_STACKED_VALUES = 32_000_000


def permute_feature(df: pd.DataFrame, feature: str, rng=None) -> pd.DataFrame:
    """Return a copy of ``df`` in which only column ``feature`` is shuffled.

    Parameters
    ----------
    df : pandas.DataFrame
        Never modified.
    feature : str
        The column to permute.
    rng : None, int >= 0, numpy.random.Generator, BitGenerator or SeedSequence
        Source of randomness (``numpy.random.default_rng(rng)``). One permutation of
        ``len(df)`` is drawn, so a Generator shared by several calls advances by one draw.

    Returns
    -------
    pandas.DataFrame
        Same index, columns and dtypes; the values of ``feature`` are a permutation of the
        original ones (no value repeated or lost), all other columns unchanged.
    """
    _check_feature(df, feature)
    rng = np.random.default_rng(_check_random_state(rng, "rng"))
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
    progress: bool = False,
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
    values, y = _validate(X, y, model, metric, num_samples, random_state, progress)
    n_rows, n_features = values.shape
    rng = np.random.default_rng(random_state)
    baseline = _score(metric, y, model.predict_proba(X)[:, 1], "the unpermuted data")
    # None for any model but a supported forest, which then keeps the stacked path.
    forest = forest_predictor(model, values)
    samples_per_call = max(1, min(num_samples, _MAX_STACKED_VALUES // (n_rows * n_features)))
    importances = np.empty((n_features, num_samples))
    bar = tqdm(total=n_features * num_samples, desc="Permutation importance", disable=not progress)
    with bar:
        for j, feature in enumerate(X.columns):
            # Draw every permutation of this feature first, in the same order the one-copy-
            # at-a-time loop would, so both give identical results for a seed.
            permutations = [rng.permutation(n_rows) for _ in range(num_samples)]
            for start in range(0, num_samples, samples_per_call):
                chunk = permutations[start : start + samples_per_call]
                if forest is not None:
                    probabilities = forest.permuted_probabilities(j, chunk)
                else:
                    probabilities = _stacked_probabilities(model, X.columns, values, j, chunk)
                for k, scores in enumerate(probabilities):
                    where = f"{feature!r} permuted (sample {start + k})"
                    importances[j, start + k] = baseline - _score(metric, y, scores, where)
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
    progress: bool = False,
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
    random_state : None, int >= 0, numpy.random.Generator, BitGenerator or SeedSequence
        Seed; the same seed gives the same result.
    progress : bool, default=False
        Show a ``tqdm.auto`` progress bar.

    Raises
    ------
    TypeError
        ``X`` is not a DataFrame or has a non-numeric column, ``model`` has no
        ``predict_proba``, ``metric`` is not callable or does not return one number, or
        ``num_samples``, ``random_state`` or ``progress`` has the wrong type.
    ValueError
        ``X``'s columns are not those the model was fitted on (missing, extra, duplicated or
        reordered), ``X`` holds an infinite value or no rows, ``y`` is not 1-D or has another
        length, ``num_samples < 1``, ``random_state < 0``, or the metric returns NaN or an
        infinite value.

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
    A fitted ``RandomForestClassifier`` or ``ExtraTreesClassifier`` is scored by
    :mod:`medinterp.forest_importance`, which only looks again at the trees and rows a permuted
    feature can move. Any other model scores all permutations of one feature in one stacked
    ``predict_proba`` call (chunked to bound memory) instead of one DataFrame copy and one
    call per permutation. Both give the same probabilities, so the same importances.
    """
    details = permutation_importance_details(
        X, y, model, metric, num_samples, random_state=random_state, progress=progress
    )
    return pd.DataFrame([details.importances_mean], index=["importance"], columns=X.columns)


def _stacked_probabilities(model, columns, values, feature_index, permutations):
    """``predict_proba[:, 1]`` of every permuted copy, stacked into one call."""
    n_rows = len(values)
    stacked = np.tile(values, (len(permutations), 1))
    stacked[:, feature_index] = np.concatenate(
        [values[order, feature_index] for order in permutations]
    )
    frame = pd.DataFrame(stacked, columns=columns, copy=False)
    return model.predict_proba(frame)[:, 1].reshape(len(permutations), n_rows)


def _score(metric, y, scores, where) -> float:
    value = metric(y, scores)
    number = None
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
    if number is None:
        raise TypeError(
            f"metric must return one number (higher is better), got {value!r} on {where}"
        )
    if not np.isfinite(number):
        raise ValueError(
            f"metric returned {number} on {where}; permutation importance needs a finite "
            "performance for every copy"
        )
    return number


def _check_feature(df, feature):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame, got {type(df).__name__}")
    if feature not in df.columns:
        raise ValueError(f"Unknown feature {feature!r}. Valid features: {list(df.columns)}")


def _check_random_state(random_state, name):
    seed_types = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)
    if random_state is None or isinstance(random_state, seed_types):
        return random_state
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            f"{name} must be None, an int >= 0 or a numpy.random.Generator, got {random_state!r}"
        )
    if random_state < 0:
        raise ValueError(f"{name} must be None, an int >= 0 or a Generator, got {random_state}")
    return random_state


def _check_columns(X, model):
    """X's columns are the model's, in the model's order."""
    duplicated = sorted({str(name) for name in X.columns[X.columns.duplicated()]})
    if duplicated:
        raise ValueError(f"X has duplicated columns: {duplicated}")
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and X.shape[1] != expected:
            raise ValueError(
                f"X has {X.shape[1]} columns but the model was fitted on {expected} features"
            )
        return
    fitted, given = list(fitted), list(X.columns)
    if given == fitted:
        return
    missing = [name for name in fitted if name not in given]
    extra = [name for name in given if name not in fitted]
    if missing or extra:
        raise ValueError(
            "X's columns are not those the model was fitted on: "
            f"missing {missing}, not seen in fit {extra}"
        )
    raise ValueError(
        "X's columns are in another order than the model was fitted with; "
        f"select them as X[{fitted}]"
    )


def _validate(X, y, model, metric, num_samples, random_state, progress):
    """Check every argument up front; return X's values as floats and y as an array."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if not hasattr(model, "predict_proba"):
        raise TypeError(
            f"model ({type(model).__name__}) has no predict_proba; permutation importance "
            "scores predicted probabilities of the positive class"
        )
    if not callable(metric):
        raise TypeError(f"metric must be a callable (y_true, scores) -> float, got {metric!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"num_samples must be a positive integer, got {num_samples!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    _check_random_state(random_state, "random_state")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    _check_columns(X, model)
    not_numeric = [
        str(name)
        for name, dtype in X.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if not_numeric:
        raise TypeError(f"X must hold numbers; these columns do not: {not_numeric}")
    values = X.to_numpy(dtype=float)
    infinite = [str(name) for name in X.columns[np.isinf(values).any(axis=0)]]
    if infinite:
        raise ValueError(f"X holds infinite values in columns {infinite}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
    return values, y
