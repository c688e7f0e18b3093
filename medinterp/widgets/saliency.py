"""The saliency explorer: one chest image and finding, every method's map a click away.

Pick an image, a label and a method (six methods and three model-free baselines); see the
map over the image with the ground-truth outline and its pixel AUPRC against the mask's
area share (what a map that knows nothing scores).
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from medinterp.labels import LABELS
from medinterp.widgets.base import Explorer, gray_rgb, image_picker, opacity_slider, tile

__all__ = ["SaliencyExplorer"]

#: Light settings so that a click answers in about a second on two cores.
FAST_OPTIONS = {
    "smoothgrad": {"n_samples": 8},
    "integrated_gradients": {"n_steps": 16},
    "occlusion": {"patch": 16, "stride": 16},
}


class SaliencyExplorer(Explorer):
    """Compare saliency methods on one image and label.

    Parameters
    ----------
    model : keras.Model, optional
        Default: the shipped standard model.
    dataset : medinterp.examples.ExampleSet, optional
        Default: the shipped example phantoms (with masks).

    Attributes
    ----------
    state : dict
        ``image_index``, ``label``, ``method``, ``opacity``, ``saliency`` (the map shown, at
        the model's input size), ``auprc`` (None without a mask), ``mask_area``, ``error``.
    """

    def __init__(self, model=None, dataset=None):
        from medinterp.examples import load_example_set
        from medinterp.saliency import ALL_METHODS
        from medinterp.xray import load_xray_model

        super().__init__()
        self.model = model if model is not None else load_xray_model()
        self.dataset = dataset if dataset is not None else load_example_set()
        self._cache: dict = {}
        self.image_picker = image_picker(self.dataset)
        self.label_picker = w.Dropdown(options=list(LABELS), description="Label")
        self.method_picker = w.Dropdown(options=list(ALL_METHODS), value="gradcam",
                                        description="Method")  # fmt: skip
        self.opacity = opacity_slider()
        self.images = w.HBox()
        controls = w.VBox([w.HBox([self.image_picker, self.label_picker]),
                           w.HBox([self.method_picker, self.opacity])])  # fmt: skip
        self.widget = w.VBox([controls, self.message, self.images])
        self.widget.add_class("medinterp-saliency-explorer")
        update = self._guarded(self.update)
        self.image_picker.observe(self._guarded(self._new_image), names="value")
        for control in (self.label_picker, self.method_picker, self.opacity):
            control.observe(update, names="value")
        self._guarded(self._new_image)()

    def _new_image(self):
        """A new image: pick its first finding (if any), then draw."""
        present = self.dataset.labels(self.image_picker.value)
        if present and self.label_picker.value not in present:
            self.label_picker.value = present[0]  # observed: draws
        else:
            self.update()

    def saliency(self, index: int, label: str, method: str) -> np.ndarray:
        """The ``method`` map of image ``index`` for ``label``, computed once."""
        from medinterp.saliency import saliency_maps
        from medinterp.xray import preprocess

        key = (index, label, method)
        if key not in self._cache:
            batch = preprocess(self.dataset.images[index][np.newaxis])
            maps = saliency_maps(self.model, batch, [LABELS.index(label)], method,
                                 random_state=0, **FAST_OPTIONS.get(method, {}))  # fmt: skip
            self._cache = {key: maps[0, 0]}  # keep only the current map
        return self._cache[key]

    def update(self):
        import cv2

        from medinterp.display.gradcam import mask_contour, overlay
        from medinterp.saliency_metrics import pixel_auprc

        index, label, method = (self.image_picker.value, self.label_picker.value,
                                self.method_picker.value)  # fmt: skip
        image = self.dataset.images[index]
        saliency = self.saliency(index, label, method)
        rgb = overlay(image, saliency, alpha=self.opacity.value)
        masks = getattr(self.dataset, "masks", None)
        mask = None if masks is None else masks[index, LABELS.index(label)]
        auprc, caption = None, f"{label}, {method}"
        if mask is not None and mask.any():
            full = cv2.resize(saliency, mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
            auprc = pixel_auprc(full, mask)
            caption += f": AUPRC {auprc:.2f} (area {mask.mean():.3f})"
            rgb = mask_contour(rgb, mask)
        elif mask is not None:
            caption += " (absent: no outline to score against)"
        self.images.children = [tile(gray_rgb(image), "Original"), tile(rgb, caption)]
        self.state.update(
            image_index=index, label=label, method=method, opacity=self.opacity.value,
            saliency=saliency, auprc=auprc,
            mask_area=None if mask is None else float(mask.mean()),
        )  # fmt: skip
