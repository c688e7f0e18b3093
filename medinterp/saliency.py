"""Six saliency methods and three baselines behind one entry point, :func:`saliency_maps`.

Every method explains the class **score**, the logit before the sigmoid
(:func:`score_model`): a probability near 0 or 1 has a vanishing gradient, and a map of it
says nothing (notebook 03's saturated Consolidation map). Maps come out at the input's
resolution, one per image and class, in [0, 1]:

- ``"gradcam"``: the batched :class:`medinterp.gradcam.GradCAM` engine, on the score model;
- ``"gradcam++"``: Chattopadhay et al. 2018: per-position weights
  ``alpha = g² / (2 g² + Σ A · g³)`` on the positive gradients (the paper's closed form for
  an exponential of the score, as pytorch-grad-cam computes it);
- ``"gradient"``: ``|∂ score / ∂ input|``, the maximum over channels (Simonyan et al. 2014);
- ``"smoothgrad"``: the same of the gradient averaged over ``n_samples`` noisy copies, the
  noise's standard deviation ``noise_level`` times the image's range (Smilkov et al. 2017);
- ``"integrated_gradients"``: ``(x - x') · ∫ ∂ score(x' + a (x - x')) / ∂ x da`` from a
  ``"black"`` or ``"blurred"`` baseline ``x'`` (Sundararajan et al. 2017; trapezoid rule on
  ``n_steps`` intervals); the map is ``|attribution|`` summed over channels;
- ``"occlusion"``: the score's drop when a ``patch``-pixel square is replaced by the
  training mean (0 after normalisation), slid by ``stride`` (Zeiler and Fergus 2014).

Baselines that look at no model, to beat: ``"random"`` (seeded uniform noise),
``"edges"`` (Sobel magnitude of the image) and ``"centre"`` (a Gaussian at the centre).

Every gradient is taken for all images and classes at once: one forward pass and a
vectorised Jacobian (``tape.batch_jacobian``) per chunk of inputs, compiled once per model.
:func:`integrated_gradients_attributions` gives the raw attributions, before any
normalisation, with the two scores their sum must equal (completeness).
"""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.utils import Bunch

from medinterp.gradcam import GradCAM, last_conv_layer
from medinterp.labels import LABELS
from medinterp.score_gradients import score_gradients, score_model

__all__ = [
    "METHODS",
    "BASELINES",
    "ALL_METHODS",
    "score_model",
    "baseline_images",
    "integrated_gradients_attributions",
    "saliency_maps",
    "COMPLETENESS_TOLERANCE",
]

METHODS = ("gradcam", "gradcam++", "gradient", "smoothgrad", "integrated_gradients", "occlusion")
BASELINES = ("random", "edges", "centre")
ALL_METHODS = METHODS + BASELINES
#: Each method's options and their defaults.
OPTIONS = {
    "smoothgrad": {"n_samples": 25, "noise_level": 0.15},
    "integrated_gradients": {"n_steps": 64, "baseline": "black"},
    "occlusion": {"patch": 16, "stride": 8},
}
IG_BASELINES = ("black", "blurred")
#: Completeness at the default ``n_steps`` (64) on the shipped model: ``|Σ attributions -
#: Δ|`` is at most this times ``1 + |Δ|``, Δ = score(x) - score(x'). Measured on phantoms: at
#: most 0.24 from black, 0.04 from blurred; 0.08 and 0.02 at 128 steps. The score along the
#: path of a ReLU network is piecewise linear, so the sum converges only as 1/n_steps.
COMPLETENESS_TOLERANCE = 0.25
# The blurred baseline's Gaussian sigma, as a share of the image height (about 10 px at 128).
_BLUR_SHARE = 0.08

# --- validation -----------------------------------------------------------------------


def _check_images(model, images):
    raw = np.asarray(images)
    if raw.dtype.kind != "f":
        raise TypeError(
            f"images must be a float batch (preprocessed with medinterp.xray.preprocess), "
            f"got dtype {raw.dtype}"
        )
    expected = tuple(model.inputs[0].shape[1:])
    if raw.ndim != len(expected) + 1 or raw.shape[1:] != expected:
        raise ValueError(
            f"images must have shape (n, {', '.join(map(str, expected))}), got {raw.shape}"
        )
    if len(raw) == 0:
        raise ValueError("images is an empty batch")
    if not np.isfinite(raw).all():
        raise ValueError(f"images hold {int((~np.isfinite(raw)).sum())} NaN or infinite values")
    return raw.astype(np.float32)


def _check_classes(model, class_indices) -> list[int]:
    n_outputs = model.outputs[0].shape[-1]
    indices = [class_indices] if np.ndim(class_indices) == 0 else list(class_indices)
    if not indices:
        raise ValueError("class_indices is empty: give at least one class to explain")
    for index in indices:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            hint = " (use LABELS.index(name))" if isinstance(index, str) else ""
            raise TypeError(f"class_indices must be integers, got {index!r}{hint}")
        if not 0 <= index < n_outputs:
            names = f": {dict(enumerate(LABELS))}" if n_outputs == len(LABELS) else ""
            raise ValueError(f"class index {index} is out of range 0..{n_outputs - 1}{names}")
    return [int(i) for i in indices]


def _check_int(name, value, low, high=None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        valid = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {valid}, got {value}")
    return int(value)


def _check_options(method, options, height) -> dict:
    allowed = OPTIONS.get(method, {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = f"takes only {sorted(allowed)}" if allowed else "takes no options"
        raise TypeError(f"method {method!r} {takes}; got {unknown}")
    chosen = {**allowed, **options}
    if method == "smoothgrad":
        _check_int("n_samples", chosen["n_samples"], 1)
        level = chosen["noise_level"]
        if isinstance(level, bool) or not isinstance(level, (int, float, np.number)):
            raise TypeError(f"noise_level must be a number, got {level!r}")
        if not 0 <= level <= 1:
            raise ValueError(f"noise_level must be in [0, 1] (a share of the range), got {level}")
    elif method == "integrated_gradients":
        _check_int("n_steps", chosen["n_steps"], 1)
        if isinstance(chosen["baseline"], str) and chosen["baseline"] not in IG_BASELINES:
            raise ValueError(
                f"Unknown baseline {chosen['baseline']!r}. Valid baselines: {list(IG_BASELINES)}"
            )
    elif method == "occlusion":
        _check_int("patch", chosen["patch"], 1, height)
        _check_int("stride", chosen["stride"], 1, height)
    return chosen


def _check_random_state(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(
        random_state, (int, np.integer)
    ):
        raise TypeError(f"random_state must be an integer or None, got {random_state!r}")
    return int(random_state)


# --- maps -----------------------------------------------------------------------------


def _unit(maps):
    """Divide each map by its maximum (an all-zero map stays zero)."""
    peaks = maps.max(axis=(-2, -1), keepdims=True)
    return np.divide(maps, peaks, out=np.zeros_like(maps), where=peaks > 0).astype(np.float32)


def _resize(maps, height, width):
    flat = maps.reshape(-1, *maps.shape[-2:]).astype(np.float32)
    out = np.stack([cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for m in flat])
    return out.reshape(*maps.shape[:-2], height, width)


def _gradcam_plus_plus(engine, images, classes, layer_name):
    cams = np.maximum(engine.gradcam_plus_plus(images, classes, layer_name), 0)
    return _unit(_resize(cams, *images.shape[1:3]))


def _smoothgrad(engine, images, classes, n_samples, noise_level, random_state):
    rng = np.random.default_rng(random_state)
    spread = (images.max(axis=(1, 2, 3)) - images.min(axis=(1, 2, 3))) * noise_level
    means = []
    for image, sigma in zip(images, spread, strict=True):
        noisy = image + rng.normal(0.0, sigma, (n_samples, *image.shape)).astype(np.float32)
        gradients, _ = engine.input_gradients(noisy, classes)
        means.append(gradients.mean(axis=0))
    return _unit(np.abs(np.stack(means)).max(axis=-1))


def baseline_images(images, kind: str = "black") -> np.ndarray:
    """Integrated Gradients' starting points for a preprocessed batch.

    ``"black"``: every pixel at the image's darkest value (black, whatever the
    normalisation). ``"blurred"``: the image under a Gaussian blur of sigma 8 % of its
    height, which keeps the brightness and removes the detail (Sturmfels et al. 2020).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be a batch (n, H, W, C), got shape {images.shape}")
    if kind == "black":
        return np.broadcast_to(images.min(axis=(1, 2, 3), keepdims=True), images.shape).copy()
    if kind == "blurred":
        sigma = _BLUR_SHARE * images.shape[1]
        return np.stack(
            [cv2.GaussianBlur(image, (0, 0), sigma).reshape(image.shape) for image in images]
        )
    raise ValueError(f"Unknown baseline {kind!r}. Valid baselines: {list(IG_BASELINES)}")


def integrated_gradients_attributions(
    model, images, class_indices, baseline="black", n_steps: int = 64
) -> Bunch:
    """Integrated Gradients before any normalisation, for every image and class.

    Parameters
    ----------
    model : keras.Model
    images : float array (n, H, W, C), preprocessed
    class_indices : int or sequence of int
    baseline : {"black", "blurred"} or float array (n, H, W, C)
        The path's start (see :func:`baseline_images`).
    n_steps : int
        Intervals of the trapezoid rule along the straight path.

    Returns
    -------
    sklearn.utils.Bunch
        ``attributions`` (n, k, H, W, C); ``image_scores`` and ``baseline_scores`` (n, k),
        the logits at both ends. Completeness: ``attributions.sum((2, 3, 4))`` equals
        ``image_scores - baseline_scores`` up to the integration error
        (:data:`COMPLETENESS_TOLERANCE` at the default ``n_steps``).
    """
    images = _check_images(model, images)
    classes = _check_classes(model, class_indices)
    n_steps = _check_int("n_steps", n_steps, 1)
    if isinstance(baseline, str):
        start = baseline_images(images, baseline)
    else:
        start = _check_images(model, baseline)
        if start.shape != images.shape:
            raise ValueError(
                f"baseline must have the images' shape {images.shape}, got {start.shape}"
            )
    engine = score_gradients(model)
    alphas = np.linspace(0.0, 1.0, n_steps + 1, dtype=np.float32)
    weights = np.full(n_steps + 1, 1.0 / n_steps)
    weights[[0, -1]] /= 2  # the trapezoid rule
    attributions = np.empty((len(images), len(classes), *images.shape[1:]), np.float32)
    image_scores = np.empty((len(images), len(classes)), np.float32)
    baseline_scores = np.empty_like(image_scores)
    for i, (image, origin) in enumerate(zip(images, start, strict=True)):
        path = origin + alphas[:, None, None, None] * (image - origin)
        gradients, scores = engine.input_gradients(path, classes)  # (steps + 1, k, H, W, C)
        average = np.tensordot(weights, gradients, axes=1)
        attributions[i] = average * (image - origin)
        baseline_scores[i], image_scores[i] = scores[0], scores[-1]
    return Bunch(
        attributions=attributions, image_scores=image_scores, baseline_scores=baseline_scores
    )


def _occlusion(engine, images, classes, patch, stride):
    n, height, width = images.shape[:3]
    rows = list(range(0, height - patch + 1, stride))
    columns = list(range(0, width - patch + 1, stride))
    if rows[-1] != height - patch:
        rows.append(height - patch)
    if columns[-1] != width - patch:
        columns.append(width - patch)
    corners = [(r, c) for r in rows for c in columns]
    maps = np.zeros((n, len(classes), height, width), np.float64)
    counts = np.zeros((height, width))
    for r, c in corners:
        counts[r : r + patch, c : c + patch] += 1
    for i, image in enumerate(images):
        occluded = np.repeat(image[None], len(corners), axis=0)
        for j, (r, c) in enumerate(corners):
            occluded[j, r : r + patch, c : c + patch] = 0.0  # the training mean
        scores = engine.forward(np.concatenate([image[None], occluded]))[:, classes]
        drops = scores[0] - scores[1:]  # (positions, k)
        for (r, c), drop in zip(corners, drops, strict=True):
            maps[i, :, r : r + patch, c : c + patch] += drop[:, None, None]
    return _unit(np.maximum(maps / counts, 0))


def _baseline_maps(kind, images, n_classes, random_state):
    n, height, width = images.shape[:3]
    if kind == "random":
        maps = np.random.default_rng(random_state).random((n, height, width))
    elif kind == "edges":
        gray = images.mean(axis=-1)
        maps = np.stack(
            [np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) for g in gray]
        )
    else:  # centre
        rows, columns = np.mgrid[0:height, 0:width]
        sigma = height / 6
        bump = np.exp(-((rows - (height - 1) / 2) ** 2 + (columns - (width - 1) / 2) ** 2)
                      / (2 * sigma**2))  # fmt: skip
        maps = np.broadcast_to(bump, (n, height, width))
    return _unit(np.repeat(np.asarray(maps, np.float32)[:, None], n_classes, axis=1))


def saliency_maps(
    model, images, class_indices, method: str, layer_name=None, random_state=None, **options
) -> np.ndarray:
    """Maps of ``method`` for every image and class: ``(n_images, n_classes, H, W)`` in [0, 1].

    Parameters
    ----------
    model : keras.Model
        A classifier; its scores (logits, :func:`score_model`) are explained.
    images : float array (n, H, W, C)
        Preprocessed inputs (:func:`medinterp.xray.preprocess`).
    class_indices : int or sequence of int
    method : str
        One of :data:`METHODS` or :data:`BASELINES`.
    layer_name : str, optional
        The layer of ``"gradcam"`` and ``"gradcam++"`` (default: the last conv layer).
    random_state : int, optional
        Seeds ``"smoothgrad"``'s noise and the ``"random"`` baseline.
    **options
        ``n_samples``, ``noise_level`` (smoothgrad); ``n_steps``, ``baseline``
        (integrated_gradients); ``patch``, ``stride`` (occlusion), in pixels of the input.

    Raises
    ------
    ValueError
        Unknown method (the message lists them), option out of range, bad images or classes.
    TypeError
        An option the method does not take, or of the wrong type.
    """
    if not isinstance(method, str) or method not in ALL_METHODS:
        raise ValueError(
            f"Unknown method {method!r}. Valid methods: {list(METHODS)}; "
            f"baselines: {list(BASELINES)}"
        )
    images = _check_images(model, images)
    classes = _check_classes(model, class_indices)
    options = _check_options(method, options, min(images.shape[1:3]))
    random_state = _check_random_state(random_state)
    if layer_name is not None and method not in ("gradcam", "gradcam++"):
        raise ValueError(f"layer_name applies to 'gradcam' and 'gradcam++' only, not {method!r}")
    if method in BASELINES:
        return _baseline_maps(method, images, len(classes), random_state)
    engine = score_gradients(model)
    if method == "gradcam":
        scores = score_model(model)
        return GradCAM.for_model(scores, layer_name or last_conv_layer(scores))(images, classes)
    if method == "gradcam++":
        return _gradcam_plus_plus(engine, images, classes, layer_name or last_conv_layer(model))
    if method == "gradient":
        gradients, _ = engine.input_gradients(images, classes)
        return _unit(np.abs(gradients).max(axis=-1))
    if method == "smoothgrad":
        return _smoothgrad(engine, images, classes, random_state=random_state, **options)
    if method == "integrated_gradients":
        result = integrated_gradients_attributions(model, images, classes, **options)
        return _unit(np.abs(result.attributions).sum(axis=-1))
    return _occlusion(engine, images, classes, **options)
