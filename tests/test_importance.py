import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from medinterp.importance import (
    permutation_importance,
    permutation_importance_details,
    permute_feature,
)
from medinterp.metrics import cindex


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": np.arange(50.0), "b": rng.random(50), "c": np.arange(50) % 7},
        index=np.arange(100, 150),
    )


def test_permute_feature_permutes_one_column_only(frame):
    before = frame.copy()
    permuted = permute_feature(frame, "a", rng=1)
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    assert permuted is not frame
    assert permuted.index.equals(frame.index) and list(permuted.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(permuted[["b", "c"]], frame[["b", "c"]])
    # A permutation: every value kept exactly once (no sampling with replacement) ...
    assert sorted(permuted["a"]) == sorted(frame["a"])
    # ... and actually shuffled.
    assert not permuted["a"].equals(frame["a"])


def test_permute_feature_is_seeded(frame):
    first = permute_feature(frame, "b", rng=3)
    assert first.equals(permute_feature(frame, "b", rng=3))
    assert not first.equals(permute_feature(frame, "b", rng=4))
    generator = np.random.default_rng(3)
    assert permute_feature(frame, "b", rng=generator).equals(first)


def test_permute_feature_unknown_column_lists_columns(frame):
    with pytest.raises(ValueError, match=r"\['a', 'b', 'c'\]"):
        permute_feature(frame, "d")


@pytest.fixture(scope="module")
def logistic_check():
    """The course's check: y depends only on 'important'; 'unimportant' is noise."""
    rng = np.random.default_rng(42)
    X = pd.DataFrame({"important": rng.normal(size=1000), "unimportant": rng.normal(size=1000)})
    y = (1 / (1 + np.exp(-X["important"] * 5)) > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    return X, y, model


def test_logistic_check_important_half_noise_zero(logistic_check):
    X, y, model = logistic_check
    result = permutation_importance(X, y, model, cindex, num_samples=50, random_state=0)
    assert list(result.index) == ["importance"]
    assert list(result.columns) == ["important", "unimportant"]
    # Perfect ranking falls to chance: 1.0 -> about 0.5.
    assert result.loc["importance", "important"] == pytest.approx(0.5, abs=0.03)
    assert result.loc["importance", "unimportant"] == pytest.approx(0.0, abs=0.01)


def _loop_reference(X, y, model, metric, num_samples, seed):
    """The straightforward course implementation: one permuted copy per sample."""
    rng = np.random.default_rng(seed)
    baseline = metric(y, model.predict_proba(X)[:, 1])
    samples = np.array(
        [
            [
                baseline - metric(y, model.predict_proba(permute_feature(X, f, rng))[:, 1])
                for _ in range(num_samples)
            ]
            for f in X.columns
        ]
    )
    return baseline, samples


def test_fast_path_equals_loop(logistic_check):
    X, y, model = logistic_check
    baseline, samples = _loop_reference(X, y, model, roc_auc_score, 7, seed=5)
    details = permutation_importance_details(X, y, model, roc_auc_score, 7, random_state=5)
    assert details.baseline == baseline
    np.testing.assert_allclose(details.importances, samples, rtol=0, atol=1e-12)
    np.testing.assert_allclose(details.importances_mean, samples.mean(axis=1))
    np.testing.assert_allclose(details.importances_std, samples.std(axis=1))
    assert details.feature_names == ["important", "unimportant"]


def test_chunked_path_equals_unchunked(logistic_check, monkeypatch):
    X, y, model = logistic_check
    whole = permutation_importance_details(X, y, model, cindex, 6, random_state=1)
    from medinterp import importance

    monkeypatch.setattr(importance, "_MAX_STACKED_VALUES", 2 * len(X) * 2)  # 2 samples a call
    chunked = permutation_importance_details(X, y, model, cindex, 6, random_state=1)
    np.testing.assert_array_equal(whole.importances, chunked.importances)


def test_seeded_and_does_not_mutate(logistic_check):
    X, y, model = logistic_check
    before = X.copy()
    first = permutation_importance(X, y, model, cindex, 5, random_state=2)
    pd.testing.assert_frame_equal(X, before)
    assert first.equals(permutation_importance(X, y, model, cindex, 5, random_state=2))
    assert not first.equals(permutation_importance(X, y, model, cindex, 5, random_state=3))


def test_progress_bar_shows_when_asked(logistic_check, capsys):
    X, y, model = logistic_check
    permutation_importance(X, y, model, cindex, 3, random_state=0, progress=True)
    assert "Permutation importance" in capsys.readouterr().err
    permutation_importance(X, y, model, cindex, 3, random_state=0, progress=False)
    assert capsys.readouterr().err == ""


class NoProba:
    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": NoProba()}, TypeError, "predict_proba"),
        ({"y": np.zeros(10)}, ValueError, "different lengths: 1000 and 10"),
        ({"metric": "cindex"}, TypeError, "callable"),
        ({"num_samples": 0}, ValueError, "at least 1"),
        ({"num_samples": 2.5}, TypeError, "positive integer"),
        ({"X": "not a frame"}, TypeError, "DataFrame"),
    ],
)
def test_bad_input(logistic_check, kwargs, error, message):
    X, y, model = logistic_check
    arguments = {"X": X, "y": y, "model": model, "metric": cindex, "num_samples": 2}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        permutation_importance(**arguments)


# --- validation at the door -----------------------------------------------------------


def _arguments(logistic_check, **changes):
    X, y, model = logistic_check
    arguments = {"X": X, "y": y, "model": model, "metric": cindex, "num_samples": 2}
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize(
    ("metric", "error", "message"),
    [
        (lambda y, s: np.nan, ValueError, r"metric returned nan on the unpermuted data"),
        (lambda y, s: float("inf"), ValueError, r"metric returned inf"),
        (lambda y, s: np.array([0.5, 0.5]), TypeError, "metric must return one number"),
        (lambda y, s: "0.5", TypeError, "metric must return one number"),
        (lambda y, s: None, TypeError, "metric must return one number"),
    ],
)
def test_metric_must_return_a_finite_number(logistic_check, metric, error, message):
    with pytest.raises(error, match=message):
        permutation_importance(**_arguments(logistic_check, metric=metric))


def test_metric_nan_on_a_permuted_copy_names_the_feature(logistic_check):
    X, y, _ = logistic_check
    baseline_scores = []

    def fragile(y_true, scores):
        # Fine on the baseline, NaN on any permuted copy: never all-NaN importances.
        if not baseline_scores:
            baseline_scores.append(scores)
            return 1.0
        return np.nan

    with pytest.raises(ValueError, match=r"metric returned nan on 'important' permuted"):
        permutation_importance(**_arguments(logistic_check, metric=fragile))


def test_metric_returning_numpy_scalars_and_zero_d_arrays_is_accepted(logistic_check):
    expected = permutation_importance(**_arguments(logistic_check), random_state=0)
    for wrap in (np.float64, np.array, lambda value: np.float32(value)):
        got = permutation_importance(
            **_arguments(logistic_check, metric=lambda y, s, wrap=wrap: wrap(cindex(y, s))),
            random_state=0,
        )
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: X[["important"]], r"missing \['unimportant'\], not seen in fit \[\]"),
        (lambda X: X.assign(extra=1.0), r"missing \[\], not seen in fit \['extra'\]"),
        (
            lambda X: X.rename(columns={"unimportant": "other"}),
            r"missing \['unimportant'\], not seen in fit \['other'\]",
        ),
        (
            lambda X: X[["unimportant", "important"]],
            r"another order.*\['important', 'unimportant'\]",
        ),
        (lambda X: X[["important", "important"]], r"duplicated columns: \['important'\]"),
        (lambda X: X.assign(important=np.inf), r"infinite values in columns \['important'\]"),
        (lambda X: X.iloc[:0], r"at least one row"),
    ],
)
def test_columns_are_checked_against_the_fitted_model(logistic_check, change, message):
    X, y, model = logistic_check
    changed = change(X)
    with pytest.raises(ValueError, match=message):
        permutation_importance(changed, y[: len(changed)], model, cindex, num_samples=2)


def test_non_numeric_column_is_a_type_error(logistic_check):
    X, y, _ = logistic_check
    model = LogisticRegression().fit(X, y)
    text = X.assign(unimportant=X["unimportant"].astype(str))
    with pytest.raises(TypeError, match=r"do not: \['unimportant'\]"):
        permutation_importance(text, y, model, cindex, num_samples=2)


def test_model_fitted_without_names_checks_the_count(logistic_check):
    X, y, _ = logistic_check
    model = LogisticRegression().fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="X has 3 columns but the model was fitted on 2"):
        permutation_importance(X.assign(extra=0.0), y, model, cindex, num_samples=2)


def test_accepted_inputs_in_other_styles(logistic_check):
    X, y, model = logistic_check
    expected = permutation_importance(X, y, model, cindex, 3, random_state=7)
    styles = [
        {"y": list(np.asarray(y))},
        {"y": pd.Series(np.asarray(y), index=np.arange(len(y)) + 1000)},
        {"random_state": np.int64(7)},
        {"random_state": np.random.default_rng(7)},
        {"num_samples": np.int32(3)},
        {"progress": np.bool_(False)},
    ]
    for style in styles:
        arguments = {"X": X, "y": y, "model": model, "metric": cindex, "num_samples": 3}
        arguments.update({"random_state": 7, **style})
        pd.testing.assert_frame_equal(permutation_importance(**arguments), expected)
    permutation_importance(X, y, model, cindex, 3, random_state=np.random.SeedSequence(7))
    integers = X.round().astype(int)
    permutation_importance(integers, y, LogisticRegression().fit(integers, y), cindex, 2)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"random_state": "seed"}, TypeError, "random_state must be None, an int >= 0"),
        ({"random_state": 1.5}, TypeError, "random_state must be None, an int >= 0"),
        ({"random_state": True}, TypeError, "random_state must be None, an int >= 0"),
        ({"random_state": -1}, ValueError, "random_state must be None, an int >= 0"),
        ({"num_samples": True}, TypeError, "num_samples must be a positive integer"),
        ({"num_samples": -3}, ValueError, "num_samples must be at least 1"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
        ({"y": np.zeros((1000, 2))}, ValueError, r"y must be 1-D, got shape \(1000, 2\)"),
    ],
)
def test_bad_arguments_name_themselves(logistic_check, changes, error, message):
    with pytest.raises(error, match=message):
        permutation_importance_details(**_arguments(logistic_check, **changes))


def test_permute_feature_checks_rng(frame):
    with pytest.raises(TypeError, match="rng must be None, an int >= 0"):
        permute_feature(frame, "a", rng="seed")
    with pytest.raises(ValueError, match="rng must be None"):
        permute_feature(frame, "a", rng=-2)


def test_importance_is_signed_so_noise_can_be_negative():
    """On held-out data, a feature the model leaned on only by chance scores about 0, and
    some draws land below it: the public result keeps that sign (an abs() would report every
    noise feature as slightly important)."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"signal": rng.normal(size=500), "noise": rng.normal(size=500)})
    y = (X["signal"] + rng.normal(scale=1.0, size=500) > 0).astype(int)
    model = LogisticRegression().fit(X.iloc[:100], y.iloc[:100])
    X_test, y_test = X.iloc[100:], y.iloc[100:]
    values = [
        permutation_importance(X_test, y_test, model, cindex, 3, random_state=seed).loc[
            "importance", "noise"
        ]
        for seed in range(20)
    ]
    assert min(values) < 0  # abs() could never report this
    assert max(np.abs(values)) < 0.01  # and it is noise-sized
