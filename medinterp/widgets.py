"""Interactive explorers for the notebook (ipywidgets 8, JupyterLab 4 and Binder).

- :class:`XrayExplorer`: pick a chest image and labels; see live GradCAM overlays.
- :class:`ShapExplorer`: pick a feature, an interaction and a person; see SHAP plots.
- :class:`ImportanceExplorer`: choose a metric and a sample count; run permutation importance.

Each explorer is displayed like a widget (its ``widget`` attribute is the ipywidgets tree)
and keeps what it shows in ``state``, so tests and curious students can inspect it. The
explorers only wire controls: the numbers come from :mod:`medinterp.gradcam`,
:mod:`medinterp.localization`, :mod:`medinterp.shapley` and :mod:`medinterp.importance`, the
figures from :mod:`medinterp.display`. An error inside a callback is shown
in the explorer instead of disappearing into the log.

Why this module is long: the three explorers share one plumbing class and the PNG and error
helpers, which are private; split into one module per explorer, each would have to import
another module's private names.
"""

from __future__ import annotations

import html
import io
import traceback

import cv2
import ipywidgets as w
import numpy as np
from IPython.display import clear_output

from medinterp.labels import LABELS

__all__ = ["XrayExplorer", "ShapExplorer", "ImportanceExplorer"]


def _png(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()


def _figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, whatever matplotlib backend the kernel uses."""
    buffer = io.BytesIO()
    # No bbox_inches="tight": it draws the figure twice, the slowest part of an update.
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _error_html(error: Exception) -> str:
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return f"<div style='color:#b00020'><b>Something went wrong:</b> {html.escape(last)}</div>"


class _Explorer:
    """Shared plumbing: display as the widget, and show callback errors in the widget."""

    widget: w.Widget

    def __init__(self):
        self.state: dict = {"error": None}
        self.message = w.HTML()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _guarded(self, callback):
        def run(*_):
            try:
                self.state["error"] = None
                self.message.value = ""
                callback()
            except Exception as error:  # noqa: BLE001 - shown to the user, not swallowed
                self.state["error"] = error
                self.message.value = _error_html(error)

        return run


class XrayExplorer(_Explorer):
    """Live GradCAM on chest images.

    Parameters
    ----------
    model : keras.Model, optional
        Default: :func:`medinterp.xray.load_xray_model`.
    dataset : medinterp.examples.ExampleSet, optional
        Default: the shipped example phantoms (with ground-truth masks).
    layer_name : str, optional
        Default: the model's last conv layer.

    Attributes
    ----------
    state : dict
        ``image_index``, ``labels``, ``opacity``, ``layer``, ``show_mask``,
        ``probabilities`` (14), ``overlays`` (one RGB array per checked label),
        ``pointing`` (label -> hit, miss or None without a mask), ``error``.
    """

    def __init__(self, model=None, dataset=None, layer_name=None):
        from medinterp.examples import load_example_set
        from medinterp.gradcam import conv_layer_names, last_conv_layer
        from medinterp.xray import load_xray_model

        super().__init__()
        self.model = model if model is not None else load_xray_model()
        self.dataset = dataset if dataset is not None else load_example_set()
        layers = conv_layer_names(self.model)
        layer_name = layer_name or last_conv_layer(self.model)
        if layer_name not in layers:
            raise ValueError(f"Unknown layer {layer_name!r}. Valid conv layer names: {layers}")
        self._cache: dict = {}

        options = [
            (f"{name}: {', '.join(self.dataset.labels(i)) or 'normal'}", i)
            for i, name in enumerate(self.dataset.df["Image"])
        ]
        self.image_picker = w.Dropdown(options=options, value=0, description="Image")
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
        controls = w.VBox(
            [w.HBox([self.image_picker, self.layer_picker]), grid,
             w.HBox([self.opacity, self.show_mask])]
        )  # fmt: skip
        self.widget = w.VBox([controls, self.message, self.images, self.bars])
        self.widget.add_class("medinterp-xray-explorer")
        self._preselecting = False
        update = self._guarded(self.update)
        self.image_picker.observe(self._guarded(self._new_image), names="value")
        for control in [self.opacity, self.layer_picker, self.show_mask]:
            control.observe(update, names="value")
        for box in self.checkboxes.values():
            box.observe(update, names="value")
        self._guarded(self._new_image)()

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

    def _cams(self, index, layer):
        """Probabilities and all 14 maps for one image and layer, computed once."""
        from medinterp.gradcam import GradCAM
        from medinterp.xray import preprocess

        key = (index, layer)
        if key not in self._cache:
            engine = GradCAM.for_model(self.model, layer)
            batch = preprocess(self.dataset.images[index : index + 1])
            cams = engine(batch, list(range(len(LABELS))))[0]
            self._cache = {key: (engine.predictions[0], cams)}  # keep only the current image
        return self._cache[key]

    def update(self):
        """Recompute (when the image or layer changed) and redraw."""
        from medinterp.display.gradcam import mask_contour, overlay
        from medinterp.localization import pointing_game

        if self._preselecting:
            return  # _new_image ticks several boxes, then redraws once
        index, layer = self.image_picker.value, self.layer_picker.value
        labels = self.selected_labels()
        probabilities, cams = self._cams(index, layer)
        image = self.dataset.images[index]
        has_masks = getattr(self.dataset, "masks", None) is not None
        tiles, overlays, pointing = [self._tile(_gray_rgb(image), "Original")], [], {}
        for label in labels:
            j = LABELS.index(label)
            rgb = overlay(image, cams[j], alpha=self.opacity.value)
            mask = self.dataset.masks[index, j] if has_masks else None
            caption = f"{label}: p={probabilities[j]:.2f}"
            pointing[label] = None
            if mask is not None and mask.any():
                full = cv2.resize(cams[j], mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
                hit = pointing_game(full, mask)
                pointing[label] = "hit" if hit else "miss"
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
            image_index=index, labels=labels, opacity=self.opacity.value, layer=layer,
            show_mask=self.show_mask.value, probabilities=probabilities, overlays=overlays,
            pointing=pointing,
        )  # fmt: skip

    @staticmethod
    def _tile(rgb, caption):
        picture = w.Image(value=_png(rgb), format="png", layout=w.Layout(width="200px"))
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


class ShapExplorer(_Explorer):
    """SHAP dependence and force plots for a tree model.

    Parameters
    ----------
    model : tree classifier, optional
        Default: the NHANES forest (:func:`medinterp.models.nhanes_forest`).
    X : pandas.DataFrame, optional
        Default: the NHANES test set. SHAP values are computed once, with a progress bar.

    Attributes
    ----------
    state : dict
        ``feature``, ``interaction``, ``individual`` (row position in X), ``risk_rank``,
        ``dependence_figure``, ``force_figure``, ``error``.
    """

    def __init__(self, model=None, X=None):
        from medinterp.shapley import expected_value, tree_explainer, tree_shap_values

        super().__init__()
        if model is None or X is None:
            from medinterp.data import load_nhanes
            from medinterp.models import nhanes_forest

            X_dev, X_test, y_dev, _ = load_nhanes()
            model = nhanes_forest(X_dev, y_dev) if model is None else model
            X = X_test if X is None else X
        self.model, self.X = model, X
        explainer = tree_explainer(model)
        self.shap_values = tree_shap_values(explainer, X, progress=True)
        self.base_value = expected_value(explainer)
        self._auto_interactions: dict[str, str] = {}
        risk = model.predict_proba(X)[:, 1]
        self.by_risk = np.argsort(-risk, kind="stable")

        columns = list(X.columns)
        self.feature = w.Dropdown(options=columns, value=columns[0], description="Feature")
        self.interaction = w.Dropdown(
            options=[("auto", "auto"), ("none", None)] + [(c, c) for c in columns],
            value="auto", description="Color by",
        )  # fmt: skip
        self.pick_by = w.ToggleButtons(options=["risk rank", "index"], value="risk rank")
        self.individual = w.BoundedIntText(
            value=1, min=1, max=len(X), description="Person", continuous_update=False
        )
        self.dependence = w.Image(format="png", layout=w.Layout(width="560px"))
        self.force = w.Image(format="png", layout=w.Layout(width="900px"))
        self.dependence.add_class("medinterp-dependence-plot")
        self.force.add_class("medinterp-force-plot")
        self.widget = w.VBox(
            [w.HBox([self.feature, self.interaction]), w.HBox([self.pick_by, self.individual]),
             self.message, self.dependence, self.force]
        )  # fmt: skip
        self.widget.add_class("medinterp-shap-explorer")
        draw_dependence = self._guarded(self.draw_dependence)
        draw_force = self._guarded(self.draw_force)
        self.feature.observe(draw_dependence, names="value")
        self.interaction.observe(draw_dependence, names="value")
        self.pick_by.observe(self._guarded(self._switch_mode), names="value")
        self.individual.observe(draw_force, names="value")
        draw_dependence()
        draw_force()

    def _switch_mode(self):
        by_rank = self.pick_by.value == "risk rank"
        self.individual.min, self.individual.max = (
            (1, len(self.X)) if by_rank else (0, len(self.X) - 1)
        )
        self.draw_force()

    def current_individual(self) -> int:
        """Row position in X of the chosen person."""
        if self.pick_by.value == "risk rank":
            return int(self.by_risk[self.individual.value - 1])
        return int(self.individual.value)

    def _interaction(self, feature):
        """The chosen coloring feature; for "auto", shap's strongest interaction, found once."""
        import shap

        if self.interaction.value != "auto":
            return self.interaction.value
        if feature not in self._auto_interactions:
            order = shap.utils.approximate_interactions(feature, self.shap_values, self.X)
            self._auto_interactions[feature] = self.X.columns[order[0]]
        return self._auto_interactions[feature]

    def draw_dependence(self):
        from medinterp.display.shapley import plot_dependence

        feature = self.feature.value
        figure = plot_dependence(
            feature, self.shap_values, self.X, interaction=self._interaction(feature)
        )
        figure.tight_layout()
        self.dependence.value = _figure_png(figure)
        self.state.update(
            feature=self.feature.value, interaction=self.interaction.value,
            dependence_figure=figure,
        )  # fmt: skip

    def draw_force(self):
        from medinterp.display.shapley import plot_force

        row = self.current_individual()
        figure = plot_force(self.shap_values, self.base_value, self.X, row)
        self.force.value = _figure_png(figure)
        rank = int(np.flatnonzero(self.by_risk == row)[0]) + 1
        self.state.update(individual=row, risk_rank=rank, force_figure=figure)


class ImportanceExplorer(_Explorer):
    """Permutation importance on demand, with error bars.

    Parameters
    ----------
    X, y : optional
        Default: the NHANES test set.
    model : optional
        Default: the NHANES forest.

    Attributes
    ----------
    state : dict
        ``metric``, ``num_samples``, ``result`` (the full result with every sample),
        ``figure``, ``error``.
    """

    def __init__(self, X=None, y=None, model=None):
        from sklearn.metrics import average_precision_score

        from medinterp.metrics import cindex
        from medinterp.models import check_features

        super().__init__()
        if X is None or y is None or model is None:
            from medinterp.data import load_nhanes
            from medinterp.models import nhanes_forest

            X_dev, X_test, y_dev, y_test = load_nhanes()
            X = X_test if X is None else X
            y = y_test if y is None else y
            model = nhanes_forest(X_dev, y_dev) if model is None else model
        check_features(model, X)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
        self.X, self.y, self.model = X, y, model
        # For a 0/1 label the c-index equals ROC AUC; average precision weighs the ranking of
        # the deaths more and so can rank features differently.
        self.metrics = {"c-index": cindex, "average precision": average_precision_score}
        self.metric = w.Dropdown(options=list(self.metrics), value="c-index", description="Metric")
        self.num_samples = w.IntSlider(
            value=20, min=5, max=100, step=5, description="Samples", continuous_update=False
        )
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.progress = w.Output()
        self.chart = w.Image(format="png", layout=w.Layout(width="560px"))
        self.widget = w.VBox(
            [w.HBox([self.metric, self.num_samples, self.run_button]), self.message,
             self.progress, self.chart]
        )  # fmt: skip
        self.widget.add_class("medinterp-importance-explorer")
        self.run_button.on_click(self._guarded(self.run))

    def run(self):
        from medinterp.display.importance import plot_importance
        from medinterp.importance import permutation_importance_details

        with self.progress:  # the tqdm.auto bar draws itself here
            clear_output(wait=True)
            result = permutation_importance_details(
                self.X, self.y, self.model, self.metrics[self.metric.value],
                num_samples=self.num_samples.value, random_state=0, progress=True,
            )  # fmt: skip
        figure = plot_importance(result, self.metric.value)
        self.chart.value = _figure_png(figure)
        self.state.update(
            metric=self.metric.value, num_samples=self.num_samples.value, result=result,
            figure=figure,
        )  # fmt: skip
