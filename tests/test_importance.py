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
    with pytest.raises(KeyError, match=r"\['a', 'b', 'c'\]"):
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
