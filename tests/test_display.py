"""The display layer: what each figure draws, its shapes and colour ranges, and bad input.

Each test also names the wrong drawing it must reject (an overlay that ignores its opacity,
an outline that fills the mask, a bar chart that hides the sign, ...).
"""

import matplotlib
import matplotlib.figure
import numpy as np
import pytest
from sklearn.utils import Bunch

from medinterp.display.gradcam import mask_contour, overlay, show_gradcam
from medinterp.display.importance import plot_feature_clustering, plot_importance
from medinterp.display.shapley import plot_dependence, plot_force, plot_summary, plot_waterfall

matplotlib.use("Agg")


@pytest.fixture
def image_and_cam():
    image = np.tile(np.linspace(-2.0, 2.0, 32, dtype=np.float32), (32, 1))  # normalised input
    cam = np.zeros((8, 8), np.float32)
    cam[2, 5] = 1.0
    return image, cam


def test_overlay_blends_by_opacity(image_and_cam):
    image, cam = image_and_cam
    plain = overlay(image, cam, alpha=0.0)
    heat = overlay(image, cam, alpha=1.0)
    half = overlay(image, cam, alpha=0.5)
    assert plain.shape == heat.shape == (32, 32, 3) and plain.dtype == np.uint8
    # alpha 0 is the image alone, rescaled to 0..255 grey (any input range works).
    assert plain.min() == 0 and plain.max() == 255
    assert (plain[..., 0] == plain[..., 1]).all() and (plain[..., 1] == plain[..., 2]).all()
    # alpha 1 is the colormap alone: no trace of the image's left-to-right ramp where cam=0.
    assert len(np.unique(heat[30].reshape(-1, 3), axis=0)) == 1
    # In between, every pixel lies between the two (an overlay ignoring alpha fails here).
    low, high = np.minimum(plain, heat).astype(int), np.maximum(plain, heat).astype(int)
    assert ((half >= low - 1) & (half <= high + 1)).all()
    assert not np.array_equal(half, plain) and not np.array_equal(half, heat)


def test_overlay_puts_the_heat_where_the_cam_is(image_and_cam):
    image, cam = image_and_cam
    rgb = overlay(np.zeros((32, 32)), cam, alpha=1.0, cmap="gray").astype(int)
    # The 8x8 cam is resized to the image: its peak at cell (2, 5) lands near (10, 22).
    y, x = np.unravel_index(np.argmax(rgb[..., 0]), rgb.shape[:2])
    assert abs(y - 10) <= 2 and abs(x - 22) <= 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda i, c: overlay(i, c, alpha=1.5), r"alpha must be in \[0, 1\]"),
        (lambda i, c: overlay(i, c[None]), "cam must be 2-D"),
        (lambda i, c: overlay(i[None, None], c), "image must be"),
        (lambda i, c: overlay(i, c, cmap="not-a-map"), "Unknown colormap"),
    ],
)
def test_overlay_bad_input(image_and_cam, call, message):
    image, cam = image_and_cam
    with pytest.raises(ValueError, match=message):
        call(image, cam)


def test_mask_contour_draws_the_outline_only():
    rgb = np.zeros((20, 20, 3), np.uint8)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    outlined = mask_contour(rgb, mask)
    green = (outlined == (0, 255, 0)).all(axis=-1)
    assert green[5, 5:15].all() and green[14, 5:15].all() and green[5:15, 5].all()
    assert not green[8:12, 8:12].any()  # a filled mask is not an outline
    assert not green[~mask].any()  # the outline sits on the mask's own border pixels
    assert (rgb == 0).all()  # the caller's image is untouched


def test_show_gradcam_draws_one_panel_per_label(capsys):
    image = np.random.default_rng(0).normal(size=(32, 32))
    cams = np.random.default_rng(1).random((2, 32, 32))
    masks = np.zeros((2, 32, 32), bool)
    masks[0, 4:10, 4:10] = True
    figure = show_gradcam(image, cams, [0.9, 0.01], ["Mass", "Edema"], [1, 0], masks)
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["Original", "Mass: p=0.900\n(present)", "Edema: p=0.010\n(absent)"]
    printed = capsys.readouterr().out
    assert "Ground truth: Mass" in printed and "Edema: p = 0.010" in printed
    with pytest.raises(ValueError, match="same length"):
        show_gradcam(image, cams, [0.9], ["Mass", "Edema"])
    with pytest.raises(ValueError, match="alpha"):
        show_gradcam(image, cams, [0.9, 0.01], ["Mass", "Edema"], alpha=1.5)


def test_show_gradcam_overlay_is_visible_whatever_the_probability():
    """A map for p=0.001 is drawn as strongly as one for p=0.9 (the course's min(0.5, p)
    opacity left it invisible); the probability is in the title instead."""
    image = np.zeros((32, 32))
    cam = np.zeros((32, 32))
    cam[8:16, 8:16] = 1.0
    figure = show_gradcam(image, np.stack([cam, cam]), [0.9, 0.001], ["Mass", "Edema"])
    likely, unlikely = (axis.get_images()[0].get_array() for axis in figure.axes[1:])
    np.testing.assert_array_equal(likely, unlikely)
    expected = overlay(image, cam, alpha=0.5)
    np.testing.assert_array_equal(unlikely, expected)
    assert np.abs(unlikely.astype(int) - overlay(image, cam, alpha=0.0)).max() > 60
    faint = show_gradcam(image, cam[None], [0.001], ["Edema"], alpha=0.1)
    assert not np.array_equal(faint.axes[1].get_images()[0].get_array(), expected)


def test_shap_plots_draw_the_values(nhanes_shap):
    X, values = nhanes_shap
    force = plot_force(values, 0.16, X, row=0)
    assert isinstance(force, matplotlib.figure.Figure)
    waterfall = plot_waterfall(values, 0.16, X, row=0, max_display=5)
    # shap draws the tick labels twice (a twin axis); what matters is which lines exist.
    ticks = sorted({t.get_text() for t in waterfall.axes[0].get_yticklabels()})
    # The four largest |SHAP| features, each with the person's value, and "other features".
    top = X.columns[np.argsort(-np.abs(values[0]))[:4]]
    assert f"{X.shape[1] - 4} other features" in ticks
    assert sorted(t.split(" = ")[1] for t in ticks if " = " in t) == sorted(top)
    summary = plot_summary(values, X, max_display=5)
    labels = [t.get_text() for t in summary.axes[0].get_yticklabels()]
    # The five features with the largest mean |SHAP|, most important on top.
    top = X.columns[np.argsort(-np.abs(values).mean(axis=0))[:5]]
    assert labels[::-1] == list(top)
    dependence = plot_dependence("Age", values, X, interaction="Sex")
    axis = dependence.axes[0]
    assert axis.get_xlabel() == "Age"
    points = axis.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(values[:, X.columns.get_loc("Age")]))
    assert any("Sex" in a.get_ylabel() for a in dependence.axes[1:])  # the colorbar


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda v, X: plot_dependence("Height", v, X), ValueError, "Valid features"),
        (
            lambda v, X: plot_dependence("Age", v, X, interaction="Weight"),
            ValueError,
            "interaction",
        ),
        (lambda v, X: plot_force(v, 0.1, X, row=len(X)), ValueError, "row must be"),
        (lambda v, X: plot_force(v, 0.1, X, row=1.0), TypeError, "row must be"),
        (lambda v, X: plot_waterfall(v, 0.1, X, row=-1), ValueError, "row must be"),
        (lambda v, X: plot_waterfall(v, 0.1, X, row=0, max_display=1), ValueError, "max_disp"),
        (lambda v, X: plot_summary(np.stack([v, -v], -1), X), ValueError, r"values\[:, :, 1\]"),
        (lambda v, X: plot_summary(v, X.to_numpy()), TypeError, "DataFrame"),
    ],
)
def test_shap_plot_bad_input(nhanes_shap, call, error, message):
    X, values = nhanes_shap
    with pytest.raises(error, match=message):
        call(values, X)


def test_importance_chart_keeps_the_sign_and_the_order():
    result = Bunch(
        importances_mean=np.array([0.2, -0.01, 0.05]),
        importances_std=np.array([0.02, 0.005, 0.01]),
        feature_names=["Age", "Noise", "Sex"],
    )
    figure = plot_importance(result, "c-index")
    axis = figure.axes[0]
    names = [t.get_text() for t in axis.get_yticklabels()]
    widths = [bar.get_width() for bar in axis.patches]
    assert names == ["Noise", "Sex", "Age"]  # barh draws bottom-up: most important on top
    assert widths == pytest.approx([-0.01, 0.05, 0.2])  # a chart of |importance| fails here
    assert "c-index" in axis.get_xlabel()
    with pytest.raises(ValueError, match="importances_std"):
        plot_importance(Bunch(importances_mean=[0.1], feature_names=["Age"]))
    with pytest.raises(ValueError, match="differ in length"):
        plot_importance(Bunch(importances_mean=[0.1], importances_std=[0.1], feature_names=[]))


def test_show_gradcam_names_a_ground_truth_that_does_not_fit(image_and_cam, capsys):
    import pandas as pd

    image, cam = image_and_cam
    cams = np.stack([cam, cam, cam])
    labels, probabilities = ["Mass", "Edema", "Effusion"], [0.9, 0.01, 0.2]
    with pytest.raises(ValueError, match=r"one 0/1 per label: 3 labels.*got 2 values"):
        show_gradcam(image, cams, probabilities, labels, ground_truth=[1, 0])
    one_row_series = [pd.Series([1], index=[7]), pd.Series([0], index=[7]), pd.Series([0])]
    with pytest.raises(ValueError, match=r"got a Series of shape \(1,\) for Mass.*\.iloc\[0\]"):
        show_gradcam(image, cams, probabilities, labels, ground_truth=one_row_series)
    with pytest.raises(ValueError, match="got 2 for Edema"):
        show_gradcam(image, cams, probabilities, labels, ground_truth=[1, 2, 0])
    with pytest.raises(TypeError, match="ground_truth must be a sequence"):
        show_gradcam(image, cams, probabilities, labels, ground_truth=1)
    assert capsys.readouterr().out == ""  # nothing printed before the error
    # Every form of a correct answer is drawn.
    for truth in ([1, 0, 0], (True, False, False), np.array([1, 0, 0]), pd.Series([1.0, 0, 0])):
        figure = show_gradcam(image, cams, probabilities, labels, ground_truth=truth)
        assert "(present)" in figure.axes[1].get_title()
        matplotlib.pyplot.close(figure)
    assert "Ground truth: Mass" in capsys.readouterr().out


def test_feature_clustering_draws_the_tree_and_the_blocks():
    import pandas as pd

    from medinterp.importance import spearman_clustering

    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=100), "copy of x": x})
    figure = plot_feature_clustering(spearman_clustering(X), threshold=0.9)
    tree, heat = figure.axes[:2]
    labels = [t.get_text() for t in heat.get_yticklabels()]
    assert sorted(labels) == ["copy of x", "noise", "x"]
    # The two copies sit side by side: a block of rho = 1 off the diagonal.
    rows = [labels.index("x"), labels.index("copy of x")]
    assert abs(rows[0] - rows[1]) == 1
    assert heat.images[0].get_array()[rows[0], rows[1]] == pytest.approx(1.0)
    assert any(line.get_linestyle() == "--" for line in tree.get_lines())  # the cut
    with pytest.raises(ValueError, match="spearman_clustering"):
        plot_feature_clustering(Bunch(correlation=None))
