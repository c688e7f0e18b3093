"""The tabular explorers: SHAP plots for one feature and one person, and permutation
importance on demand."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import pandas as pd
from IPython.display import HTML, clear_output, display

from medinterp.widgets.base import Explorer, figure_png

__all__ = ["ShapExplorer", "ImportanceExplorer"]


class ShapExplorer(Explorer):
    """SHAP dependence and force plots for a tree model.

    Parameters
    ----------
    model : tree classifier, optional
        Default: the NHANES forest (:func:`medinterp.models.nhanes_forest`).
    X : pandas.DataFrame, optional
        Default: the NHANES test set. Its columns name the features in the plots.
    shap_values : array of shape X.shape, optional
        Class 1's SHAP values of ``X``, when the notebook already has them
        (:func:`medinterp.shapley.tree_shap_values`). Default: computed here, with a progress
        bar that is removed when done (a saved notebook keeps no frozen bar).
    base_value : float, optional
        The explainer's expected value for class 1; default: read from the model's explainer.

    Attributes
    ----------
    state : dict
        ``feature``, ``interaction``, ``individual`` (row position in X), ``risk_rank``,
        ``dependence_figure``, ``force_figure``, ``error``.

    Raises
    ------
    TypeError
        ``X`` is not a pandas DataFrame, or ``shap_values`` is not numeric.
    ValueError
        ``shap_values`` does not have ``X``'s shape, or is given without ``model`` and ``X``.
    """

    def __init__(self, model=None, X=None, shap_values=None, base_value=None):
        from medinterp.shapley import expected_value, tree_explainer

        super().__init__()
        if shap_values is not None and (model is None or X is None):
            raise ValueError(
                "shap_values needs the model and the X it was computed for: "
                "ShapExplorer(model, X, shap_values=...)"
            )
        if model is None or X is None:
            from medinterp.data import load_nhanes
            from medinterp.models import nhanes_forest

            X_dev, X_test, y_dev, _ = load_nhanes()
            model = nhanes_forest(X_dev, y_dev) if model is None else model
            X = X_test if X is None else X
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "X must be a pandas DataFrame whose columns name the features (e.g. X_test, "
                f"not X_test.to_numpy()), got {type(X).__name__}"
            )
        self.model, self.X = model, X
        explainer = tree_explainer(model)
        self.shap_values = (
            _shap_values_with_transient_bar(explainer, X)
            if shap_values is None
            else _checked_shap_values(shap_values, X)
        )
        self.base_value = (
            expected_value(explainer) if base_value is None else _checked_base_value(base_value)
        )
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
        self.dependence.value = figure_png(figure)
        self.state.update(
            feature=self.feature.value, interaction=self.interaction.value,
            dependence_figure=figure,
        )  # fmt: skip

    def draw_force(self):
        from medinterp.display.shapley import plot_force

        row = self.current_individual()
        figure = plot_force(self.shap_values, self.base_value, self.X, row)
        self.force.value = figure_png(figure)
        rank = int(np.flatnonzero(self.by_risk == row)[0]) + 1
        self.state.update(individual=row, risk_rank=rank, force_figure=figure)


def _shap_values_with_transient_bar(explainer, X) -> np.ndarray:
    """Class 1's SHAP values of ``X``, with tqdm.auto's bar while they are computed.

    In a notebook the bar is drawn in a display that is emptied afterwards: tqdm's widget
    would otherwise stay in the saved notebook as a frozen "0%" line.
    """
    from IPython import get_ipython

    from medinterp.shapley import tree_shap_values

    if not hasattr(get_ipython(), "kernel"):  # a terminal: tqdm writes to stderr
        return tree_shap_values(explainer, X, progress=True)
    bar = w.Output()
    handle = display(bar, display_id=True)
    try:
        with bar:
            return tree_shap_values(explainer, X, progress=True)
    finally:
        handle.update(HTML(""))


def _checked_shap_values(shap_values, X) -> np.ndarray:
    try:
        values = np.asarray(shap_values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"shap_values must be a numeric array of shape {X.shape}, got "
            f"{type(shap_values).__name__}"
        ) from None
    if values.shape != X.shape:
        raise ValueError(
            f"shap_values must have X's shape {X.shape} (class 1's values, one row per person), "
            f"got {values.shape}; medinterp.shapley.tree_shap_values(model, X) computes them"
        )
    return values


def _checked_base_value(base_value) -> float:
    if isinstance(base_value, bool) or np.ndim(base_value) != 0:
        raise TypeError(
            "base_value must be one number, the expected value for class 1 "
            f"(medinterp.shapley.expected_value), got {base_value!r}"
        )
    return float(base_value)


class ImportanceExplorer(Explorer):
    """Permutation importance on demand, with error bars, of single features or of groups.

    Parameters
    ----------
    X, y : optional
        Default: the NHANES test set.
    model : optional
        Default: the NHANES forest.
    groups : dict of str to list of str, optional
        The groups offered by "correlated groups", permuted together
        (:func:`medinterp.importance.grouped_permutation_importance`). Default:
        :func:`medinterp.importance.correlated_groups` of ``X`` at ``|rho| >= 0.5``.

    Attributes
    ----------
    state : dict
        ``metric``, ``num_samples``, ``grouping`` ("single features" or "correlated
        groups"), ``result`` (the full result with every sample), ``figure``, ``error``.
    """

    GROUPINGS = ("single features", "correlated groups")

    def __init__(self, X=None, y=None, model=None, groups=None):
        from sklearn.metrics import average_precision_score

        from medinterp.importance import correlated_groups
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
        self.groups = correlated_groups(X, 0.5) if groups is None else groups
        # For a 0/1 label the c-index equals ROC AUC; average precision weighs the ranking of
        # the deaths more and so can rank features differently.
        self.metrics = {"c-index": cindex, "average precision": average_precision_score}
        self.metric = w.Dropdown(options=list(self.metrics), value="c-index", description="Metric")
        self.num_samples = w.IntSlider(
            value=20, min=5, max=100, step=5, description="Samples", continuous_update=False
        )
        self.grouping = w.ToggleButtons(options=list(self.GROUPINGS), value=self.GROUPINGS[0])
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.progress = w.Output()
        self.chart = w.Image(format="png", layout=w.Layout(width="560px"))
        self.widget = w.VBox(
            [w.HBox([self.metric, self.num_samples, self.run_button]), self.grouping,
             self.message, self.progress, self.chart]
        )  # fmt: skip
        self.widget.add_class("medinterp-importance-explorer")
        self.run_button.on_click(self._guarded(self.run))
        # Switching the grouping redraws the bars at once: the point is to see them move.
        self.grouping.observe(self._guarded(self.run), names="value")

    def run(self):
        from medinterp.display.importance import plot_importance
        from medinterp.importance import permutation_importance_details

        grouped = self.grouping.value == "correlated groups"
        with self.progress:  # the tqdm.auto bar draws itself here
            clear_output(wait=True)
            result = permutation_importance_details(
                self.X, self.y, self.model, self.metrics[self.metric.value],
                num_samples=self.num_samples.value, random_state=0, progress=True,
                groups=self.groups if grouped else None,
            )  # fmt: skip
        figure = plot_importance(result, self.metric.value)
        self.chart.value = figure_png(figure)
        self.state.update(
            metric=self.metric.value, num_samples=self.num_samples.value,
            grouping=self.grouping.value, result=result, figure=figure,
        )  # fmt: skip
