"""Importance for groups of features and for dependence: grouped permutation importance,
drop-column importance and the correlated groups.

Wrong implementations these tests reject: permuting a group's columns with separate
permutations (rows no longer move as one); refitting on the wrong columns or scoring on the
training set; clustering on signed correlation (a perfectly anti-correlated copy left
alone); a threshold that splits an exact copy from its original.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from medinterp.importance import (
    correlated_groups,
    drop_column_importance,
    grouped_permutation_importance,
    permutation_importance,
    spearman_clustering,
)
from medinterp.metrics import cindex


@pytest.fixture(scope="module")
def copied():
    """'age' decides the outcome; 'age copy' is an exact copy, 'noise' and 'noise 2' noise."""
    rng = np.random.default_rng(7)

    def table(n):
        age = rng.normal(size=n)
        X = pd.DataFrame({"age": age, "age copy": age, "noise": rng.normal(size=n),
                          "noise 2": rng.normal(size=n)})  # fmt: skip
        y = (age + 0.5 * rng.normal(size=n) > 0).astype(int)
        return X, y

    X_train, y_train = table(1500)
    X_test, y_test = table(600)
    forest = RandomForestClassifier(n_estimators=60, max_depth=6, max_features=0.5,
                                    random_state=0).fit(X_train, y_train)  # fmt: skip
    return X_train, y_train, X_test, y_test, forest


def test_a_copy_splits_importance_and_the_group_gets_it_back(copied):
    _, _, X, y, forest = copied
    single = permutation_importance(X, y, forest, cindex, num_samples=10, random_state=0)
    grouped = grouped_permutation_importance(
        X, y, forest, cindex, {"age": ["age", "age copy"], "noise": ["noise", "noise 2"]},
        num_samples=10, random_state=0,
    )  # fmt: skip
    assert list(grouped.columns) == ["age", "noise"] and list(grouped.index) == ["importance"]
    both = grouped.loc["importance", "age"]
    assert both > 0.3  # a coin flip from a good ranking
    for column in ("age", "age copy"):
        assert single.loc["importance", column] < 0.7 * both
    assert abs(grouped.loc["importance", "noise"]) < 0.01  # a group of pure noise


def test_groups_of_one_equal_single_feature_importance(copied):
    _, _, X, y, forest = copied
    single = permutation_importance(X, y, forest, cindex, num_samples=4, random_state=3)
    groups = {column: [column] for column in X.columns}
    grouped = grouped_permutation_importance(X, y, forest, cindex, groups, 4, random_state=3)
    pd.testing.assert_frame_equal(single, grouped, check_exact=True)


def test_group_rows_move_as_one():
    """Every permuted copy holds the rows' own (a, b) pairs, only given to other people;
    separate permutations of a and b would make pairs that exist nowhere."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "c": np.arange(200.0)})
    y = (X["a"] > 0).astype(int)
    seen = []

    class Recorder:
        model = LogisticRegression().fit(X, y)

        def predict_proba(self, data):
            seen.append(np.asarray(data, dtype=float))
            return self.model.predict_proba(data)

    grouped_permutation_importance(X, y, Recorder(), cindex, {"ab": ["a", "b"]}, 3, 0)
    pairs = sorted(map(tuple, X[["a", "b"]].to_numpy()))
    copies = np.concatenate(seen[1:]).reshape(-1, len(X), 3)
    assert len(copies) == 3
    for copy in copies:
        assert sorted(map(tuple, copy[:, :2])) == pairs
        np.testing.assert_array_equal(copy[:, 2], X["c"])  # outside the group: untouched
        assert not np.array_equal(copy[:, 0], X["a"])


def test_grouped_input_is_not_changed(copied):
    _, _, X, y, forest = copied
    before, groups = X.copy(), {"age": ["age", "age copy"]}
    grouped_permutation_importance(X, y, forest, cindex, groups, 2, random_state=0)
    pd.testing.assert_frame_equal(X, before)
    assert groups == {"age": ["age", "age copy"]}


@pytest.mark.parametrize(
    ("groups", "error", "message"),
    [
        (["age"], TypeError, "must be a dict"),
        ({}, ValueError, "at least one group"),
        ({"a": "age"}, TypeError, r"write \['age'\]"),
        ({"a": []}, ValueError, "is empty"),
        ({"a": ["age", "height"]}, ValueError, r"unknown columns \['height'\]"),
        ({"a": ["age", "age"]}, ValueError, "repeats"),
        ({1: ["age"]}, TypeError, "name must be a string"),
        ({"a": 3}, TypeError, "list of X's columns"),
    ],
)
def test_bad_groups_name_the_problem(copied, groups, error, message):
    _, _, X, y, forest = copied
    with pytest.raises(error, match=message):
        grouped_permutation_importance(X, y, forest, cindex, groups, 2)
    with pytest.raises(error, match=message):
        drop_column_importance(X, y, X, y, LogisticRegression(), cindex, groups=groups)


def test_drop_column_a_copy_loses_nothing_the_pair_everything(copied):
    X_train, y_train, X_test, y_test = copied[:4]
    single = drop_column_importance(X_train, y_train, X_test, y_test, LogisticRegression(), cindex)
    assert list(single.columns) == list(X_train.columns)
    # Dropping one copy: the refitted model uses the other.
    assert abs(single.loc["importance", "age"]) < 0.005
    assert abs(single.loc["importance", "noise"]) < 0.01  # never needed
    grouped = drop_column_importance(
        X_train, y_train, X_test, y_test, LogisticRegression(), cindex,
        groups={"age": ["age", "age copy"]},
    )  # fmt: skip
    assert grouped.loc["importance", "age"] > 0.3


def test_drop_column_does_not_fit_the_estimator_passed(copied):
    X_train, y_train, X_test, y_test = copied[:4]
    estimator = LogisticRegression()
    drop_column_importance(X_train, y_train, X_test, y_test, estimator, cindex,
                           groups={"n": ["noise"]})  # fmt: skip
    assert not hasattr(estimator, "coef_")


def test_drop_column_bad_arguments(copied):
    X_train, y_train, X_test, y_test = copied[:4]
    with pytest.raises(ValueError, match="same columns"):
        drop_column_importance(X_train, y_train, X_test[["age"]], y_test, LogisticRegression(),
                               cindex)  # fmt: skip
    with pytest.raises(TypeError, match="fit and predict_proba"):
        drop_column_importance(X_train, y_train, X_test, y_test, object(), cindex)
    with pytest.raises(ValueError, match="nothing is left"):
        drop_column_importance(X_train, y_train, X_test, y_test, LogisticRegression(), cindex,
                               groups={"all": list(X_train.columns)})  # fmt: skip
    with pytest.raises(ValueError, match="different lengths"):
        drop_column_importance(X_train, y_train[:5], X_test, y_test, LogisticRegression(), cindex)


def test_correlated_groups_find_copies_and_leave_noise_alone():
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    X = pd.DataFrame({"x": x, "x squared, monotone": np.exp(x), "minus x": -x,
                      "noise": rng.normal(size=300), "z": rng.normal(size=300)})  # fmt: skip
    groups = correlated_groups(X, 0.9)
    assert groups == {
        "x + x squared, monotone + minus x": ["x", "x squared, monotone", "minus x"],
        "noise": ["noise"],
        "z": ["z"],
    }
    # Every feature exactly once, whatever the threshold.
    for threshold in (0.05, 0.5, 1.0):
        found = correlated_groups(X, threshold)
        assert sorted(sum(found.values(), [])) == sorted(X.columns)


def test_spearman_clustering_returns_rho_and_a_linkage():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) ** 3, "c": rng.normal(size=50)})
    clustering = spearman_clustering(X)
    assert clustering.correlation.loc["a", "b"] == pytest.approx(1.0)
    assert clustering.linkage.shape == (2, 4) and clustering.feature_names == ["a", "b", "c"]
    assert clustering.linkage[0, 2] == pytest.approx(0.0)  # a and b merge first, at 1 - 1


@pytest.mark.parametrize(
    ("X", "threshold", "error", "message"),
    [
        (pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, 1.0]}), 0.5, ValueError, "NaN"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 1.0]}), 0.5, ValueError, "constant"),
        (pd.DataFrame({"a": [1.0, 2.0]}), 0.5, ValueError, "two columns"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]}), 0, ValueError, r"\(0, 1\]"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]}), "0.5", TypeError, "number"),
        (np.ones((3, 2)), 0.5, TypeError, "DataFrame"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), 0.5, TypeError, "numbers"),
    ],
)
def test_correlated_groups_bad_input(X, threshold, error, message):
    with pytest.raises(error, match=message):
        correlated_groups(X, threshold)
