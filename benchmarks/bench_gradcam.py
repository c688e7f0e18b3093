"""GradCAM for 14 labels on one image: the batched engine against the keras-io recipe."""

from __future__ import annotations

import numpy as np

from benchmarks.common import Row, median_time, side_by_side
from medinterp.gradcam import GradCAM, activation_model


def naive_loop(model, image, layer_name, labels):
    """The common recipe: a new gradient model and an eager tape for every label."""
    import keras
    import tensorflow as tf

    cams = []
    for label in labels:
        grad_model = keras.Model(
            model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]]
        )
        with tf.GradientTape() as tape:
            maps, predictions = grad_model(image)
            score = predictions[:, label]
        gradients = tape.gradient(score, maps)
        pooled = tf.reduce_mean(gradients, axis=(0, 1, 2))
        cam = tf.nn.relu(maps[0] @ pooled[..., tf.newaxis])[..., 0]
        cams.append((cam / (tf.reduce_max(cam) + 1e-12)).numpy())
    return cams


def _forward_backward(model, layer_name):
    """One compiled forward pass and one backward pass to the layer, for one label."""
    import tensorflow as tf

    hook = activation_model(model, layer_name)

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            maps, predictions = hook(images, training=False)
            score = predictions[:, 0]
        return tape.gradient(score, maps)

    return step


def _models(smoke):
    from medinterp.xray import densenet121_model, load_xray_model, preprocess

    rng = np.random.default_rng(0)
    yield (
        "shipped phantom model",
        load_xray_model(),
        "relu",
        preprocess(rng.integers(0, 255, (1, 256, 256), dtype=np.uint8)),
    )
    if not smoke:
        image = rng.normal(size=(1, 320, 320, 3)).astype("float32")
        yield (
            "DenseNet121 (random weights, 320x320)",
            densenet121_model(),
            "conv5_block16_concat",
            image,
        )


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    repeats = 1 if smoke else repeats
    labels = list(range(14))
    rows = []
    for name, model, layer, image in _models(smoke):
        engine = GradCAM(model, layer)
        step = _forward_backward(model, layer)
        batched, naive = side_by_side(
            lambda engine=engine, image=image: engine(image, labels),
            lambda model=model, image=image, layer=layer: naive_loop(model, image, layer, labels),
            repeats=repeats,
        )
        rows.append(
            Row(f"GradCAM 14 labels, {name}: batched vs naive loop", batched, naive, ">= 5x",
                naive / batched >= 5)
        )  # fmt: skip
        single = median_time(lambda step=step, image=image: step(image), repeats=5, warmup=2)
        rows.append(
            Row(f"GradCAM 14 labels, {name}: batched vs one forward+backward pass",
                batched, single, "<= 2.5x the time", batched / single <= 2.5,
                note=f"batched takes {batched / single:.2f}x one pass")
        )  # fmt: skip
    return rows
