"""The forest fast path of permutation importance gives scikit-learn's probabilities exactly.

Wrong implementations these tests reject:
- averaging the trees with ``np.mean`` or in another order (last bits differ, ties split);
- comparing float64 values with the thresholds instead of scikit-learn's float32 values;
- forgetting missing-value routing, or a permuted row's deeper splits on the same feature;
- reusing a stale leaf for a pair that did not move in the previous copy;
- taking the fast path for a model it does not reproduce (gradient boosting, a subclass).
"""

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from medinterp.forest_importance import ForestPermutationPredictor, forest_predictor
from medinterp.importance import permutation_importance, permutation_importance_details
from medinterp.metrics import cindex


class OpaqueModel:
    """The same model seen only through predict_proba: importance takes the stacked path."""

    def __init__(self, model):
        self.model = model
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        return self.model.predict_proba(X)


def synthetic_frame(n_rows, random_state):
    """Informative, tied, binary and noise columns, and one the forest can never split on."""
    rng = np.random.default_rng(random_state)
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n_rows),
            "tied": rng.integers(0, 5, size=n_rows).astype(float),
            "binary": rng.integers(0, 2, size=n_rows).astype(float),
            "noise": rng.normal(size=n_rows),
            "constant": np.full(n_rows, 3.0),
        }
    )
    logit = 2 * X["signal"] + 0.8 * X["tied"] - 1.5 * X["binary"]
    y = (logit + rng.normal(size=n_rows) > 1.0).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def synthetic():
    X_train, y_train = synthetic_frame(600, random_state=0)
    X_test, y_test = synthetic_frame(300, random_state=1)
    # The constant column never splits in training; in the test set it varies, so a
    # permutation can move it, but no tree ever reads it.
    X_test["constant"] = np.random.default_rng(2).normal(size=len(X_test))
    forest = RandomForestClassifier(
        n_estimators=40, max_depth=6, min_samples_leaf=3, max_features=0.6, random_state=0
    ).fit(X_train, y_train)
    return X_test, y_test, forest


def permuted_copy(values, feature_index, order):
    copy = values.copy()
    copy[:, feature_index] = values[order, feature_index]
    return copy


def assert_permuted_exact(model, X, n_permutations=3, random_state=0):
    """Every permuted copy's probabilities are predict_proba's, bit for bit."""
    values = X.to_numpy(dtype=float)
    predictor = ForestPermutationPredictor(model, values)
    rng = np.random.default_rng(random_state)
    for j in range(X.shape[1]):
        orders = [rng.permutation(len(X)) for _ in range(n_permutations)]
        got = predictor.permuted_probabilities(j, orders)
        assert got.shape == (n_permutations, len(X))
        for k, order in enumerate(orders):
            frame = pd.DataFrame(permuted_copy(values, j, order), columns=X.columns)
            expected = model.predict_proba(frame)[:, 1]
            np.testing.assert_array_equal(got[k], expected, err_msg=f"{X.columns[j]}, copy {k}")
    return predictor


def test_only_supported_forests_get_the_fast_path(synthetic):
    X, y, forest = synthetic
    values = X.to_numpy(dtype=float)
    assert isinstance(forest_predictor(forest, values), ForestPermutationPredictor)
    extra = ExtraTreesClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert isinstance(forest_predictor(extra, values), ForestPermutationPredictor)

    class TweakedForest(RandomForestClassifier):
        def predict_proba(self, X):
            return 1 - super().predict_proba(X)

    others = [
        LogisticRegression().fit(X, y),
        GradientBoostingClassifier(n_estimators=5).fit(X, y),
        make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, y),
        TweakedForest(n_estimators=5, random_state=0).fit(X, y),
        RandomForestClassifier(n_estimators=5),  # not fitted
        RandomForestClassifier(n_estimators=5).fit(X, np.zeros(len(X))),  # one class only
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, np.c_[y, 1 - y]),
    ]
    for model in others:
        assert forest_predictor(model, values) is None, type(model).__name__


def test_leaves_and_baseline_equal_scikit_learn(synthetic):
    X, _, forest = synthetic
    predictor = ForestPermutationPredictor(forest, X.to_numpy(dtype=float))
    np.testing.assert_array_equal(predictor.leaves, forest.apply(X))
    expected = forest.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(predictor.baseline_probabilities, expected)
    # The wrong sum this rules out: np.mean adds pairwise, and the last bits move.
    leaf_values = np.stack(
        [tree.tree_.value[leaves, 0, 1] for tree, leaves in zip(forest.estimators_,
                                                                 forest.apply(X).T, strict=True)],
        axis=1,
    )  # fmt: skip
    assert not np.array_equal(leaf_values.mean(axis=1), expected)


def test_permuted_probabilities_are_predict_probas(synthetic):
    X, _, forest = synthetic
    assert_permuted_exact(forest, X)


def test_unused_feature_skips_every_tree(synthetic):
    X, _, forest = synthetic
    predictor = ForestPermutationPredictor(forest, X.to_numpy(dtype=float))
    constant = list(X.columns).index("constant")
    assert predictor.n_trees_using(constant) == 0
    assert predictor.n_trees_using(list(X.columns).index("signal")) == forest.n_estimators
    orders = [np.random.default_rng(0).permutation(len(X)) for _ in range(4)]
    got = predictor.permuted_probabilities(constant, orders)
    assert predictor.n_tree_evaluations == 0
    assert predictor.n_tree_evaluations_stacked == 4 * forest.n_estimators * len(X)
    np.testing.assert_array_equal(got, np.tile(predictor.baseline_probabilities, (4, 1)))
    # A feature the trees do use is evaluated again, but only where a path splits on it.
    predictor.permuted_probabilities(list(X.columns).index("binary"), orders)
    assert 0 < predictor.n_tree_evaluations < predictor.n_tree_evaluations_stacked / 2


def test_extra_trees_and_three_classes(synthetic):
    X, y, _ = synthetic
    extra = ExtraTreesClassifier(n_estimators=30, max_depth=7, random_state=1).fit(X, y)
    assert_permuted_exact(extra, X)
    three = RandomForestClassifier(n_estimators=20, random_state=0)
    three.fit(X, y + (X["tied"].to_numpy() > 2))
    assert three.n_classes_ == 3
    assert_permuted_exact(three, X)  # the probability of classes_[1]


def test_values_on_the_thresholds_compare_as_float32(synthetic):
    """scikit-learn casts X to float32 before comparing with its float64 thresholds."""
    X, _, forest = synthetic
    tree = forest.estimators_[0].tree_
    split = np.flatnonzero(tree.children_left != -1)
    feature = tree.feature[split[0]]
    thresholds = tree.threshold[split][tree.feature[split] == feature]
    nudged = X.copy()
    column = nudged.columns[feature]
    on_threshold = np.resize(thresholds, len(X))
    picks = on_threshold + 1e-12
    nudged[column] = picks
    # The data tells the two comparisons apart, so a float64 walk would fail below.
    as_float32 = picks.astype(np.float32).astype(np.float64)
    assert np.any((as_float32 <= on_threshold) != (picks <= on_threshold))
    assert_permuted_exact(forest, nudged, n_permutations=2)


def test_missing_values_follow_scikit_learn():
    X, y = synthetic_frame(500, random_state=3)
    rng = np.random.default_rng(4)
    for column in ["signal", "tied"]:
        X.loc[rng.random(len(X)) < 0.15, column] = np.nan
    forest = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0).fit(X, y)
    X_test, _ = synthetic_frame(200, random_state=5)
    X_test.loc[rng.random(len(X_test)) < 0.2, "signal"] = np.nan
    assert_permuted_exact(forest, X_test)


def test_importances_equal_the_stacked_path(synthetic):
    X, y, forest = synthetic
    opaque = OpaqueModel(forest)
    stacked = permutation_importance_details(X, y, opaque, roc_auc_score, 8, random_state=3)
    assert opaque.calls == 1 + X.shape[1]  # baseline, then one stacked call per feature
    fast = permutation_importance_details(X, y, forest, roc_auc_score, 8, random_state=3)
    np.testing.assert_allclose(fast.importances, stacked.importances, rtol=0, atol=1e-12)
    assert fast.baseline == stacked.baseline
    assert fast.feature_names == stacked.feature_names
    constant = fast.feature_names.index("constant")
    np.testing.assert_array_equal(fast.importances[constant], 0.0)
    assert np.all(fast.importances_mean[fast.feature_names.index("signal")] > 0.05)
    same = permutation_importance(X, y, forest, roc_auc_score, 8, random_state=3)
    pd.testing.assert_frame_equal(
        same, permutation_importance(X, y, opaque, roc_auc_score, 8, random_state=3)
    )


def test_the_fast_path_calls_predict_proba_once(synthetic, monkeypatch):
    X, y, forest = synthetic
    calls = []
    original = RandomForestClassifier.predict_proba

    def counting(self, data):
        calls.append(len(data))
        return original(self, data)

    monkeypatch.setattr(RandomForestClassifier, "predict_proba", counting)
    permutation_importance_details(X, y, forest, cindex, 5, random_state=0)
    assert calls == [len(X)]  # the baseline only; every permuted copy is the fast path's


def test_forest_predicting_on_threads_still_agrees(synthetic):
    """With n_jobs > 1 scikit-learn adds the trees in any order: equal to 1e-12, not in bits."""
    X, y, forest = synthetic
    threaded = copy.deepcopy(forest).set_params(n_jobs=2)
    fast = permutation_importance_details(X, y, threaded, cindex, 5, random_state=1)
    stacked = permutation_importance_details(X, y, OpaqueModel(threaded), cindex, 5, random_state=1)
    np.testing.assert_allclose(fast.importances, stacked.importances, rtol=0, atol=1e-12)


def test_nhanes_importances_equal_the_stacked_path(nhanes_split, nhanes_model):
    _, X_test, _, y_test = nhanes_split
    predictor = assert_permuted_exact(nhanes_model, X_test, n_permutations=1)
    # Most of the stacked path's tree evaluations are repeated work.
    assert predictor.n_tree_evaluations < 0.5 * predictor.n_tree_evaluations_stacked
    fast = permutation_importance_details(X_test, y_test, nhanes_model, cindex, 10, random_state=0)
    stacked = permutation_importance_details(
        X_test, y_test, OpaqueModel(nhanes_model), cindex, 10, random_state=0
    )
    np.testing.assert_allclose(fast.importances, stacked.importances, rtol=0, atol=1e-12)
    assert fast.baseline == stacked.baseline
    assert fast.feature_names == list(X_test.columns)
    # Age matters most in the course's forest; the check guards against an all-zero result.
    assert fast.feature_names[int(np.argmax(fast.importances_mean))] == "Age"


# --- groups of features permuted together ---------------------------------------------------


def permuted_group_copy(values, feature_indices, order):
    copy = values.copy()
    copy[:, feature_indices] = values[order][:, feature_indices]
    return copy


@pytest.mark.parametrize(
    "group", [["signal", "tied"], ["signal", "binary", "noise"], ["constant", "noise"]]
)
def test_group_probabilities_are_predict_probas(synthetic, group):
    X, _, forest = synthetic
    values = X.to_numpy(dtype=float)
    indices = [list(X.columns).index(c) for c in group]
    predictor = ForestPermutationPredictor(forest, values)
    rng = np.random.default_rng(5)
    orders = [rng.permutation(len(X)) for _ in range(4)]
    got = predictor.permuted_group_probabilities(indices, orders)
    for k, order in enumerate(orders):
        frame = pd.DataFrame(permuted_group_copy(values, indices, order), columns=X.columns)
        np.testing.assert_array_equal(got[k], forest.predict_proba(frame)[:, 1])
    # Only the pairs that split on the group are walked again.
    assert predictor.n_tree_evaluations <= predictor.n_tree_evaluations_stacked
    if "constant" in group:
        assert predictor.n_tree_evaluations < predictor.n_tree_evaluations_stacked


def test_group_probabilities_follow_missing_values():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    X.loc[rng.random(400) < 0.2, "a"] = np.nan
    y = ((X["a"].fillna(1) + X["b"]) > 0.3).astype(int)
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    values = X.to_numpy(dtype=float)
    predictor = ForestPermutationPredictor(forest, values)
    orders = [rng.permutation(len(X)) for _ in range(3)]
    got = predictor.permuted_group_probabilities([0, 1], orders)
    for k, order in enumerate(orders):
        frame = pd.DataFrame(permuted_group_copy(values, [0, 1], order), columns=X.columns)
        np.testing.assert_array_equal(got[k], forest.predict_proba(frame)[:, 1])


def test_a_group_of_one_is_the_one_feature_path(synthetic):
    X, _, forest = synthetic
    predictor = ForestPermutationPredictor(forest, X.to_numpy(dtype=float))
    orders = [np.random.default_rng(1).permutation(len(X))]
    np.testing.assert_array_equal(
        predictor.permuted_group_probabilities([0], orders),
        predictor.permuted_probabilities(0, orders),
    )


def test_grouped_importance_fast_path_equals_stacked(synthetic):
    from medinterp.importance import grouped_permutation_importance

    X, y, forest = synthetic
    groups = {"informative": ["signal", "tied", "binary"], "unused": ["constant"]}
    fast = grouped_permutation_importance(X, y, forest, cindex, groups, 6, random_state=2)
    model = OpaqueModel(forest)
    stacked = grouped_permutation_importance(X, y, model, cindex, groups, 6, random_state=2)
    assert model.calls > 0
    pd.testing.assert_frame_equal(fast, stacked, check_exact=True)
    # The column no tree reads costs nothing, exactly; the informative group a lot.
    assert fast.loc["importance", "unused"] == 0.0
    assert fast.loc["importance", "informative"] > 0.2
