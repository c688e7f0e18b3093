import matplotlib
import numpy as np
import pytest
import shap

from medinterp import shapley

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def explained(nhanes_split, nhanes_model):
    X_test = nhanes_split[1].iloc[:200]
    return X_test, shapley.tree_shap_values(nhanes_model, X_test)


def test_values_are_class_one_and_additive(nhanes_model, explained):
    X, values = explained
    assert values.shape == X.shape
    base = shapley.expected_value(nhanes_model)
    np.testing.assert_allclose(
        values.sum(axis=1) + base, nhanes_model.predict_proba(X)[:, 1], atol=1e-6
    )
    # Class 0 is the mirror image for a binary forest.
    class_zero = shapley.tree_shap_values(nhanes_model, X, class_index=0)
    np.testing.assert_allclose(class_zero, -values, atol=1e-9)
    assert shapley.expected_value(nhanes_model, 0) == pytest.approx(1 - base)


def test_explainer_is_accepted_in_place_of_model(nhanes_model, explained):
    X, values = explained
    explainer = shap.TreeExplainer(nhanes_model)
    np.testing.assert_allclose(shapley.tree_shap_values(explainer, X), values)
    assert shapley.expected_value(explainer) == shapley.expected_value(nhanes_model)


def test_the_indexing_trap_is_avoided(nhanes_model, explained):
    """raw[1] on shap >= 0.45 output is individual 1, not class 1."""
    X, values = explained
    raw = shap.TreeExplainer(nhanes_model).shap_values(X)
    assert np.shape(raw) == (len(X), X.shape[1], 2)
    assert np.shape(raw[1]) == (X.shape[1], 2)  # the trap: a (features, classes) slice
    assert not np.allclose(values[1], raw[1][:, 1]) or np.allclose(values[1], raw[1, :, 1])


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


def test_plots_return_figures(explained):
    X, values = explained
    base = 0.16
    force = shapley.plot_force(values, base, X, row=0)
    assert isinstance(force, matplotlib.figure.Figure)
    summary = shapley.plot_summary(values, X)
    assert len(summary.axes) >= 1
    labels = [t.get_text() for t in summary.axes[0].get_yticklabels()]
    assert "Age" in labels
    dependence = shapley.plot_dependence("Age", values, X, interaction="Sex")
    axis = dependence.axes[0]
    assert axis.get_xlabel() == "Age"
    assert any("Sex" in a.get_ylabel() for a in dependence.axes[1:])  # the colorbar


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v, X: shapley.plot_dependence("Height", v, X), "Valid features"),
        (lambda v, X: shapley.plot_dependence("Age", v, X, interaction="Weight"), "interaction"),
        (lambda v, X: shapley.plot_force(v, 0.1, X, row=len(X)), "row must be"),
    ],
)
def test_plot_bad_input(explained, call, message):
    X, values = explained
    with pytest.raises((ValueError, IndexError), match=message):
        call(values, X)
