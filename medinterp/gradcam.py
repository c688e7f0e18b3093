"""GradCAM for Keras 3 models: hooks, gradients, single and batched multi-label CAMs.

The pieces the course teaches one by one are public:

1. :func:`activation_model`, the "hook": a model returning ``[layer output, predictions]``.
2. :func:`grad_cam`: the gradient of one class score with respect to that layer's maps
   (``tf.GradientTape``), averaged over positions into one weight per channel, the weighted
   sum of the maps, ReLU, resize to the input, divide by the maximum.
3. :class:`GradCAM`: the same for many images and classes at once, with the hook built once
   and the gradient step compiled with ``tf.function``.

Scoring a map against ground truth is in :mod:`medinterp.localization`, the randomisation
sanity check in :mod:`medinterp.sanity`, and drawing in :mod:`medinterp.display.gradcam`.
"""

from __future__ import annotations

import weakref

import cv2
import numpy as np

from medinterp.labels import LABELS

__all__ = [
    "SCORES",
    "activation_model",
    "conv_layer_names",
    "last_conv_layer",
    "grad_cam",
    "GradCAM",
]

_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_logit_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# --- hooks ----------------------------------------------------------------------------


def _walk_layers(model):
    """Every layer of ``model``, nested models' layers included, in graph order."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk_layers(layer)


def _is_spatial(layer) -> bool:
    import keras

    if isinstance(layer, keras.layers.InputLayer):
        return False
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):  # a layer never called on a symbolic input
        return False


def _check_built(model):
    try:
        model.inputs  # noqa: B018 - Sequential models without an Input raise here
    except (AttributeError, ValueError):
        raise ValueError(
            f"Model {model.name!r} has no defined input: build it with keras.Input(shape=...) "
            "or call it on a batch first"
        ) from None
    if not model.inputs:
        raise ValueError(f"Model {model.name!r} has no defined input")


def conv_layer_names(model) -> list[str]:
    """Names of the layers whose output is a spatial ``(batch, h, w, channels)`` map.

    Layers of nested models (e.g. DenseNet121 inside a classifier) are included.
    """
    _check_built(model)
    return [layer.name for layer in _walk_layers(model) if _is_spatial(layer)]


def last_conv_layer(model) -> str:
    """The last layer with a 4-D output: the usual GradCAM layer, just before pooling."""
    names = conv_layer_names(model)
    if not names:
        raise ValueError(f"Model {model.name!r} has no layer with a spatial (4-D) output")
    return names[-1]


def _find_layer(model, layer_name):
    """Return (top-level layer of ``model`` that holds it, the layer itself)."""
    for top in model.layers:
        if top.name == layer_name:
            return top, top
        if hasattr(top, "layers") and any(lay.name == layer_name for lay in _walk_layers(top)):
            return top, next(lay for lay in _walk_layers(top) if lay.name == layer_name)
    return None, None


def activation_model(model, layer_name: str):
    """A model with the same input that returns ``[layer output, model output]``.

    Works for functional and Sequential models, and for a layer inside a base model nested
    in a wrapper (the three places where the usual ``Model(model.inputs,
    [model.get_layer(name).output, model.output])`` recipe breaks in Keras 3). Hooks are
    cached per model and layer.

    Raises
    ------
    ValueError
        Unknown layer (the message lists the valid conv layer names), or a layer whose
        output is not a spatial map.
    """
    import keras

    _check_built(model)
    cache = _hooks.setdefault(model, {})
    if layer_name in cache:
        return cache[layer_name]
    valid = conv_layer_names(model)
    holder, layer = _find_layer(model, layer_name)
    if layer is None:
        raise ValueError(f"Unknown layer {layer_name!r}. Valid conv layer names: {valid}")
    if layer_name not in valid:
        raise ValueError(
            f"Layer {layer_name!r} has output shape {tuple(layer.output.shape)}, not a spatial "
            f"(batch, height, width, channels) map. Valid conv layer names: {valid}"
        )
    if holder is layer:
        hook = keras.Model(model.inputs[0], [layer.output, model.outputs[0]])
    else:
        hook = _nested_hook(model, holder, layer_name)
    cache[layer_name] = hook
    return hook


def _nested_hook(model, holder, layer_name):
    """Rebuild ``model`` around ``holder`` so that a layer inside it is an output too."""
    import keras

    inner = activation_model(holder, layer_name)
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
    x, maps = inputs, None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer is holder:
            maps, x = inner(x)
        else:
            x = layer(x)
    hook = keras.Model(inputs, [maps, x])
    # Replaying the layers in order is right only for a chain of layers: check it.
    probe = np.random.default_rng(0).normal(size=(1, *inputs.shape[1:])).astype("float32")
    if not np.allclose(hook(probe)[1], model(probe), atol=1e-5):
        raise ValueError(
            f"Cannot hook {layer_name!r} inside {holder.name!r}: the wrapper {model.name!r} is "
            "not a simple chain of layers. Hook the nested model directly instead."
        )
    return hook


# --- validation -----------------------------------------------------------------------


def _input_shape(model):
    return tuple(model.inputs[0].shape[1:])


def _check_images(model, images, single=False):
    raw = np.asarray(images)
    if raw.dtype.kind in "iub":
        raise ValueError(
            f"image has integer dtype {raw.dtype}: it looks like raw pixels (0..255). The model "
            "expects a normalised float batch; use medinterp.xray.preprocess"
        )
    if raw.dtype.kind != "f":
        raise TypeError(f"image must be a float array, got dtype {raw.dtype}")
    images = raw.astype(np.float32, copy=False)
    if not np.isfinite(images).all():
        raise ValueError(
            f"image has {int((~np.isfinite(images)).sum())} NaN or infinite value(s); "
            "a map of such an input means nothing"
        )
    expected = _input_shape(model)
    expected_text = f"(n, {', '.join(str(d) for d in expected)})"
    if images.ndim != len(expected) + 1:
        raise ValueError(
            f"image must be a batch of shape {expected_text.replace('n', '1' if single else 'n')}"
            f", got rank {images.ndim} with shape {images.shape}"
        )
    if any(e is not None and e != g for e, g in zip(expected, images.shape[1:], strict=True)):
        raise ValueError(
            f"image has shape {images.shape}; the model expects {expected_text} "
            "(resize and normalise it with medinterp.xray.preprocess)"
        )
    if single and images.shape[0] != 1:
        raise ValueError(
            f"grad_cam explains one image: batch size must be 1, got {images.shape[0]}. "
            "Use GradCAM for a batch."
        )
    if len(images) == 0:
        raise ValueError("images is an empty batch")
    return images


def _check_category(model, category_index):
    num_outputs = model.outputs[0].shape[-1]
    if isinstance(category_index, (bool, np.bool_)) or not isinstance(
        category_index, (int, np.integer)
    ):
        raise TypeError(
            f"category_index must be an integer in 0..{num_outputs - 1}, got {category_index!r}"
            + (
                " (use LABELS.index(name) for a label name)"
                if isinstance(category_index, str)
                else ""
            )
        )
    if not 0 <= category_index < num_outputs:
        names = (
            f" ({', '.join(f'{i}: {n}' for i, n in enumerate(LABELS))})"
            if num_outputs == len(LABELS)
            else ""
        )
        raise ValueError(
            f"category_index {category_index} is out of range: the model has {num_outputs} "
            f"outputs, 0..{num_outputs - 1}{names}"
        )
    return int(category_index)


# --- computation ----------------------------------------------------------------------


def _finish(cams, height, width):
    """ReLU'd maps ``(..., h, w)`` -> resized to the input and divided by their maximum."""
    flat = cams.reshape(-1, *cams.shape[-2:])
    out = np.empty((len(flat), height, width), np.float32)
    for i, cam in enumerate(flat):
        resized = cv2.resize(
            cam.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        peak = resized.max()
        # An all-zero map (no positive evidence) stays zero rather than 0/0 = NaN.
        out[i] = resized / peak if peak > 0 else 0.0
    return out.reshape(*cams.shape[:-2], height, width)


SCORES = ("probability", "logit")


def _logit_layer(model):
    """The model's output layer, when it is a dense layer with a sigmoid: the logit is its
    output before the sigmoid."""
    import keras

    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if not isinstance(last, keras.layers.Dense) or activation != "sigmoid":
        raise ValueError(
            f"score='logit' needs a model whose last layer is a Dense layer with a sigmoid; "
            f"{model.name!r} ends with {type(last).__name__} {last.name!r}. "
            "Use score='probability'"
        )
    return last


def _logit_model(model):
    """``model`` with its output layer's sigmoid left out: the same weights, logits out."""
    import keras

    if model not in _logit_models:
        head = _logit_layer(model)

        class Logit(keras.layers.Layer):
            """The output layer's affine part, on its own kernel and bias (shared)."""

            def call(self, features):
                return keras.ops.matmul(features, head.kernel) + head.bias

        _logit_models[model] = keras.Model(
            model.inputs[0], Logit(name=f"{head.name}_logit")(head.input)
        )
    return _logit_models[model]


def grad_cam(model, image, category_index: int, layer_name: str, score: str = "probability"):
    """GradCAM of one image for one class, the course's signature.

    Parameters
    ----------
    model : keras.Model
    image : array of shape (1, H, W, 3)
        Preprocessed (normalised) input.
    category_index : int
        Output unit to explain, e.g. ``LABELS.index("Cardiomegaly")``.
    layer_name : str
        A layer with a spatial output (see :func:`conv_layer_names`).
    score : {"probability", "logit"}, default="probability"
        What is differentiated: the class's probability (the course's choice), or its logit,
        the score before the sigmoid (Selvaraju et al.'s choice). Where the sigmoid saturates
        (p near 0 or 1) its slope, and with it the probability's gradient and map, vanishes;
        the logit's does not. Needs a model ending in a dense layer with a sigmoid.

    Returns
    -------
    numpy.ndarray of shape (H, W), float32 in [0, 1]
    """
    import tensorflow as tf

    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    image = _check_images(model, image, single=True)
    category_index = _check_category(model, category_index)
    explained = _logit_model(model) if score == "logit" else model
    hook = activation_model(explained, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image, training=False)
        class_score = outputs[:, category_index]
    gradients = tape.gradient(class_score, maps)[0]  # (h, w, channels)
    weights = tf.reduce_mean(gradients, axis=(0, 1))  # one weight per channel
    cam = tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1)).numpy()
    return _finish(cam, *image.shape[1:3])


class GradCAM:
    """Batched GradCAM: ``(n, k, H, W)`` maps for n images and k classes in one pass.

    The hook is built once; the gradient step (one forward pass, then the k class scores'
    gradients with respect to the layer's maps as one vectorised Jacobian) is compiled with
    ``tf.function`` on first use, so later calls cost little more than a forward pass.

    Parameters
    ----------
    model : keras.Model
    layer_name : str, optional
        Default: :func:`last_conv_layer`.

    Attributes
    ----------
    predictions : numpy.ndarray or None
        The model's outputs for the last batch explained.
    """

    def __init__(self, model, layer_name: str | None = None):
        import tensorflow as tf

        self.model = model
        self.layer_name = layer_name or last_conv_layer(model)
        self.hook = activation_model(model, self.layer_name)
        self.predictions = None
        signature = (
            tf.TensorSpec((None, *_input_shape(model)), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        )
        self._step = tf.function(self._relu_cams, input_signature=signature)

    @classmethod
    def for_model(cls, model, layer_name: str | None = None) -> GradCAM:
        """A shared engine per model and layer, so its compiled step is traced only once."""
        engines = _engines.setdefault(model, {})
        key = layer_name or last_conv_layer(model)
        if key not in engines:
            engines[key] = cls(model, key)
        return engines[key]

    def _relu_cams(self, images, class_indices):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            maps, predictions = self.hook(images, training=False)
            scores = tf.gather(predictions, class_indices, axis=1)  # (n, k)
        jacobian = tape.batch_jacobian(scores, maps)  # (n, k, h, w, channels)
        weights = tf.reduce_mean(jacobian, axis=(2, 3))  # (n, k, channels)
        cams = tf.einsum("nhwc,nkc->nkhw", maps, weights)
        return tf.nn.relu(cams), predictions

    def __call__(self, images, class_indices):
        """Maps for every image and class: ``(n, k, H, W)`` float32 in [0, 1]."""
        images = _check_images(self.model, images)
        if np.ndim(class_indices) == 0:
            class_indices = [class_indices]
        indices = [_check_category(self.model, c) for c in class_indices]
        if not indices:
            raise ValueError("class_indices is empty: give at least one class to explain")
        cams, predictions = self._step(images, np.asarray(indices, np.int32))
        self.predictions = predictions.numpy()
        return _finish(cams.numpy(), *images.shape[1:3])
