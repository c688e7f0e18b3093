"""What the X-ray graders grade on, built once per kernel and reused by every call.

- the shipped model (:func:`medinterp.xray.load_xray_model`, loaded once) and three shipped
  phantoms, preprocessed as the notebook does;
- a small random-weight model whose input is *not* square (40 x 56), so that swapping
  width and height in a resize is caught;
- per (model, image, layer): the layer's activations and the gradients of class scores with
  respect to them, from which the reference map and every recognised mistake are derived
  with NumPy (no extra model passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from medinterp.exercise_models import (
    NONSQUARE_LABELS,
    NONSQUARE_SEED,
    NONSQUARE_SHAPE,
    nonsquare_model,
    shipped_model,
)
from medinterp.labels import LABELS

__all__ = [
    "CamCase",
    "NONSQUARE_LABELS",
    "activations_and_gradients",
    "case_image",
    "case_model",
    "example_image",
    "example_set",
    "finish",
    "nonsquare_model",
    "shipped_model",
]


@cache
def example_set():
    """The shipped example phantoms and the model's metadata (mean, std), read once."""
    from medinterp.examples import load_example_set
    from medinterp.xray import model_metadata

    return load_example_set(), model_metadata()


@cache
def example_image(name: str) -> np.ndarray:
    """Shipped phantom ``name`` as the model's normalised ``(1, H, W, 3)`` input."""
    from medinterp.xray import load_image_normalize

    examples, metadata = example_set()
    size = shipped_model().inputs[0].shape[1]
    image = load_image_normalize(
        examples.directory / name, metadata["mean"], metadata["std"], H=size, W=size
    )
    image.flags.writeable = False
    return image


@cache
def _nonsquare_image() -> np.ndarray:
    rng = np.random.default_rng(NONSQUARE_SEED + 1)
    image = rng.normal(size=(1, *NONSQUARE_SHAPE)).astype("float32")
    image.flags.writeable = False
    return image


@dataclass(frozen=True)
class CamCase:
    """One image, class and layer to grade a map on."""

    model: str  # "shipped" or "nonsquare"
    image: str  # a shipped phantom's file name, or "random" for the non-square model
    class_index: int
    layer_name: str

    @property
    def label(self) -> str:
        return (LABELS if self.model == "shipped" else NONSQUARE_LABELS)[self.class_index]

    @property
    def title(self) -> str:
        where = self.image if self.model == "shipped" else "non-square 40x56 input"
        return f"{where}, {self.label}, layer {self.layer_name}"


def case_model(case: CamCase):
    return shipped_model() if case.model == "shipped" else nonsquare_model()


def case_image(case: CamCase) -> np.ndarray:
    return example_image(case.image) if case.model == "shipped" else _nonsquare_image()


@cache
def activations_and_gradients(case: CamCase, all_classes: bool = False):
    """The layer's activations ``(h, w, c)`` and the gradients ``(k, h, w, c)`` of the class
    scores with respect to them (float64): the case's class, or every class at once (the
    image repeated k times, one class score per copy, one backward pass)."""
    import tensorflow as tf

    from medinterp.gradcam import activation_model

    model = case_model(case)
    hook = activation_model(model, case.layer_name)
    n_classes = model.outputs[0].shape[-1]
    classes = list(range(n_classes)) if all_classes else [case.class_index]
    images = np.repeat(case_image(case), len(classes), axis=0)
    with tf.GradientTape() as tape:
        maps, predictions = hook(images, training=False)
        # Copy i's score is class classes[i]: one backward pass gives every class's gradient.
        score = tf.reduce_sum(predictions * np.eye(n_classes, dtype="float32")[classes])
    gradients = tape.gradient(score, maps).numpy().astype(np.float64)
    return maps[0].numpy().astype(np.float64), gradients


def finish(cam: np.ndarray, height: int, width: int, relu_first: bool = True) -> np.ndarray:
    """A layer-grid map to the input's size: ReLU and bilinear resize (in either order, both
    published), then divided by its maximum when that is above 0."""
    cam = np.asarray(cam, dtype=np.float32)
    if relu_first:
        cam = np.maximum(cam, 0)
    cam = cv2.resize(cam, (width, height), interpolation=cv2.INTER_LINEAR)
    cam = np.maximum(cam, 0)
    peak = cam.max()
    return cam / peak if peak > 0 else cam
