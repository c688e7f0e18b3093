"""SHAP values for tree models, with one shape whatever shap version is installed.

The shap >= 0.45 trap
---------------------
For a scikit-learn ``RandomForestClassifier``, old shap returned a *list* with one
``(n_samples, n_features)`` array per class, so ``explainer.shap_values(X)[1]`` meant
"class 1". shap >= 0.45 returns a single array of shape ``(n_samples, n_features, 2)``
instead, and the same ``[1]`` now silently picks the *second individual*: an
``(n_features, 2)`` array that plots without complaint and means nothing. Select the class
on the last axis, ``values[:, :, 1]``, or use :func:`tree_shap_values`, which does so for
every return shape (list, 3-D array, or ``shap.Explanation``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shap
from tqdm.auto import tqdm

from medinterp.models import check_features

__all__ = ["tree_explainer", "tree_shap_values", "expected_value", "select_class"]


def tree_explainer(model) -> shap.TreeExplainer:
    """A ``shap.TreeExplainer`` for ``model`` (interventional on no data: exact TreeSHAP)."""
    return shap.TreeExplainer(model)


def tree_shap_values(
    model, X: pd.DataFrame, class_index: int = 1, progress: bool = False, chunk_size: int = 256
) -> np.ndarray:
    """SHAP values of ``X`` for one class of a tree model.

    Parameters
    ----------
    model : tree model or shap.TreeExplainer
    X : pandas.DataFrame of shape (n_samples, n_features)
    class_index : int, default=1
        For a classifier, the class whose probability is explained (1: the outcome).
    progress : bool, default=False
        Show a ``tqdm.auto`` progress bar (rows are explained ``chunk_size`` at a time).

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_features)
        ``values.sum(axis=1) + expected_value(model, class_index)`` equals the model's
        ``predict_proba(X)[:, class_index]``.
    """
    if isinstance(model, shap.Explainer):
        explainer, fitted = model, getattr(model.model, "original_model", None)
    else:
        explainer, fitted = tree_explainer(model), model
    if isinstance(X, pd.DataFrame) and fitted is not None:
        check_features(fitted, X)
    elif np.ndim(X) != 2:
        raise ValueError(f"X must be a 2-D table (n_samples, n_features), got shape {np.shape(X)}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    n_features = np.shape(X)[1]
    chunks = []
    starts = range(0, len(X), chunk_size)
    for start in tqdm(starts, desc="SHAP values", unit="chunk", disable=not progress):
        part = (
            X.iloc[start : start + chunk_size]
            if hasattr(X, "iloc")
            else X[start : start + chunk_size]
        )
        raw = explainer.shap_values(part)
        chunks.append(select_class(raw, class_index, n_samples=len(part), n_features=n_features))
    return np.concatenate(chunks) if chunks else np.zeros((0, n_features))


def expected_value(explainer_or_model, class_index: int = 1) -> float:
    """The explainer's base value (mean prediction) for one class, as a float."""
    explainer = (
        explainer_or_model
        if isinstance(explainer_or_model, shap.Explainer)
        else tree_explainer(explainer_or_model)
    )
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    if base.size == 1:
        return float(base[0])
    _check_class_index(class_index, base.size)
    return float(base[class_index])


def select_class(raw, class_index: int, n_samples: int, n_features: int) -> np.ndarray:
    """Reduce any shap return value to the ``(n_samples, n_features)`` array of one class.

    Handles a list of per-class arrays (shap < 0.45), an ``(n, f, classes)`` array
    (shap >= 0.45), a single-output ``(n, f)`` array, and ``shap.Explanation``.
    """
    if isinstance(raw, shap.Explanation):
        raw = raw.values
    if isinstance(raw, list):
        _check_class_index(class_index, len(raw))
        values = np.asarray(raw[class_index])
    else:
        values = np.asarray(raw)
        if values.ndim == 3:
            _check_class_index(class_index, values.shape[2])
            values = values[:, :, class_index]
    if values.shape != (n_samples, n_features):
        raise ValueError(
            f"Expected SHAP values of shape ({n_samples}, {n_features}) after selecting "
            f"class {class_index}, got {values.shape}"
        )
    return values


def _check_class_index(class_index, n_classes):
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)):
        raise TypeError(
            f"class_index must be an integer in 0..{n_classes - 1}, got {class_index!r}"
        )
    if not 0 <= class_index < n_classes:
        raise ValueError(f"class_index must be in 0..{n_classes - 1}, got {class_index}")
