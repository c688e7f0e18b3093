"""The models the X-ray exercises are graded on, built the same way wherever a grader runs.

The notebook's graders and the autograder's worker (which runs the students' answers and
cannot see :mod:`medinterp.grading`) both build them from here, so a model named by the
trusted side is the same model next to the student's code.
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = [
    "NONSQUARE_LABELS",
    "NONSQUARE_SEED",
    "NONSQUARE_SHAPE",
    "nonsquare_model",
    "shipped_model",
]

NONSQUARE_SHAPE = (40, 56, 3)
NONSQUARE_LABELS = ("class 0", "class 1", "class 2")
NONSQUARE_SEED = 14


@cache
def shipped_model():
    """The shipped phantom classifier, loaded once per kernel."""
    from medinterp.xray import load_xray_model

    return load_xray_model()


@cache
def nonsquare_model():
    """A small functional CNN on 40 x 56 inputs with fixed random weights (seeded)."""
    import keras
    from keras import layers

    inputs = keras.Input(NONSQUARE_SHAPE, name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="conv_a")(inputs)  # 20 x 28
    x = layers.Activation("relu", name="relu_a")(x)
    x = layers.Conv2D(12, 3, strides=2, padding="same", name="conv_b")(x)  # 10 x 14
    x = layers.Activation("relu", name="relu_b")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(len(NONSQUARE_LABELS), activation="sigmoid", name="scores")(x)
    model = keras.Model(inputs, outputs, name="nonsquare_grading_model")
    rng = np.random.default_rng(NONSQUARE_SEED)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])
    return model
