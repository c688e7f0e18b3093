"""The X-ray explorer: pick a chest image, labels, a layer and a model; see live GradCAM.

On the shipped example phantoms it can also re-render the same patient with a chest drain,
so that a student sees the shortcut model's probability and map follow the tube.
"""

from __future__ import annotations

import html

import cv2
import ipywidgets as w
import numpy as np

from medinterp.labels import LABELS
from medinterp.widgets.base import Explorer, png

__all__ = ["XrayExplorer"]

MODEL_VARIANTS = ("standard", "shortcut")
GIVEN_MODEL = "given"


class XrayExplorer(Explorer):
    """Live GradCAM on chest images.

    Parameters
    ----------
    model : keras.Model, optional
        A model to explain. Default: the shipped models, with a choice between the
        ``standard`` one and the ``shortcut`` one (trained where chest drains follow
        Pneumothorax; loaded when first chosen).
    dataset : medinterp.examples.ExampleSet, optional
        Default: the shipped example phantoms (with ground-truth masks); for a folder of
        your own, ``load_example_set(folder)``.
    layer_name : str, optional
        Default: the model's last conv layer.
    drain : bool, optional
        Show the "Chest drain" toggle, which re-renders the same patient with a drain (the
        shipped phantoms only). Default: shown when comparing the two shipped models (no
        ``model`` given), the shortcut lesson it belongs to.

    Only the controls a notebook uses are shown: the model toggle when there is a choice,
    the drain toggle when asked for.

    Raises
    ------
    TypeError
        ``dataset`` is not an ``ExampleSet`` (a path, for instance).
    ValueError
        ``layer_name`` is not a conv layer of the model, or ``drain=True`` on a dataset that
        is not the shipped phantoms.

    Attributes
    ----------
    state : dict
        ``image_index``, ``model``, ``drain``, ``labels``, ``opacity``, ``layer``,
        ``show_mask``, ``image`` (the picture shown), ``probabilities`` (14), ``overlays``
        (one RGB array per checked label), ``pointing`` (label -> hit, miss or None without a
        mask), ``error``.
    """

    def __init__(self, model=None, dataset=None, layer_name=None, drain=None):
        from medinterp.examples import ExampleSet, examples_dir, load_example_set
        from medinterp.gradcam import conv_layer_names, last_conv_layer
        from medinterp.xray import load_xray_model

        super().__init__()
        if dataset is not None and not isinstance(dataset, ExampleSet):
            raise TypeError(
                "dataset must be a medinterp.examples.ExampleSet, e.g. load_example_set() or "
                f"load_example_set(folder) for a folder of your own; got {type(dataset).__name__}"
                + (f" {dataset!r}" if isinstance(dataset, str) else "")
            )
        if drain is not None and not isinstance(drain, bool):
            raise TypeError(f"drain must be True, False or None, got {drain!r}")
        if model is None:
            self._models = {"standard": load_xray_model()}
            names = list(MODEL_VARIANTS)
        else:
            self._models = {GIVEN_MODEL: model}
            names = [GIVEN_MODEL]
        self.dataset = dataset if dataset is not None else load_example_set()
        first = next(iter(self._models.values()))
        layers = conv_layer_names(first)
        layer_name = layer_name or last_conv_layer(first)
        if layer_name not in layers:
            raise ValueError(f"Unknown layer {layer_name!r}. Valid conv layer names: {layers}")
        # Only the shipped set is known to come from the example phantom stream.
        self._rerenderable = self.dataset.directory.resolve() == examples_dir().resolve()
        if drain and not self._rerenderable:
            raise ValueError(
                "drain=True needs the shipped example phantoms (dataset=None): only they can be "
                "re-rendered with a chest drain"
            )
        show_drain = drain if drain is not None else model is None and self._rerenderable
        self._cache: dict = {}
        self._drained: dict = {}

        options = [
            (f"{name}: {', '.join(self.dataset.labels(i)) or 'normal'}", i)
            for i, name in enumerate(self.dataset.df["Image"])
        ]
        self.image_picker = w.Dropdown(options=options, value=0, description="Image")
        self.model_picker = w.ToggleButtons(
            options=names, value=names[0], description="Model", disabled=len(names) == 1
        )
        self.drain = w.Checkbox(
            value=False, description="Chest drain", indent=False, disabled=not show_drain
        )
        self.checkboxes = {
            label: w.Checkbox(value=False, description=label, indent=False) for label in LABELS
        }
        self.opacity = w.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=0.05, description="Opacity", continuous_update=False
        )
        self.layer_picker = w.Dropdown(options=layers, value=layer_name, description="Layer")
        self.show_mask = w.Checkbox(value=True, description="Ground-truth outline", indent=False)
        self.images = w.HBox()
        self.bars = w.HTML()
        grid = w.GridBox(
            list(self.checkboxes.values()),
            layout=w.Layout(grid_template_columns="repeat(5, 170px)"),
        )
        # A control the notebook does not use is left out, not shown disabled.
        rows = [w.HBox([self.image_picker, self.layer_picker])]
        choices = [self.model_picker] if len(names) > 1 else []
        if show_drain:
            choices.append(self.drain)
        if choices:
            rows.append(w.HBox(choices))
        controls = w.VBox([*rows, grid, w.HBox([self.opacity, self.show_mask])])
        self.widget = w.VBox([controls, self.message, self.images, self.bars])
        self.widget.add_class("medinterp-xray-explorer")
        self._preselecting = False
        update = self._guarded(self.update)
        self.image_picker.observe(self._guarded(self._new_image), names="value")
        for control in [self.opacity, self.layer_picker, self.show_mask, self.model_picker]:
            control.observe(update, names="value")
        self.drain.observe(update, names="value")
        for box in self.checkboxes.values():
            box.observe(update, names="value")
        self._guarded(self._new_image)()

    @property
    def model(self):
        """The model chosen in the explorer (a shipped variant is loaded when first chosen)."""
        name = self.model_picker.value
        if name not in self._models:
            from medinterp.xray import load_xray_model

            self._models[name] = load_xray_model(variant=name)
        return self._models[name]

    def selected_labels(self) -> list[str]:
        return [label for label, box in self.checkboxes.items() if box.value]

    def preselected_labels(self, index: int) -> list[str]:
        """The findings present in image ``index`` plus the model's top prediction, in
        :data:`~medinterp.labels.LABELS` order: what is worth looking at first."""
        probabilities, _ = self._cams(index, self.layer_picker.value)
        wanted = set(self.dataset.labels(index)) | {LABELS[int(np.argmax(probabilities))]}
        return [label for label in LABELS if label in wanted]

    def _new_image(self):
        """A new image: tick what it shows (and the top prediction), then redraw once."""
        wanted = set(self.preselected_labels(self.image_picker.value))
        self._preselecting = True
        try:
            for label, box in self.checkboxes.items():
                box.value = label in wanted
        finally:
            self._preselecting = False
        self.update()

    def picture(self, index: int):
        """``(image, masks, drain mask or None)`` of image ``index`` as shown now: the stored
        phantom, or the same patient re-rendered with a chest drain."""
        if not self.drain.value:
            masks = getattr(self.dataset, "masks", None)
            return self.dataset.images[index], None if masks is None else masks[index], None
        if index not in self._drained:
            from medinterp import phantoms

            image, _, masks, drain = phantoms.render(
                phantoms.EXAMPLE_SEED, self.dataset.stream_index(index),
                drain_probability=(1.0, 1.0),
                return_drain=True,
            )  # fmt: skip
            self._drained = {index: (image, masks, drain)}  # keep only the current image
        return self._drained[index]

    def _cams(self, index, layer):
        """Probabilities and all 14 maps for the picture shown, computed once."""
        from medinterp.gradcam import GradCAM
        from medinterp.xray import preprocess

        key = (self.model_picker.value, self.drain.value, index, layer)
        if key not in self._cache:
            engine = GradCAM.for_model(self.model, layer)
            batch = preprocess(self.picture(index)[0][np.newaxis])
            cams = engine(batch, list(range(len(LABELS))))[0]
            self._cache = {key: (engine.predictions[0], cams)}  # keep only the current one
        return self._cache[key]

    def update(self):
        """Recompute (when the image, layer, model or drain changed) and redraw."""
        from medinterp.display.gradcam import mask_contour, overlay
        from medinterp.localization import pointing_game

        if self._preselecting:
            return  # _new_image ticks several boxes, then redraws once
        index, layer = self.image_picker.value, self.layer_picker.value
        labels = self.selected_labels()
        probabilities, cams = self._cams(index, layer)
        image, masks, drain = self.picture(index)
        original = _gray_rgb(image)
        if drain is not None and self.show_mask.value:
            original = mask_contour(original, drain, color=(0, 200, 255))
        tiles, overlays, pointing = [self._tile(original, "Original")], [], {}
        for label in labels:
            j = LABELS.index(label)
            rgb = overlay(image, cams[j], alpha=self.opacity.value)
            mask = masks[j] if masks is not None else None
            caption = f"{label}: p={probabilities[j]:.2f}"
            pointing[label] = None
            if mask is not None and mask.any():
                full = cv2.resize(cams[j], mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
                pointing[label] = "hit" if pointing_game(full, mask) else "miss"
                caption += f" ({pointing[label]})"
                if self.show_mask.value:
                    rgb = mask_contour(rgb, mask)
            overlays.append(rgb)
            tiles.append(self._tile(rgb, caption))
        if not labels:
            self.message.value = "<i>Tick at least one label to see its GradCAM map.</i>"
        self.images.children = tiles
        self.bars.value = _probability_bars(probabilities, set(self.dataset.labels(index)))
        self.state.update(
            image_index=index, model=self.model_picker.value, drain=self.drain.value,
            labels=labels, opacity=self.opacity.value, layer=layer,
            show_mask=self.show_mask.value, image=image, probabilities=probabilities,
            overlays=overlays, pointing=pointing,
        )  # fmt: skip

    @staticmethod
    def _tile(rgb, caption):
        picture = w.Image(value=png(rgb), format="png", layout=w.Layout(width="200px"))
        picture.add_class("medinterp-tile")
        return w.VBox([picture, w.HTML(f"<b>{html.escape(caption)}</b>")])


def _gray_rgb(image):
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def _probability_bars(probabilities, present) -> str:
    rows = []
    for label, p in zip(LABELS, probabilities, strict=True):
        mark = " &#9679;" if label in present else ""
        rows.append(
            f"<div style='display:flex;align-items:center;font-size:12px'>"
            f"<span style='width:150px'>{label}{mark}</span>"
            f"<span style='background:#7b3294;height:10px;width:{200 * float(p):.0f}px'></span>"
            f"<span style='margin-left:6px'>{float(p):.2f}</span></div>"
        )
    return "<div><b>Predicted probabilities</b> (&#9679; present)</div>" + "".join(rows)
