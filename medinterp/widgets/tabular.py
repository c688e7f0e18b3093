"""The tabular explorers: SHAP plots for one feature and one person, and permutation
importance on demand."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
from IPython.display import clear_output

from medinterp.widgets.base import Explorer, figure_png

__all__ = ["ShapExplorer", "ImportanceExplorer"]


class ShapExplorer(Explorer):
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
