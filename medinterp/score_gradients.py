"""The class score a saliency map explains, and its gradients, compiled once per model.

- :func:`score_model`: the model up to the logit, before the sigmoid (a probability near 0
  or 1 has a vanishing gradient);
- :class:`ScoreGradients` (one per model, :func:`score_gradients`): the scores' gradients
  with respect to the input, and GradCAM++'s maps from the gradients with respect to a
  layer's maps, for many images and classes at once (one forward pass and a vectorised
  Jacobian, ``tape.batch_jacobian``, per chunk of inputs).
"""

from __future__ import annotations

import weakref

import numpy as np

from medinterp.gradcam import activation_model

__all__ = ["score_model", "ScoreGradients", "score_gradients"]

# Inputs per vectorised Jacobian: bounds memory to about chunk x classes x one image's size.
_CHUNK = 16
_score_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def score_model(model):
    """A model with ``model``'s input and weights that returns the class scores (logits).

    When ``model`` ends in a Dense layer with a sigmoid or softmax, the score model stops
    just before that activation, sharing the layer's live weights; any other model is its
    own score model. Built once per model.
    """
    import keras

    if model in _score_models:
        return _score_models[model]
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Dense) and activation in (
        keras.activations.sigmoid,
        keras.activations.softmax,
    ):
        scores = _logits(last)(last.input)
        scored = keras.Model(model.inputs[0], scores, name=f"{model.name}_scores")
    else:
        scored = model
    _score_models[model] = scored
    return scored


def _logits(dense):
    """A layer computing ``dense``'s affine part with ``dense``'s own (shared) weights."""
    import keras

    class Logits(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense

        def call(self, inputs):
            scores = keras.ops.matmul(inputs, self.dense.kernel)
            return scores + self.dense.bias if self.dense.use_bias else scores

    return Logits(name=f"{dense.name}_logits")


class ScoreGradients:
    """Compiled gradient steps of one score model (traced once, reused for every batch)."""

    def __init__(self, scores):
        import tensorflow as tf

        self.scores = scores
        shape = tuple(scores.inputs[0].shape[1:])
        signature = (
            tf.TensorSpec((None, *shape), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        )
        self._input = tf.function(self._input_jacobian, input_signature=signature)
        self._plus_plus: dict = {}
        self._forward = tf.function(
            lambda images: scores(images, training=False), input_signature=signature[:1]
        )

    def _input_jacobian(self, images, classes):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(images)
            scores = tf.gather(self.scores(images, training=False), classes, axis=1)
        return tape.batch_jacobian(scores, images), scores

    def input_gradients(self, images, classes):
        """``(n, k, H, W, C)`` gradients of the k class scores, and the ``(n, k)`` scores."""
        gradients, scores = [], []
        for start in range(0, len(images), _CHUNK):
            g, s = self._input(images[start : start + _CHUNK], np.asarray(classes, np.int32))
            gradients.append(g.numpy())
            scores.append(s.numpy())
        return np.concatenate(gradients), np.concatenate(scores)

    def gradcam_plus_plus(self, images, classes, layer_name):
        """GradCAM++'s class maps ``(n, k, h, w)`` at the layer's resolution, before ReLU.

        The weights are computed inside the compiled step, in float32: the ``(n, k, h, w,
        c)`` Jacobian never leaves TensorFlow. Copying it to NumPy and reducing it there in
        float64 took most of the method's time, and more while TensorFlow's thread pools
        were busy (1.8x tf-keras-vis's speed in `make bench`, the goal being 2x).
        """
        if layer_name not in self._plus_plus:
            self._plus_plus[layer_name] = self._gradcam_plus_plus_step(layer_name)
        step = self._plus_plus[layer_name]
        classes = np.asarray(classes, np.int32)
        return np.concatenate(
            [step(images[start : start + _CHUNK], classes).numpy()
             for start in range(0, len(images), _CHUNK)]
        )  # fmt: skip

    def _gradcam_plus_plus_step(self, layer_name):
        import tensorflow as tf

        hook = activation_model(self.scores, layer_name)

        def step(images, classes):
            with tf.GradientTape() as tape:
                maps, scores = hook(images, training=False)
                chosen = tf.gather(scores, classes, axis=1)
            gradients = tape.batch_jacobian(chosen, maps)  # (n, k, h, w, c)
            positive = tf.nn.relu(gradients)
            # Chattopadhay et al.'s alpha * relu(g), alpha = g^2 / (2 g^2 + sum(A) g^3), is
            # g / (2 + sum(A) g) where g > 0 and 0 elsewhere: no cube of a 5-D array.
            totals = tf.reduce_sum(maps, axis=(1, 2))[:, None, None, None]  # (n, 1, 1, 1, c)
            ratios = tf.math.divide_no_nan(positive, 2 + totals * positive)
            weights = tf.reduce_sum(ratios, axis=(2, 3))  # (n, k, c)
            return tf.einsum("nhwc,nkc->nkhw", maps, weights)

        return tf.function(step, input_signature=self._input.input_signature)

    def forward(self, images):
        return np.concatenate(
            [
                self._forward(images[start : start + 4 * _CHUNK]).numpy()
                for start in range(0, len(images), 4 * _CHUNK)
            ]
        )


def score_gradients(model) -> ScoreGradients:
    scores = score_model(model)
    if scores not in _engines:
        _engines[scores] = ScoreGradients(scores)
    return _engines[scores]
