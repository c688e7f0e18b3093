"""SHAP values: class selection across shap's return shapes, additivity, bad input."""

import numpy as np
import pytest
import shap

from medinterp import shapley


def test_values_are_class_one_and_additive(nhanes_model, nhanes_shap):
    X, values = nhanes_shap
    assert values.shape == X.shape
    base = shapley.expected_value(nhanes_model)
    np.testing.assert_allclose(
        values.sum(axis=1) + base, nhanes_model.predict_proba(X)[:, 1], atol=1e-6
    )
    # Class 0 is the mirror image for a binary forest.
    class_zero = shapley.tree_shap_values(nhanes_model, X, class_index=0)
    np.testing.assert_allclose(class_zero, -values, atol=1e-9)
    assert shapley.expected_value(nhanes_model, 0) == pytest.approx(1 - base)


def test_explainer_is_accepted_in_place_of_model(nhanes_model, nhanes_shap):
    X, values = nhanes_shap
    explainer = shap.TreeExplainer(nhanes_model)
    np.testing.assert_allclose(shapley.tree_shap_values(explainer, X), values)
    assert shapley.expected_value(explainer) == shapley.expected_value(nhanes_model)


def test_the_indexing_trap_is_avoided(nhanes_model, nhanes_shap):
    """raw[1] on shap >= 0.45 output is individual 1, not class 1."""
    X, values = nhanes_shap
    raw = shap.TreeExplainer(nhanes_model).shap_values(X)
    assert np.shape(raw) == (len(X), X.shape[1], 2)
    np.testing.assert_array_equal(values, raw[:, :, 1])
    # The trap: raw[1] is individual 1's (features, classes) slice, and a selection written
    # the old way gives it back without complaint. select_class must refuse that shape.
    trap = raw[1]
    assert trap.shape == (X.shape[1], 2) != values.shape
    with pytest.raises(ValueError, match="Expected SHAP values of shape"):
        shapley.select_class(trap, 1, len(X), X.shape[1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m, X: shapley.tree_shap_values(m, X.drop(columns="Age")), ValueError, "missing"),
        (lambda m, X: shapley.tree_shap_values(m, X[X.columns[::-1]]), ValueError, "order"),
        (lambda m, X: shapley.tree_shap_values(m, X.assign(Age=np.inf)), ValueError, "infinite"),
        (lambda m, X: shapley.tree_shap_values(m, X, chunk_size=0), ValueError, "at least 1"),
        (lambda m, X: shapley.tree_shap_values(m, X, chunk_size=2.5), TypeError, "integer"),
        (lambda m, X: shapley.tree_shap_values(m, X, class_index=2), ValueError, "0..1"),
        (lambda m, X: shapley.tree_shap_values(m, X, class_index="1"), TypeError, "integer"),
    ],
)
def test_bad_input_is_named(nhanes_model, nhanes_shap, call, error, message):
    """A missing, reordered or infinite column used to surface as shap's "Additivity check
    failed... report this on GitHub"; now it names the columns."""
    X, _ = nhanes_shap
    with pytest.raises(error, match=message):
        call(nhanes_model, X.iloc[:20])


@pytest.mark.parametrize("form", ["list", "array3d", "explanation"])
def test_select_class_handles_every_return_shape(form):
    rng = np.random.default_rng(0)
    per_class = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    raw = {
        "list": per_class,
        "array3d": np.stack(per_class, axis=-1),
        "explanation": shap.Explanation(values=np.stack(per_class, axis=-1)),
    }[form]
    np.testing.assert_array_equal(shapley.select_class(raw, 1, 4, 3), per_class[1])
    np.testing.assert_array_equal(shapley.select_class(raw, 0, 4, 3), per_class[0])
    with pytest.raises(ValueError, match="class_index must be in 0..1"):
        shapley.select_class(raw, 2, 4, 3)


def test_select_class_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(5, 3\)"):
        shapley.select_class(np.zeros((4, 3)), 1, 5, 3)
