"""Explorers: built with defaults, driven programmatically, checked for what they show."""

import cv2
import ipywidgets as w
import numpy as np
import pytest

from medinterp import phantoms
from medinterp.widgets import ImportanceExplorer, ShapExplorer, XrayExplorer


@pytest.fixture(scope="module")
def xray():
    return XrayExplorer()


def _tile_bytes(explorer):
    return [tile.children[0].value for tile in explorer.images.children]


def _expected_preselection(explorer, index):
    """What a student should see ticked: the image's findings and the top prediction."""
    from medinterp.labels import LABELS

    probabilities = explorer.state["probabilities"]
    wanted = set(explorer.dataset.labels(index)) | {LABELS[int(np.argmax(probabilities))]}
    return [label for label in LABELS if label in wanted]


def test_xray_defaults(xray):
    assert isinstance(xray.widget, w.VBox)
    assert xray.state["image_index"] == 0
    assert "Pneumothorax" in xray.dataset.labels(0)
    # The findings of the image shown are ticked (not a fixed list of labels) ...
    assert "Pneumothorax" in xray.state["labels"]
    assert xray.state["labels"] == _expected_preselection(xray, 0)
    assert [label for label, box in xray.checkboxes.items() if box.value] == xray.state["labels"]
    assert len(xray.state["overlays"]) == len(xray.state["labels"])
    assert len(xray.images.children) == len(xray.state["labels"]) + 1  # original + one per label
    assert xray.state["layer"] == "relu" and xray.layer_picker.options[-1] == "relu"
    assert len(xray.checkboxes) == 14 and xray.opacity.continuous_update is False
    assert xray.state["probabilities"].shape == (14,)
    assert "Predicted probabilities" in xray.bars.value


def test_preselection_follows_every_image_change(xray):
    dataset = xray.dataset
    normal = next(i for i in range(len(dataset)) if not dataset.labels(i))
    crowded = max(range(len(dataset)), key=lambda i: len(dataset.labels(i)))
    for index in (crowded, normal, 0):
        xray.image_picker.value = index
        assert xray.state["labels"] == _expected_preselection(xray, index), index
    xray.image_picker.value = normal
    # A normal image shows only the model's top prediction ...
    assert len(xray.state["labels"]) == 1
    xray.image_picker.value = crowded
    # ... and an image with many findings shows every one of them.
    assert set(dataset.labels(crowded)) <= set(xray.state["labels"])
    assert len(xray.state["labels"]) >= len(dataset.labels(crowded)) >= 4
    xray.image_picker.value = 0


def test_overlays_follow_checked_labels(xray):
    before = _tile_bytes(xray)
    for box in xray.checkboxes.values():
        box.value = False
    xray.checkboxes["Effusion"].value = True
    xray.checkboxes["Nodule"].value = True
    xray.checkboxes["Cardiomegaly"].value = True
    assert xray.state["labels"] == ["Cardiomegaly", "Effusion", "Nodule"]
    assert len(xray.state["overlays"]) == len(xray.images.children) - 1 == 3
    captions = [tile.children[1].value for tile in xray.images.children[1:]]
    assert [c.split(":")[0].replace("<b>", "") for c in captions] == xray.state["labels"]
    assert _tile_bytes(xray) != before


def test_new_image_changes_overlays_and_reports_pointing(xray):
    dataset = xray.dataset
    index = next(i for i in range(len(dataset)) if "Cardiomegaly" in dataset.labels(i))
    xray.checkboxes["Nodule"].value = True  # absent from that image: unticked by the change
    before = [o.copy() for o in xray.state["overlays"]]
    xray.image_picker.value = index
    assert xray.state["image_index"] == index
    assert xray.state["pointing"]["Cardiomegaly"] in ("hit", "miss")
    absent = [label for label in xray.state["labels"] if label not in dataset.labels(index)]
    assert all(xray.state["pointing"][label] is None for label in absent)
    assert "Nodule" not in xray.state["labels"] or "Nodule" in dataset.labels(index)
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, xray.state["overlays"], strict=False)
    )


def test_opacity_reblends_without_recomputing(xray, monkeypatch):
    from medinterp.gradcam import GradCAM

    monkeypatch.setattr(GradCAM, "__call__", lambda *a, **k: pytest.fail("recomputed"))
    first = xray.state["overlays"][0].copy()
    xray.opacity.value = 0.9
    assert not np.array_equal(first, xray.state["overlays"][0])


def test_empty_selection_shows_message(xray):
    for box in xray.checkboxes.values():
        box.value = False
    assert xray.state["error"] is None
    assert xray.state["overlays"] == [] and len(xray.images.children) == 1
    assert "Tick at least one label" in xray.message.value
    xray.checkboxes["Edema"].value = True
    assert xray.message.value == "" and len(xray.state["overlays"]) == 1


def test_callback_error_is_shown_in_widget(xray, monkeypatch):
    from medinterp.display import gradcam as gradcam_display

    def broken(*args, **kwargs):
        raise RuntimeError("overlay exploded")

    monkeypatch.setattr(gradcam_display, "overlay", broken)
    xray.opacity.value = 0.3
    assert isinstance(xray.state["error"], RuntimeError)
    assert "overlay exploded" in xray.message.value


def test_xray_bad_layer():
    from medinterp.xray import load_xray_model

    with pytest.raises(ValueError, match="Valid conv layer names"):
        XrayExplorer(model=load_xray_model(), layer_name="predictions")


@pytest.fixture(scope="module")
def shap_explorer(nhanes_split, nhanes_model):
    return ShapExplorer()


def test_shap_dependence_follows_feature(shap_explorer):
    assert shap_explorer.shap_values.shape == shap_explorer.X.shape
    assert shap_explorer.state["dependence_figure"].axes[0].get_xlabel() == "Age"
    first = shap_explorer.state["dependence_figure"]
    shap_explorer.feature.value = "Systolic BP"
    figure = shap_explorer.state["dependence_figure"]
    assert figure is not first
    assert shap_explorer.dependence.value[:4] == b"\x89PNG"
    assert figure.axes[0].get_xlabel() == "Systolic BP"
    shap_explorer.interaction.value = "Sex"
    assert any("Sex" in axis.get_ylabel() for axis in shap_explorer.state["dependence_figure"].axes)
    shap_explorer.interaction.value = None
    assert len(shap_explorer.state["dependence_figure"].axes) == 1  # no colorbar


def test_shap_individual_by_rank_and_index(shap_explorer):
    risk = shap_explorer.model.predict_proba(shap_explorer.X)[:, 1]
    shap_explorer.individual.value = 1
    assert shap_explorer.state["individual"] == int(np.argmax(risk))
    assert shap_explorer.state["risk_rank"] == 1
    shap_explorer.pick_by.value = "index"
    shap_explorer.individual.value = 7
    assert shap_explorer.state["individual"] == 7
    assert shap_explorer.state["force_figure"] is not None


def test_importance_explorer_runs(nhanes_split, nhanes_model):
    explorer = ImportanceExplorer()
    explorer.num_samples.value = 5
    explorer.metric.value = "average precision"
    explorer.run_button.click()
    assert explorer.state["error"] is None
    result = explorer.state["result"]
    assert result.importances.shape == (18, 5)
    axis = explorer.state["figure"].axes[0]
    assert "average precision" in axis.get_xlabel()
    assert len(axis.patches) == 18
    assert [t.get_text() for t in axis.get_yticklabels()][-1] == "Age"


@pytest.mark.slow
def test_importance_explorer_grouping_moves_the_bars(nhanes_split, nhanes_model):
    """Blood pressure's and iron's single bars are split between correlated features; the
    grouped bars hold them together, and switching the grouping redraws at once."""
    _, X_test, _, y_test = nhanes_split
    groups = {
        "Age": ["Age"],  # first, as in X: the same first permutations as alone
        "blood pressure": ["Systolic BP", "Diastolic BP", "Pulse pressure"],
        "iron": ["TS", "Serum Iron", "TIBC"],
    }
    explorer = ImportanceExplorer(X_test, y_test, nhanes_model, groups=groups)
    explorer.num_samples.value = 5
    explorer.run_button.click()
    single = explorer.state["result"]
    assert explorer.state["grouping"] == "single features" and len(single.feature_names) == 18
    explorer.grouping.value = "correlated groups"  # no click: the switch runs
    assert explorer.state["error"] is None and explorer.state["grouping"] == "correlated groups"
    grouped = explorer.state["result"]
    assert grouped.feature_names == ["Age", "blood pressure", "iron"]
    assert [t.get_text() for t in explorer.state["figure"].axes[0].get_yticklabels()] == [
        "iron",
        "blood pressure",
        "Age",
    ]
    means = dict(zip(single.feature_names, single.importances_mean, strict=True))
    blood = dict(zip(grouped.feature_names, grouped.importances_mean, strict=True))
    assert blood["blood pressure"] > max(means[c] for c in groups["blood pressure"])
    assert blood["Age"] == means["Age"]  # same seed, same first permutations
    explorer.grouping.value = "single features"
    assert len(explorer.state["result"].feature_names) == 18


def test_importance_explorer_default_groups_are_the_correlated_ones(nhanes_split, nhanes_model):
    _, X_test, _, y_test = nhanes_split
    explorer = ImportanceExplorer(X_test, y_test, nhanes_model)
    grouped = [members for members in explorer.groups.values() if len(members) > 1]
    assert ["Serum Iron", "TS"] in [sorted(g) for g in grouped]
    assert sorted(sum(explorer.groups.values(), [])) == sorted(X_test.columns)


def test_importance_explorer_metrics_disagree(nhanes_split, nhanes_model):
    """The two metrics offered must be able to give different numbers (ROC AUC never did:
    for a 0/1 label it equals the c-index)."""
    explorer = ImportanceExplorer()
    X, y, model = explorer.X, explorer.y, explorer.model
    scores = model.predict_proba(X)[:, 1]
    values = {name: metric(y, scores) for name, metric in explorer.metrics.items()}
    assert abs(values["c-index"] - values["average precision"]) > 0.05


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (lambda X, y, m: (X.drop(columns="Age"), y, m), "missing"),
        (lambda X, y, m: (X, y.iloc[:10], m), "different lengths"),
    ],
)
def test_importance_explorer_refuses_bad_data_before_any_click(
    nhanes_split, nhanes_model, arguments, message
):
    _, X_test, _, y_test = nhanes_split
    X, y, model = arguments(X_test, y_test, nhanes_model)
    with pytest.raises(ValueError, match=message):
        ImportanceExplorer(X=X, y=y, model=model)


def test_drain_toggle_renders_the_same_patient_with_a_drain(xray):
    """On a normal image a drain changes only the pixels around the tube; the shortcut
    model's Pneumothorax probability jumps and the standard model's barely moves."""
    from medinterp.labels import LABELS

    pneumothorax = LABELS.index("Pneumothorax")
    normal = next(i for i in range(len(xray.dataset)) if not xray.dataset.labels(i))
    xray.image_picker.value = normal
    plain = xray.state["image"].copy()
    seen = {}
    for model in ("standard", "shortcut"):
        xray.model_picker.value = model
        for drain in (False, True):
            xray.drain.value = drain
            assert xray.state["error"] is None
            assert (xray.state["model"], xray.state["drain"]) == (model, drain)
            seen[model, drain] = xray.state["probabilities"][pneumothorax]
    # The explorer's render with the drain is compared with a fresh render of the same patient
    # without it (not with the shipped PNG, which an OpenCV build may round differently on a
    # few pixels): one renderer, one build, so only the tube and its surroundings may change.
    _, _, drain_mask = xray.picture(normal)
    without_drain = phantoms.render(
        phantoms.EXAMPLE_SEED, xray.dataset.stream_index(normal), drain_probability=(0.0, 0.0)
    )[0]
    changed = xray.state["image"].astype(int) != without_drain.astype(int)
    near_tube = cv2.dilate(drain_mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert changed.any() and not (changed & ~near_tube).any()
    shortcut_rise = seen["shortcut", True] - seen["shortcut", False]
    assert shortcut_rise > 0.3
    assert abs(seen["standard", True] - seen["standard", False]) < shortcut_rise / 3
    # Switching back shows the stored phantom again.
    xray.drain.value = False
    xray.model_picker.value = "standard"
    np.testing.assert_array_equal(xray.state["image"], plain)
    xray.image_picker.value = 0


def _shown_controls(explorer) -> list:
    """Every widget in the explorer's tree."""
    found, stack = [], [explorer.widget]
    while stack:
        widget = stack.pop()
        found.append(widget)
        stack.extend(getattr(widget, "children", ()))
    return found


def test_only_the_controls_a_notebook_uses_are_shown(xray, tmp_path):
    from medinterp.examples import load_example_set, write_example_set
    from medinterp.xray import load_xray_model

    # 04 compares the two shipped models, with and without a drain: both toggles.
    assert xray.model_picker in _shown_controls(xray) and xray.drain in _shown_controls(xray)
    # 02 explains one given model: no model toggle and no drain box, not even disabled ones.
    explorer = XrayExplorer(model=load_xray_model())
    shown = _shown_controls(explorer)
    assert explorer.model_picker not in shown and explorer.drain not in shown
    assert explorer.model_picker.options == ("given",) and explorer.state["drain"] is False
    # The drain on a given model, when asked for, on the shipped phantoms only.
    drained = XrayExplorer(model=explorer.model, drain=True)
    assert drained.drain in _shown_controls(drained) and not drained.drain.disabled
    custom = load_example_set(write_example_set(tmp_path / "set", seed=5))
    elsewhere = XrayExplorer(model=explorer.model, dataset=custom)
    assert elsewhere.drain not in _shown_controls(elsewhere)
    with pytest.raises(ValueError, match="drain=True needs the shipped example phantoms"):
        XrayExplorer(model=explorer.model, dataset=custom, drain=True)


@pytest.mark.parametrize("dataset", ["medinterp/assets/examples", 3, {"images": []}])
def test_a_dataset_that_is_not_an_example_set_is_named(dataset):
    with pytest.raises(TypeError, match=r"dataset must be a medinterp.examples.ExampleSet.*"
                                        r"load_example_set\(folder\)"):  # fmt: skip
        XrayExplorer(model=object(), dataset=dataset)
