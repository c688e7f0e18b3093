"""SaliencyExplorer: method, label and image pickers drive the map and its AUPRC."""

import numpy as np
import pytest

from medinterp.labels import LABELS
from medinterp.widgets import SaliencyExplorer

pytestmark = pytest.mark.slow  # builds the explorer: loads the model, computes maps


@pytest.fixture(scope="module")
def explorer():
    return SaliencyExplorer()


def test_starts_on_the_first_images_finding(explorer):
    present = explorer.dataset.labels(explorer.image_picker.value)
    assert explorer.state["error"] is None
    if present:
        assert explorer.state["label"] == present[0]
        assert 0 <= explorer.state["auprc"] <= 1
    assert len(explorer.images.children) == 2
    assert explorer.state["saliency"].shape == (128, 128)


def test_method_picker_changes_the_map_and_auprc(explorer):
    index = next(i for i in range(len(explorer.dataset.df)) if explorer.dataset.labels(i))
    explorer.image_picker.value = index
    maps, scores = {}, {}
    for method in ("gradcam", "gradient", "random"):
        explorer.method_picker.value = method
        assert explorer.state["error"] is None and explorer.state["method"] == method
        maps[method], scores[method] = explorer.state["saliency"], explorer.state["auprc"]
    assert not np.allclose(maps["gradcam"], maps["gradient"])
    # A random map knows nothing: its AUPRC is near the mask's area share, below GradCAM's.
    assert scores["random"] < scores["gradcam"]
    assert scores["random"] < 3 * explorer.state["mask_area"] + 0.02


def test_an_absent_label_has_no_score_and_errors_show_in_the_widget(explorer, monkeypatch):
    index = explorer.image_picker.value
    absent = next(label for label in LABELS if label not in explorer.dataset.labels(index))
    explorer.label_picker.value = absent
    assert (
        explorer.state["auprc"] is None
        and "absent" in explorer.images.children[1].children[1].value
    )

    def broken(*_):
        raise RuntimeError("boom")

    monkeypatch.setattr(explorer, "saliency", broken)
    explorer.method_picker.value = "edges"
    assert "boom" in explorer.message.value and isinstance(explorer.state["error"], RuntimeError)
