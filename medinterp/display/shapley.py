"""Drawing SHAP values: waterfall, force, summary (beeswarm) and dependence plots, as
matplotlib figures.

The numbers come from :func:`medinterp.shapley.tree_shap_values` (one class's
``(n_samples, n_features)`` array); every function here only draws them with shap's plots.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

__all__ = ["plot_waterfall", "plot_force", "plot_summary", "plot_dependence"]


def _check_values(shap_values, X) -> np.ndarray:
    shap_values = np.asarray(shap_values)
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if shap_values.shape != X.shape:
        raise ValueError(
            f"shap_values must have X's shape {X.shape} (one class's values), got "
            f"{shap_values.shape}; for a forest classifier from shap >= 0.45 select the class "
            "with values[:, :, 1] or use medinterp.shapley.tree_shap_values"
        )
    return shap_values


def _check_feature(X, feature, what="feature"):
    if feature not in X.columns:
        raise ValueError(f"Unknown {what} {feature!r}. Valid features: {list(X.columns)}")


def _check_row(X, row) -> int:
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
        raise TypeError(f"row must be an integer position in 0..{len(X) - 1}, got {row!r}")
    if not 0 <= row < len(X):
        raise ValueError(f"row must be in 0..{len(X) - 1}, got {row}")
    return int(row)


def plot_waterfall(
    shap_values: np.ndarray,
    base_value: float,
    X: pd.DataFrame,
    row: int,
    max_display: int = 10,
):
    """Waterfall plot for individual ``row`` (a position in ``X``): one readable line per
    feature, from the average prediction ``base_value`` to this person's prediction.

    The ``max_display - 1`` features with the largest |SHAP value| get a line each (with the
    person's value of that feature); the rest are summed into one line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shap_values = _check_values(shap_values, X)
    row = _check_row(X, row)
    if isinstance(max_display, bool) or not isinstance(max_display, (int, np.integer)):
        raise TypeError(f"max_display must be an integer >= 2, got {max_display!r}")
    if max_display < 2:
        raise ValueError(f"max_display must be >= 2, got {max_display}")
    explanation = shap.Explanation(
        values=shap_values[row],
        base_values=float(base_value),
        data=X.iloc[row].round(2).to_numpy(),
        feature_names=list(X.columns),
    )
    shap.plots.waterfall(explanation, max_display=int(max_display), show=False)
    figure = plt.gcf()
    plt.close(figure)
    return figure


def plot_force(
    shap_values: np.ndarray,
    base_value: float,
    X: pd.DataFrame,
    row: int,
    interactive: bool = False,
):
    """Force plot for individual ``row`` (a position in ``X``).

    Returns a matplotlib Figure (works headless), or with ``interactive=True`` shap's
    JavaScript visualiser object for display in a notebook.
    """
    shap_values = _check_values(shap_values, X)
    row = _check_row(X, row)
    features = X.iloc[row].round(2)
    if interactive:
        return shap.force_plot(base_value, shap_values[row], features)
    shap.force_plot(
        base_value, shap_values[row], features, matplotlib=True, show=False, figsize=(16, 3)
    )
    figure = plt.gcf()
    plt.close(figure)
    return figure


def plot_summary(shap_values: np.ndarray, X: pd.DataFrame, max_display: int = 18):
    """Beeswarm summary plot: one dot per individual and feature, colored by its value."""
    shap_values = _check_values(shap_values, X)
    figure = plt.figure()
    # A seeded generator makes the beeswarm's vertical jitter the same on every run.
    shap.summary_plot(
        shap_values, X, max_display=max_display, show=False, rng=np.random.default_rng(0)
    )
    plt.close(figure)
    return figure


def plot_dependence(
    feature: str,
    shap_values: np.ndarray,
    X: pd.DataFrame,
    interaction: str | None = "auto",
    ax=None,
):
    """Dependence plot: ``feature``'s value against its SHAP value, colored by ``interaction``.

    ``interaction`` is a feature name, ``"auto"`` (shap picks the strongest interaction) or
    ``None`` (no coloring).
    """
    shap_values = _check_values(shap_values, X)
    _check_feature(X, feature)
    if interaction not in (None, "auto"):
        _check_feature(X, interaction, "interaction feature")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    # shap adds its colorbar to the current figure: make it the one that holds ax.
    plt.figure(ax.figure.number)
    shap.dependence_plot(feature, shap_values, X, interaction_index=interaction, ax=ax, show=False)
    _one_tick_per_level(ax, X)
    plt.close(ax.figure)
    return ax.figure


def _one_tick_per_level(ax, X: pd.DataFrame) -> None:
    """Label a colour bar for a feature with a few integer levels (Sex: 1, 2) one tick per level.

    shap colours such a feature in one band per level but keeps a continuous bar's ticks, so
    a two-level Sex gets a tick at 1.5, a value nobody has. The bands split [low, high] into
    ``high - low + 1`` equal parts; each level's tick goes to the middle of its band.
    """
    colorbar = next((c.colorbar for c in ax.collections if getattr(c, "colorbar", None)), None)
    if colorbar is None or colorbar.ax.get_ylabel() not in X.columns:
        return
    values = X[colorbar.ax.get_ylabel()].dropna().to_numpy(dtype=float)
    low, high = (values.min(), values.max()) if len(values) else (0.0, 0.0)
    if not (np.all(values % 1 == 0) and 0 < high - low < 10):
        return
    levels = np.arange(low, high + 1)
    width = (high - low) / len(levels)
    colorbar.set_ticks(low + (np.arange(len(levels)) + 0.5) * width,
                       labels=[f"{level:g}" for level in levels])  # fmt: skip
