"""Graders for the tabular exercises: ``permute_feature`` and ``permutation_importance``.

They check behaviour, not one example:

- ``permute_feature`` runs on a frame whose index is not ``0..n-1`` and whose values are not
  their positions, twice, and the permutation must be random: not the original order, not a
  sort, not a cyclic shift or a reversal, and different at each call. Two mistakes the index
  exposes are named: a shuffled Series assigned back (pandas realigns it on the index, so
  nothing moves) and ``df.loc[permutation, feature]`` (positions used as index labels).
- ``permutation_importance`` runs on a noisy, non-separable test set (baseline c-index well
  below 1) with a model and a metric that record every call. From what was scored, the
  grader recomputes ``baseline - mean(permuted)`` for the student's own permutations and
  compares; so it can count exactly ``n_features x num_samples`` permuted scores for two
  values of ``num_samples``, see that the permutations differ, and name the usual mistakes
  (hard labels, the negative class, ``abs()``, a ratio, the mean of absolute drops). One
  feature is used by the model the wrong way round on the test set, so its importance is
  reliably negative: the signed convention is tested. A model call on several copies stacked
  into one table (``len(X)`` rows each) counts as one call per copy.

Why this module is long: the two graders share the test frame, the recording model and
metric, and the mistake catalogue that names what a wrong answer did; apart, each would
import the other's internals.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from medinterp.grading.feedback import (
    Exercise,
    StudentCrash,
    brief,
    numpy_random_state,
    replaced_global,
    run_exercise,
)

__all__ = ["permutation_importance_test", "permute_feature_test", "reference_permute_feature"]

_SEED = 14
_SAMPLE_COUNTS = (3, 5)


def reference_permute_feature(df: pd.DataFrame, feature: str) -> pd.DataFrame:
    """The course's ``permute_feature`` (NumPy's global generator, so a seed reproduces it)."""
    permuted = df.copy()
    permuted[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]  # noqa: NPY002
    return permuted


# --- permute_feature ----------------------------------------------------------------------


def _feature_frame() -> pd.DataFrame:
    """30 people; an index that is not 0..n-1 and values that are not their positions."""
    rng = np.random.default_rng(_SEED)
    n = 30
    return pd.DataFrame(
        {
            "age": 20.5 + 1.5 * rng.permutation(n),
            "sex": rng.integers(1, 3, n),
            "bmi": np.round(18 + 0.37 * rng.permutation(n), 2),
        },
        index=pd.Index(rng.choice(np.arange(1000, 9999), n, replace=False), name="person"),
    )


def _order(original: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """Positions in ``original`` of each value of ``values`` (distinct values), or None."""
    lookup = {value: position for position, value in enumerate(original.tolist())}
    try:
        return np.array([lookup[value] for value in values.tolist()])
    except (KeyError, TypeError):
        return None


def _is_shift_or_reversal(order: np.ndarray) -> bool:
    n = len(order)
    steps = np.diff(order) % n
    return bool(np.all(steps == 1) or np.all(steps == n - 1))


def _values_hint(column: pd.Series) -> str:
    values = column.to_numpy()
    if pd.isna(values).any():
        return (
            "the column holds NaN: pandas aligns an assigned Series on the index. Assign the "
            "values instead: df[feature].to_numpy()[permutation]"
        )
    if sorted(values.tolist()) == list(range(len(values))):
        return (
            "you stored the permutation's positions 0..n-1, not the column's values: "
            "df[feature].to_numpy()[permutation]"
        )
    if len(set(values.tolist())) < len(values):
        return (
            "some values repeat: sampling with replacement draws a value twice; use a permutation"
        )
    return "the column must hold the same values as before, each once, only in another order"


UNMOVED_HINT = (
    "nothing moved. If you shuffled a Series (df[feature].iloc[permutation], "
    ".sample(frac=1)), assigning it back realigned it on the index and undid the shuffle: "
    "assign the values, df[feature].to_numpy()[permutation]"
)
LOC_HINT = (
    "df.loc[permutation, feature] reads the permutation as index labels, and this frame's index "
    "is not 0..n-1 (nor is X_test's): take positions from the values, "
    "df[feature].to_numpy()[permutation]"
)


def _labels_for_positions(error: BaseException, df: pd.DataFrame) -> bool:
    """Whether ``error`` is pandas' KeyError for positions looked up as ``df``'s index labels
    ("None of [...] are in the [index]", "[...] not in index")."""
    return (
        isinstance(error, KeyError)
        and "index" in str(error)
        and not set(range(len(df))) <= set(df.index)
    )


def permute_feature_test(fn) -> bool:
    """Grade Exercise 5.1, ``permute_feature(df, feature)``.

    Returns True when every check passed; prints each check. Never raises for the student's
    function.
    """

    def body(exercise: Exercise) -> None:
        original = _feature_frame()
        given = [original.copy() for _ in range(3)]  # a fresh frame per call
        try:
            with numpy_random_state(_SEED):
                first = exercise.call(given[0], "age")
                second = exercise.call(given[1], "age")
                other = exercise.call(given[2], "bmi")
        except StudentCrash as crash:
            if not _labels_for_positions(crash.error, original):
                raise
            exercise.check("selects the rows by position", False,
                           "positions 0..n-1 applied to the column's values",
                           "KeyError: the positions looked up as index labels",
                           LOC_HINT)  # fmt: skip
            return
        df = original
        if not exercise.check("returns a DataFrame", isinstance(first, pd.DataFrame),
                              "DataFrame", type(first).__name__,
                              "return the permuted copy (the whole DataFrame)"):  # fmt: skip
            return
        unchanged = all(
            frame.equals(original) and frame.index.equals(original.index) for frame in given
        )
        exercise.check("leaves the input unchanged", unchanged,
                       None, None, "work on a copy: permuted_df = df.copy(), never on df itself")  # fmt: skip
        same_columns = list(first.columns) == list(df.columns)
        same_frame = same_columns and first.index.equals(df.index)
        if same_columns:
            reordered = sorted(first.index.tolist()) == sorted(df.index.tolist())
            got = "the rows' index " + ("reordered" if reordered else "replaced")
        else:
            got = f"columns {list(first.columns)}"
        exercise.check("keeps the rows' index and the columns in place", same_frame,
                       f"columns {list(df.columns)}, index unchanged" if not same_columns
                       else "the rows' index unchanged", got,
                       "change only the values of one column; keep every row where it is")  # fmt: skip
        if not same_frame:
            return
        others = [column for column in df.columns if column != "age"]
        exercise.check("other columns untouched", first[others].equals(original[others]),
                       None, None, "permute only the named feature's column, not whole rows")  # fmt: skip
        column = first["age"]
        order = _order(original["age"].to_numpy(), column.to_numpy())
        if not exercise.check("the feature holds its own values, each once", order is not None
                              and sorted(order.tolist()) == list(range(len(df))),
                              "the same 30 values, reordered", brief(column.to_numpy()[:4]) + " ...",
                              _values_hint(column)):  # fmt: skip
            return
        if not exercise.check("the feature's order changed",
                              not np.array_equal(order, np.arange(len(df))),
                              "a new order", "the original order", UNMOVED_HINT):  # fmt: skip
            return
        monotone = np.all(np.diff(column.to_numpy()) > 0) or np.all(np.diff(column.to_numpy()) < 0)
        patterned = monotone or _is_shift_or_reversal(order)
        exercise.check("the new order is random (not sorted, shifted or reversed)", not patterned,
                       "a random order", "sorted" if monotone else "a cyclic shift or reversal",
                       "sorting or np.roll reorders without randomness: use np.random.permutation")  # fmt: skip
        second_order = (
            _order(original["age"].to_numpy(), second["age"].to_numpy())
            if isinstance(second, pd.DataFrame) and "age" in second.columns
            else None
        )
        exercise.check("two calls give two different orders",
                       second_order is not None and not np.array_equal(order, second_order),
                       "a new order at each call", "the same order twice",
                       "don't fix a seed inside the function (np.random.seed, RandomState(42)): "
                       "every call must draw a new permutation")  # fmt: skip
        changed = (
            [c for c in df.columns if not other[c].equals(original[c])]
            if isinstance(other, pd.DataFrame) and list(other.columns) == list(df.columns)
            else None
        )
        exercise.check("permutes the feature it is given", changed == ["bmi"],
                       "only bmi changed for feature='bmi'", f"changed: {changed}",
                       "use the feature argument, not a fixed column name")  # fmt: skip

    return run_exercise("permute_feature", fn, body)


# --- permutation_importance ------------------------------------------------------------------


@cache
def _importance_problem():
    """A logistic model, and a noisy test set on which its three features matter
    strongly, hardly, and the wrong way round (permuting that one helps)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(_SEED)
    names = ["strong", "noise", "reversed"]

    def sample(n, reversed_sign):
        X = pd.DataFrame(rng.normal(size=(n, 3)), columns=names)
        logit = 1.5 * X["strong"] + reversed_sign * 1.0 * X["reversed"]
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        return X, y

    X_train, y_train = sample(2000, +1)
    X_test, y_test = sample(400, -1)
    X_test.index = rng.choice(np.arange(10_000, 99_999), len(X_test), replace=False)
    model = LogisticRegression().fit(X_train, y_train)
    return model, X_test, pd.Series(y_test.to_numpy(), index=X_test.index, name="death")


class _SpyModel:
    """Forwards to a fitted model and records what it was asked to predict."""

    def __init__(self, model, calls):
        self._model, self._calls = model, calls

    def predict_proba(self, X):
        out = self._model.predict_proba(X)
        self._calls.append(("predict_proba", np.array(X, dtype=float), out))
        return out

    def predict(self, X):
        out = self._model.predict(X)
        self._calls.append(("predict", np.array(X, dtype=float), out))
        return out

    def __getattr__(self, name):
        return getattr(self._model, name)


def _per_copy(model_calls, n_rows):
    """The model calls, with a call on several copies stacked into one table (a multiple of
    ``n_rows`` rows) split into one call per copy of ``n_rows`` rows."""
    for method, X_used, out in model_calls:
        copies = len(X_used) // n_rows
        if copies > 1 and len(X_used) == copies * n_rows and len(out) == len(X_used):
            for start in range(0, len(X_used), n_rows):
                yield method, X_used[start : start + n_rows], out[start : start + n_rows]
        else:
            yield method, X_used, out


def _scored(metric_calls, model_calls, X_values):
    """For each metric call: (what was scored, the set of columns permuted, the score, a
    digest of the data predicted on)."""
    model_calls = list(_per_copy(model_calls, len(X_values)))
    rows = []
    for scores, value in metric_calls:
        kind, permuted, digest = "unknown", None, None
        for method, X_used, out in model_calls:
            candidates = {"predict": out} if method == "predict" else {
                "positive": out[:, 1], "negative": out[:, 0]}  # fmt: skip
            for name, candidate in candidates.items():
                if candidate.shape == scores.shape and np.allclose(candidate, scores):
                    kind = "hard labels" if method == "predict" else name
                    if X_used.shape == X_values.shape:
                        permuted = frozenset(np.flatnonzero((X_used != X_values).any(axis=0)))
                        digest = hash(X_used.tobytes())
                    break
            if kind != "unknown":
                break
        rows.append((kind, permuted, value, digest))
    return rows


def _validate_metric(cindex):
    if not callable(cindex):
        raise TypeError(
            "cindex must be the metric function, e.g. medinterp.metrics.cindex (called as "
            f"cindex(y_true, scores)), got {brief(repr(cindex))}"
        )
    try:
        value = cindex(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]))
        value = float(value)
    except Exception as error:
        raise ValueError(
            "cindex must be a metric(y_true, scores) -> float, e.g. medinterp.metrics.cindex; "
            f"cindex([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) raised {type(error).__name__}: "
            f"{brief(error)}"
        ) from None
    if not np.isfinite(value):
        raise ValueError(f"cindex must return a finite number, returned {value}")


def _diagnose_importances(got, expected, per_feature_scores, baseline):
    """Name the recipe the student's numbers follow, or ''."""
    mean_scores = np.array([np.mean(s) for s in per_feature_scores])
    mean_abs_drops = np.array(
        [np.mean(np.abs(baseline - np.asarray(s))) for s in per_feature_scores]
    )
    signed = (
        "importance is signed: baseline - mean permuted score; a feature whose shuffling helps "
    )
    # When every drop of a feature has the same sign, abs(mean) and mean(abs) coincide.
    took_abs = np.allclose(got, np.abs(expected), atol=1e-6)
    abs_each = np.allclose(got, mean_abs_drops, atol=1e-6)
    if took_abs and abs_each:
        return signed + "gets a negative one. Use no abs(), and not the mean of the absolute drops"
    if took_abs:
        return signed + "gets a negative one, so compute it without abs()"
    if abs_each:
        return "take the mean of the permuted scores, then subtract it from the baseline (not the mean of the absolute drops)"
    recipes = {
        "subtract the other way round: baseline - mean permuted score": -expected,
        "subtract the mean permuted score from the baseline; don't divide by the baseline": (
            baseline - mean_scores
        )
        / baseline,
        "that is the ratio to the baseline: importance is the difference, baseline - mean": (
            mean_scores / baseline
        ),
        "subtract the mean permuted score from the baseline (you returned the mean score)": (
            mean_scores
        ),
    }
    for advice, values in recipes.items():
        if np.allclose(got, values, atol=1e-6):
            return advice
    for shift in range(1, len(expected)):
        if np.allclose(got, np.roll(expected, shift), atol=1e-6):
            return (
                "each importance is stored under another feature's column: keep them in X's order"
            )
    return ""


def permutation_importance_test(fn, cindex) -> bool:
    """Grade Exercise 5.2, ``permutation_importance(X, y, model, metric, num_samples=100)``.

    Parameters
    ----------
    fn : callable
        The student's function.
    cindex : callable
        The metric to grade with, ``cindex(y_true, scores) -> float``.

    Returns
    -------
    bool
        True when every check passed. Never raises for the student's function.

    Raises
    ------
    TypeError, ValueError
        ``cindex`` is not a working metric (the grader's own argument).
    """
    _validate_metric(cindex)

    def body(exercise: Exercise) -> None:
        model, X, y = _importance_problem()
        X_values = X.to_numpy(dtype=float)
        runs, unchanged, stacked = [], True, False
        for num_samples in _SAMPLE_COUNTS:
            model_calls, metric_calls = [], []

            def metric(y_true, scores, _calls=metric_calls):
                scores = np.array(scores, dtype=float).ravel()
                value = float(cindex(y_true, scores))
                _calls.append((scores, value))
                return value

            with (
                numpy_random_state(_SEED + num_samples),
                replaced_global(exercise.fn, "permute_feature", reference_permute_feature),
            ):
                X_given, y_given = X.copy(), y.copy()
                result = exercise.call(
                    X_given, y_given, _SpyModel(model, model_calls), metric, num_samples=num_samples
                )
            unchanged &= X_given.equals(X) and y_given.equals(y)
            stacked |= any(len(X_used) > len(X) for _, X_used, _ in model_calls)
            runs.append((num_samples, result, _scored(metric_calls, model_calls, X_values)))
            if not isinstance(result, pd.DataFrame):
                break

        num_samples, result, scored = runs[-1]
        if not exercise.check("returns a DataFrame", isinstance(result, pd.DataFrame),
                              "DataFrame", type(result).__name__,
                              "return the one-row DataFrame: index ['importance'], columns X.columns"):  # fmt: skip
            return
        exercise.check("leaves X and y unchanged", unchanged, None, None,
                       "permute a copy (permute_feature returns one); never change X")  # fmt: skip
        shape_ok = list(result.index) == ["importance"] and list(result.columns) == list(X.columns)
        exercise.check("index ['importance'] and X's columns, in order", shape_ok,
                       f"['importance'] x {list(X.columns)}",
                       f"{brief(list(result.index), max_length=40)} x {brief(list(result.columns), max_length=60)}",
                       "pd.DataFrame(index=['importance'], columns=X.columns), one value per column")  # fmt: skip
        kinds = {kind for _, _, rows in runs for kind, *_ in rows}
        advice = {
            "hard labels": "score the probabilities, model.predict_proba(X)[:, 1], not the hard "
            "labels of model.predict: a c-index ranks scores",
            "negative": "take column 1 of predict_proba (the positive class), not column 0",
            "unknown": "give the metric the model's scores: metric(y, model.predict_proba(X)[:, 1])",
        }
        if stacked:
            advice["unknown"] = (
                "a stacked predict_proba call is read as blocks of len(X) rows, one permuted copy "
                "each, in order: score each block, e.g. scores.reshape(num_samples, len(X))"
            )
        wrong_kind = next((k for k in ("hard labels", "negative", "unknown") if k in kinds), None)
        exercise.check("scores predict_proba(X)[:, 1]", wrong_kind is None and bool(kinds),
                       "metric(y, model.predict_proba(...)[:, 1])",
                       f"scores from {wrong_kind}" if wrong_kind else "no metric call",
                       advice.get(wrong_kind, "call the metric once per permuted copy"))  # fmt: skip
        if wrong_kind is not None or not shape_ok:
            return
        n_features = X.shape[1]
        counts_ok, counts_seen, multi = True, [], False
        for samples, _, rows in runs:
            permuted_sets = [p for _, p, _, _ in rows]
            per_feature = [permuted_sets.count(frozenset([j])) for j in range(n_features)]
            baselines = permuted_sets.count(frozenset())
            multi |= any(p is not None and len(p) > 1 for p in permuted_sets)
            counts_seen.append(f"num_samples={samples}: {per_feature}")
            counts_ok &= per_feature == [samples] * n_features and baselines >= 1
        only_unpermuted = all(
            not any(p for _, p, _, _ in rows) and len(rows) > 1 for _, _, rows in runs
        )
        count_hint = (
            "permute one column at a time (only the feature being scored)" if multi
            else "every score was of X itself: score the permuted copy, "
            "metric(y, model.predict_proba(permuted_X)[:, 1])" if only_unpermuted
            else "loop over range(num_samples) for every feature, and score the "
            "unpermuted X once for the baseline"
        )  # fmt: skip
        exercise.check("num_samples permuted scores per feature (tried 3 and 5), and a baseline",
                       counts_ok, f"{list(_SAMPLE_COUNTS)} per feature",
                       "; ".join(counts_seen), count_hint)  # fmt: skip
        if not counts_ok:
            return
        distinct_ok = all(
            len({digest for _, p, _, digest in rows if p == frozenset([j])}) == samples
            for samples, _, rows in runs
            for j in range(n_features)
        )
        per_feature_scores = [
            [v for _, p, v, _ in scored if p == frozenset([j])] for j in range(n_features)
        ]
        baseline = float(np.mean([v for _, p, v, _ in scored if p == frozenset()]))
        exercise.check("a new permutation for every sample", distinct_ok,
                       f"{num_samples} different permuted copies", "the same copy every time",
                       "call permute_feature inside the sample loop, not once before it")  # fmt: skip
        expected = np.array([baseline - np.mean(s) for s in per_feature_scores])
        try:
            got = result.iloc[0].to_numpy(dtype=float)
        except (TypeError, ValueError):
            got = None
        matches = got is not None and np.allclose(got, expected, atol=1e-6)
        exercise.check("importance = baseline - mean permuted score (signed)", matches,
                       dict(zip(X.columns, expected.tolist(), strict=True)),
                       dict(zip(X.columns, got.tolist(), strict=True)) if got is not None else None,
                       _diagnose_importances(got, expected, per_feature_scores, baseline)
                       if got is not None else "the importances must be numbers (floats)")  # fmt: skip

    return run_exercise("permutation_importance", fn, body)
