"""The model-parameter randomisation sanity check for saliency maps (Adebayo et al., 2018).

A map that explains the *model* must change when the model's weights are destroyed. Cascading
randomisation re-initialises the weights from a layer upward (towards the output) and
measures how similar the map stays: a faithful map's similarity falls.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd

from medinterp.gradcam import grad_cam, last_conv_layer

__all__ = [
    "randomize_weights",
    "randomized_in_place",
    "cam_similarity",
    "sanity_check",
    "sanity_verdict",
    "THRESHOLD",
]

#: A map still this similar (Spearman) to the trained model's after the randomisation has
#: not changed enough: it shows the image more than the model.
THRESHOLD = 0.5


def _check_random_state(random_state) -> int:
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(
        random_state, (int, np.integer)
    ):
        raise TypeError(f"random_state must be an integer, got {random_state!r}")
    return int(random_state)


def randomize_weights(model, from_layer: str, random_state: int = 0):
    """A copy of ``model`` with every weight from ``from_layer`` upward re-initialised.

    The named layer and all layers after it (towards the output) get fresh weights; earlier
    layers keep theirs. Kernels are drawn Glorot-uniform from a seeded generator, batch-norm
    scales and variances set to 1, biases, offsets and means to 0. ``model`` is unchanged.

    Raises
    ------
    ValueError
        ``from_layer`` is not one of the model's layers (the message lists them).
    """
    import keras

    start = _layer_index(model, from_layer)
    rng = np.random.default_rng(_check_random_state(random_state))
    copy = keras.models.clone_model(model)
    for index, (source, target) in enumerate(zip(model.layers, copy.layers, strict=True)):
        target.set_weights(_fresh_weights(source, rng) if index >= start else source.get_weights())
    return copy


@contextmanager
def randomized_in_place(model, from_layer: str, random_state: int = 0):
    """``model`` itself, for a ``with`` block, with the weights :func:`randomize_weights`
    would give its copy (the same draws); the trained weights come back on leaving the
    block, also after an error.

    The same model object keeps every function already compiled for it (the saliency
    methods' gradient steps read its variables when they run): tracing them all again for
    a copy took longer than computing the maps.
    """
    start = _layer_index(model, from_layer)
    rng = np.random.default_rng(_check_random_state(random_state))
    layers = model.layers[start:]
    trained = [layer.get_weights() for layer in layers]
    try:
        for layer in layers:
            layer.set_weights(_fresh_weights(layer, rng))
        yield model
    finally:
        for layer, weights in zip(layers, trained, strict=True):
            layer.set_weights(weights)


def _layer_index(model, name: str) -> int:
    names = [layer.name for layer in model.layers]
    if name not in names:
        raise ValueError(f"Unknown layer {name!r}. Valid layer names: {names}")
    return names.index(name)


def _fresh_weights(layer, rng) -> list:
    return [_fresh(variable.path, variable.shape, rng) for variable in layer.weights]


def _fresh(path, shape, rng):
    name = path.rsplit("/", 1)[-1]
    if name in ("gamma", "moving_variance"):
        return np.ones(shape, np.float32)
    if name in ("beta", "bias", "moving_mean") or len(shape) < 2:
        return np.zeros(shape, np.float32)
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def cam_similarity(cam_a, cam_b) -> float:
    """Spearman rank correlation between two maps (1: same ranking of positions)."""
    from scipy.stats import spearmanr

    cam_a, cam_b = np.asarray(cam_a, dtype=float), np.asarray(cam_b, dtype=float)
    if cam_a.shape != cam_b.shape:
        raise ValueError(f"maps differ in shape: {cam_a.shape} and {cam_b.shape}")
    if not (np.isfinite(cam_a).all() and np.isfinite(cam_b).all()):
        raise ValueError("maps must be finite: a NaN or infinite value has no rank")
    cam_a, cam_b = cam_a.ravel(), cam_b.ravel()
    if np.ptp(cam_a) == 0 or np.ptp(cam_b) == 0:
        return 0.0  # a constant map ranks nothing
    return float(spearmanr(cam_a, cam_b).statistic)


def sanity_check(
    model,
    image,
    category_index: int,
    from_layers,
    layer_name: str | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """CAM similarity to the trained model's after cascading randomisation from each layer.

    Returns a DataFrame with one row per entry of ``from_layers``: ``spearman`` between the
    trained model's map and the randomised model's map. A faithful explanation's similarity
    falls as more of the model is destroyed.
    """
    if isinstance(from_layers, str):
        from_layers = [from_layers]
    from_layers = list(from_layers)
    if not from_layers:
        raise ValueError("from_layers is empty: name at least one layer to randomise from")
    layer_name = layer_name or last_conv_layer(model)
    reference = grad_cam(model, image, category_index, layer_name)
    rows = []
    for from_layer in from_layers:
        randomized = randomize_weights(model, from_layer, random_state=random_state)
        cam = grad_cam(randomized, image, category_index, layer_name)
        rows.append({"randomized_from": from_layer, "spearman": cam_similarity(reference, cam)})
    return pd.DataFrame(rows).set_index("randomized_from")


def sanity_verdict(similarity: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Read :func:`sanity_check`'s table out as pass or fail.

    A randomisation *passes* when the map moved away from the trained model's: its Spearman
    similarity is below ``threshold``. The check as a whole passes when the most destroyed
    model (the table's last row, randomised from the lowest layer listed) passes: a map that
    survives that is not explaining the model.

    Returns
    -------
    pandas.DataFrame
        ``similarity`` with two more columns, ``threshold`` and ``passed`` (bool); ``.attrs
        ["passed"]`` holds the verdict of the last row. The input is not changed.
    """
    if not isinstance(similarity, pd.DataFrame) or "spearman" not in similarity.columns:
        raise TypeError(
            "similarity must be the DataFrame sanity_check returns (a 'spearman' column)"
        )
    if similarity.empty:
        raise ValueError("similarity is empty: run sanity_check with at least one layer")
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(
        threshold, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"threshold must be a number in (-1, 1], got {threshold!r}")
    if not -1 < threshold <= 1:
        raise ValueError(f"threshold must be in (-1, 1], got {threshold}")
    verdict = similarity.copy()
    verdict["threshold"] = float(threshold)
    verdict["passed"] = verdict["spearman"] < threshold
    verdict.attrs["passed"] = bool(verdict["passed"].iloc[-1])
    return verdict
