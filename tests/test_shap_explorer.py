"""ShapExplorer and its dependence plot: the explorer reuses SHAP values a notebook already
has, refuses a bare array by name and leaves no frozen progress bar in a saved notebook; a
two-level colour (Sex) gets one tick per level."""

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from medinterp.widgets import ShapExplorer


def test_a_bare_array_is_refused_by_name(nhanes_shap, nhanes_model):
    X, _ = nhanes_shap
    with pytest.raises(TypeError, match=r"X must be a pandas DataFrame.*X_test.to_numpy\(\)"):
        ShapExplorer(nhanes_model, X.to_numpy())


def test_precomputed_values_are_used_not_recomputed(nhanes_shap, nhanes_model, monkeypatch):
    import medinterp.shapley

    X, values = nhanes_shap

    def recompute(*args, **kwargs):
        raise AssertionError("SHAP values were recomputed")

    monkeypatch.setattr(medinterp.shapley, "tree_shap_values", recompute)
    explorer = ShapExplorer(nhanes_model, X, shap_values=values, base_value=0.25)
    np.testing.assert_array_equal(explorer.shap_values, values)
    assert explorer.base_value == 0.25
    assert explorer.state["force_figure"] is not None and explorer.state["error"] is None


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda values: {"shap_values": "values"}, TypeError, "numeric array"),
        (lambda values: {"shap_values": values[:3]}, ValueError, "shap_values must have X's shape"),
        # shap >= 0.45's raw (people, features, 2), the class not selected
        (lambda values: {"shap_values": np.stack([-values, values], axis=-1)}, ValueError,
         "class 1's values"),
        (lambda values: {"base_value": [0.1, 0.2]}, TypeError, "base_value must be one number"),
    ],
    ids=["text", "rows", "3-D", "base"],
)  # fmt: skip
def test_bad_precomputed_values_are_named(nhanes_shap, nhanes_model, make, error, words):
    X, values = nhanes_shap
    with pytest.raises(error, match=words):
        ShapExplorer(nhanes_model, X, **make(values))


def test_values_without_their_model_and_X_are_refused(nhanes_shap):
    with pytest.raises(ValueError, match="needs the model and the X"):
        ShapExplorer(shap_values=nhanes_shap[1])


@pytest.mark.slow
def test_a_saved_notebook_keeps_no_progress_bar(nhanes_dir):
    """In a kernel, the bar shown while SHAP values are computed is emptied afterwards."""
    source = (
        "from medinterp.data import load_nhanes\n"
        "from medinterp.models import nhanes_forest\n"
        "from medinterp.widgets import ShapExplorer\n"
        "X_dev, X_test, y_dev, _ = load_nhanes()\n"
        "ShapExplorer(nhanes_forest(X_dev.iloc[:500], y_dev.iloc[:500]), X_test.iloc[:300])"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, timeout=300).execute()
    outputs = notebook.cells[0].outputs
    text = "".join(
        str(output.get("data", {}).get("text/plain", "")) + output.get("text", "")
        for output in outputs
    )
    assert "%|" not in text and "SHAP values" not in text, text
    assert any("VBox" in str(o.get("data", {}).get("text/plain", "")) for o in outputs)


def test_a_two_level_colour_bar_has_one_tick_per_level(nhanes_shap):
    from medinterp.display.shapley import plot_dependence

    X, values = nhanes_shap
    bar = plot_dependence("Age", values, X, interaction="Sex").axes[0].collections[0].colorbar
    assert [label.get_text() for label in bar.ax.get_yticklabels()] == ["1", "2"]
    assert 1.5 not in bar.get_ticks()
    continuous = plot_dependence("Sex", values, X, interaction="Age").axes[0].collections[0]
    assert len(continuous.colorbar.get_ticks()) > 3  # Age keeps its continuous ticks
