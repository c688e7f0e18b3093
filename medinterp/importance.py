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

Correlated features mislead single-feature importance: permuting one of two copies of a
measurement leaves the model the other, so both look unimportant, and permuting one of
``Systolic BP``, ``Diastolic BP`` and ``Pulse pressure`` makes people who cannot exist.
:func:`grouped_permutation_importance` permutes a group's columns together (each row keeps
its own combination), :func:`drop_column_importance` refits without a feature or a group,
and :func:`correlated_groups` finds the groups (:mod:`medinterp.correlation`).

Why this module is long: single, grouped and drop-column importance share one validation
of their arguments (X against the model, y, the metric, the groups) and one scoring loop.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from medinterp.correlation import correlated_groups, spearman_clustering
from medinterp.forest_importance import forest_predictor

__all__ = [
    "permute_feature",
    "permutation_importance",
    "permutation_importance_details",
    "grouped_permutation_importance",
    "drop_column_importance",
    "correlated_groups",
    "spearman_clustering",
]

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
    groups=None,
) -> Bunch:
    """Permutation importance with every sample kept, for error bars.

    Parameters are those of :func:`permutation_importance`, and:

    groups : dict of str to list of str, optional
        Permute each group's columns together, as :func:`grouped_permutation_importance`
        does; the result then has one entry per group, named by its key.

    Returns
    -------
    sklearn.utils.Bunch
        ``baseline`` (float): performance on the unpermuted data.
        ``importances`` (ndarray, ``(n_features, num_samples)``): baseline minus the
        performance of each permuted copy (signed).
        ``importances_mean``, ``importances_std`` (ndarray, ``(n_features,)``).
        ``feature_names`` (list of str): the features, or the groups' names.
    """
    values, y = _validate(X, y, model, metric, num_samples, random_state, progress)
    units = _units(X, groups)
    n_rows, n_features = values.shape
    rng = np.random.default_rng(random_state)
    baseline = _score(metric, y, model.predict_proba(X)[:, 1], "the unpermuted data")
    # None for any model but a supported forest, which then keeps the stacked path.
    forest = forest_predictor(model, values)
    samples_per_call = max(1, min(num_samples, _MAX_STACKED_VALUES // (n_rows * n_features)))
    importances = np.empty((len(units), num_samples))
    bar = tqdm(total=len(units) * num_samples, desc="Permutation importance", disable=not progress)
    with bar:
        for u, (name, indices) in enumerate(units):
            # Draw every permutation of this feature first, in the same order the one-copy-
            # at-a-time loop would, so both give identical results for a seed.
            permutations = [rng.permutation(n_rows) for _ in range(num_samples)]
            for start in range(0, num_samples, samples_per_call):
                chunk = permutations[start : start + samples_per_call]
                if forest is not None:
                    probabilities = forest.permuted_group_probabilities(indices, chunk)
                else:
                    probabilities = _stacked_probabilities(model, X.columns, values, indices, chunk)
                for k, scores in enumerate(probabilities):
                    where = f"{name!r} permuted (sample {start + k})"
                    importances[u, start + k] = baseline - _score(metric, y, scores, where)
                bar.update(len(chunk))
    return Bunch(
        baseline=baseline,
        importances=importances,
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        feature_names=[name for name, _ in units],
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


def grouped_permutation_importance(
    X: pd.DataFrame,
    y,
    model,
    metric,
    groups,
    num_samples: int = 100,
    random_state=None,
) -> pd.DataFrame:
    """Permutation importance of groups of features, each group's columns permuted together.

    In each permuted copy one permutation of the rows is applied to every column of the
    group at once: each person keeps a combination of values that exists (a systolic and
    a diastolic pressure that belong together), only it now belongs to someone else. The
    model can no longer fall back on a correlated feature of the same group, so a group
    gets back the importance its members split between them.

    Parameters
    ----------
    X, y, model, metric, num_samples, random_state
        As in :func:`permutation_importance`.
    groups : dict of str to list of str
        A name for each group and the columns of ``X`` it permutes, e.g.
        ``{"blood pressure": ["Systolic BP", "Diastolic BP", "Pulse pressure"]}``. Groups
        may overlap; a feature left out of every group is not scored.
        :func:`correlated_groups` returns such a dict.

    Returns
    -------
    pandas.DataFrame
        One row, index ``['importance']``, one column per group in ``groups``' order:
        ``baseline - mean permuted performance`` (signed). A group of one feature gets
        exactly what :func:`permutation_importance` gives that feature with the same seed
        when it is the first scored.

    Raises
    ------
    TypeError
        ``groups`` is not a dict, a name is not a string, or a group is a string or not a
        list of column names; and the cases of :func:`permutation_importance`.
    ValueError
        ``groups`` is empty, a group is empty, repeats a column or names a column ``X``
        does not have; and the cases of :func:`permutation_importance`.

    Notes
    -----
    A fitted random forest or extra-trees classifier takes the tree-aware path of
    :mod:`medinterp.forest_importance`: only the (tree, row) pairs that split on a feature
    of the group are walked again. Any other model scores the stacked copies with one
    ``predict_proba`` call per chunk. Both give the same probabilities.
    """
    _check_groups(X, groups)
    details = permutation_importance_details(
        X, y, model, metric, num_samples, random_state=random_state, groups=groups
    )
    return pd.DataFrame(
        [details.importances_mean], index=["importance"], columns=details.feature_names
    )


def drop_column_importance(
    X_train: pd.DataFrame,
    y_train,
    X_test: pd.DataFrame,
    y_test,
    estimator,
    metric,
    groups=None,
) -> pd.DataFrame:
    """Drop-column importance: refit without each feature (or group), score on the test set.

    The importance of a feature is how much worse a model does when it is *trained* without
    it: ``metric(y_test, baseline model) - metric(y_test, model fitted without it)``. It
    answers "does the data carry this information anywhere else?", which permutation
    importance does not: a feature with an exact copy, or one computed from two others,
    loses nothing when dropped, because the refitted model uses its stand-in.

    Parameters
    ----------
    X_train, y_train : the data each model is fitted on.
    X_test, y_test : the data each model is scored on, same columns as ``X_train``.
    estimator : scikit-learn estimator with ``fit`` and ``predict_proba``
        Cloned (:func:`sklearn.base.clone`) for every fit; the one passed is never fitted.
        Fix its ``random_state`` so the fits differ only by their columns.
    metric : callable ``(y_true, scores) -> float``
        Higher is better; scores are ``predict_proba(X)[:, 1]``.
    groups : dict of str to list of str, optional
        Drop each group's columns together; by default every feature alone.

    Returns
    -------
    pandas.DataFrame
        One row, index ``['importance']``, one column per feature (or group), signed: the
        noise of refitting can make a useless feature slightly negative.

    Raises
    ------
    TypeError
        A table is not a DataFrame, ``estimator`` has no ``fit``/``predict_proba``,
        ``metric`` is not callable, or ``groups`` is malformed.
    ValueError
        ``X_train`` and ``X_test`` have other columns, lengths of X and y differ, a group
        is empty, repeats a column, names an unknown one, or holds every column (nothing
        left to fit on).
    """
    from sklearn.base import clone

    for name, table in (("X_train", X_train), ("X_test", X_test)):
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    if list(X_train.columns) != list(X_test.columns):
        raise ValueError(
            "X_train and X_test must have the same columns in the same order; got "
            f"{list(X_train.columns)} and {list(X_test.columns)}"
        )
    for name, table, target in (("train", X_train, y_train), ("test", X_test, y_test)):
        if len(table) != len(target):
            raise ValueError(
                f"X_{name} and y_{name} have different lengths: {len(table)} and {len(target)}"
            )
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
        raise TypeError(
            f"estimator ({type(estimator).__name__}) must be a scikit-learn estimator with fit "
            "and predict_proba, e.g. RandomForestClassifier(random_state=0)"
        )
    if not callable(metric):
        raise TypeError(f"metric must be a callable (y_true, scores) -> float, got {metric!r}")
    units = _units(X_train, groups)
    for name, indices in units:
        if len(indices) == X_train.shape[1]:
            raise ValueError(f"group {name!r} holds every column: nothing is left to fit on")

    def performance(columns, where):
        model = clone(estimator).fit(X_train[columns], y_train)
        return _score(metric, y_test, model.predict_proba(X_test[columns])[:, 1], where)

    every = list(X_train.columns)
    baseline = performance(every, "the model fitted on every column")
    importances = {}
    for name, indices in units:
        dropped = set(indices)
        kept = [column for j, column in enumerate(every) if j not in dropped]
        importances[name] = baseline - performance(kept, f"the model fitted without {name!r}")
    return pd.DataFrame([importances], index=["importance"])


def _stacked_probabilities(model, columns, values, feature_indices, permutations):
    """``predict_proba[:, 1]`` of every permuted copy, stacked into one call."""
    n_rows = len(values)
    stacked = np.tile(values, (len(permutations), 1))
    stacked[:, feature_indices] = np.concatenate(
        [values[order][:, feature_indices] for order in permutations]
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


def _check_groups(X, groups) -> None:
    """``groups`` maps names to non-empty lists of distinct columns of ``X``."""
    example = "e.g. {'blood pressure': ['Systolic BP', 'Diastolic BP']}"
    if not isinstance(groups, Mapping):
        raise TypeError(
            f"groups must be a dict mapping a group's name to a list of X's columns, {example}; "
            f"got {type(groups).__name__}"
        )
    if not groups:
        raise ValueError(f"groups must hold at least one group, {example}")
    valid = list(X.columns)
    for name, columns in groups.items():
        if not isinstance(name, str):
            raise TypeError(f"each group's name must be a string, got {name!r}")
        if isinstance(columns, str):
            raise TypeError(
                f"group {name!r} must be a list of columns, got the string {columns!r}; "
                f"write [{columns!r}]"
            )
        if not isinstance(columns, (list, tuple, pd.Index, np.ndarray)):
            raise TypeError(
                f"group {name!r} must be a list of X's columns, got {type(columns).__name__}"
            )
        columns = list(columns)
        if not columns:
            raise ValueError(f"group {name!r} is empty; give it at least one of {valid}")
        unknown = [column for column in columns if column not in valid]
        if unknown:
            raise ValueError(f"group {name!r} names unknown columns {unknown}. Valid: {valid}")
        repeated = sorted({str(c) for c in columns if columns.count(c) > 1})
        if repeated:
            raise ValueError(f"group {name!r} repeats the columns {repeated}")


def _units(X, groups) -> list[tuple[str, list[int]]]:
    """(name, column positions) of what is permuted or dropped together."""
    if groups is None:
        return [(column, [j]) for j, column in enumerate(X.columns)]
    _check_groups(X, groups)
    position = {column: j for j, column in enumerate(X.columns)}
    return [(name, [position[c] for c in columns]) for name, columns in groups.items()]


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
