"""GradCAM for Keras 3 models: hooks, gradients, single and batched multi-label CAMs.

The pieces the course teaches one by one are public:

1. :func:`activation_model`, the "hook": a model returning ``[layer output, predictions]``.
2. :func:`grad_cam`: the gradient of one class score with respect to that layer's maps
   (``tf.GradientTape``), averaged over positions into one weight per channel, the weighted
   sum of the maps, ReLU, resize to the input, divide by the maximum.
3. :class:`GradCAM`: the same for many images and classes at once, with the hook built once
   and the gradient step compiled with ``tf.function``.

Scoring against ground truth (:func:`pointing_game`, :func:`pointing_ceiling`,
:func:`peak_distance`, :func:`energy_in_mask`, :func:`evaluate_localization`) and the
model-randomisation sanity check (:func:`randomize_weights`, :func:`sanity_check`) live here
too. Drawing is in :mod:`medinterp.gradcam_display`.
"""

from __future__ import annotations

import weakref

import cv2
import numpy as np
import pandas as pd

from medinterp import LABELS

_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_peak_cache: dict[tuple, np.ndarray] = {}


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
    images = np.asarray(images, dtype=np.float32)
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


def grad_cam(model, image, category_index: int, layer_name: str):
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

    Returns
    -------
    numpy.ndarray of shape (H, W), float32 in [0, 1]
    """
    import tensorflow as tf

    image = _check_images(model, image, single=True)
    category_index = _check_category(model, category_index)
    hook = activation_model(model, layer_name)
    with tf.GradientTape() as tape:
        maps, predictions = hook(image, training=False)
        score = predictions[:, category_index]
    gradients = tape.gradient(score, maps)[0]  # (h, w, channels)
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


# --- scoring --------------------------------------------------------------------------


def _check_pair(cam, mask):
    cam, mask = np.asarray(cam), np.asarray(mask, dtype=bool)
    if cam.shape != mask.shape or cam.ndim != 2:
        raise ValueError(
            f"cam and mask must be 2-D with the same shape, got {cam.shape} and {mask.shape}"
        )
    return cam, mask


def pointing_game(cam, mask) -> bool:
    """True when the cam's maximum lies inside the mask (a map of zeros points nowhere)."""
    cam, mask = _check_pair(cam, mask)
    if not np.any(cam > 0):
        return False
    return bool(mask.flat[np.argmax(cam)])


def reachable_peaks(grid_shape, input_shape, output_shape) -> np.ndarray:
    """Where the maximum of a ``grid_shape`` map can land after upsampling, as a bool image.

    A GradCAM map is computed on the layer's grid, resized (bilinear) to the input and then
    to ``output_shape``. Bilinear interpolation never exceeds the grid values around it, so
    the maximum of any map sits next to one grid node: one pixel per node. A finding whose
    mask holds none of those pixels cannot win the pointing game at that resolution.
    """
    key = tuple(int(v) for v in (*grid_shape, *input_shape, *output_shape))
    if key not in _peak_cache:
        rows, columns = key[:2]
        (in_h, in_w), (out_h, out_w) = key[2:4], key[4:6]
        peaks = np.zeros((out_h, out_w), bool)
        for node in range(rows * columns):
            one_hot = np.zeros((rows, columns), np.float32)
            one_hot.flat[node] = 1.0
            at_input = cv2.resize(one_hot, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
            at_output = cv2.resize(at_input, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
            peaks.flat[np.argmax(at_output)] = True
        peaks.flags.writeable = False
        _peak_cache[key] = peaks
    return _peak_cache[key]


def pointing_ceiling(mask, grid_shape, input_shape) -> bool:
    """True when some map on ``grid_shape`` could point inside ``mask`` (see
    :func:`reachable_peaks`): the best any GradCAM at that layer's resolution can do."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return bool(np.any(mask & reachable_peaks(grid_shape, input_shape, mask.shape)))


def peak_distance(cam, mask) -> float:
    """Distance in pixels from the cam's maximum to the nearest mask pixel (0 for a hit).

    An all-zero cam points nowhere: its distance is infinite, as :func:`pointing_game` calls
    it a miss.
    """
    cam, mask = _check_pair(cam, mask)
    if not mask.any():
        raise ValueError("mask is empty: there is no finding to measure the distance to")
    if not np.any(cam > 0):
        return float("inf")
    outside = (~mask).astype(np.uint8)
    return float(
        cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE).flat[np.argmax(cam)]
    )


def energy_in_mask(cam, mask) -> float:
    """Share of the cam's total mass that falls inside the mask (0 for an all-zero cam)."""
    cam, mask = _check_pair(cam, mask)
    total = float(np.clip(cam, 0, None).sum())
    return float(np.clip(cam, 0, None)[mask].sum() / total) if total > 0 else 0.0


def evaluate_localization(
    model,
    n: int = 500,
    seed: int | None = None,
    layer_name: str | None = None,
    batch_size: int = 32,
    progress: bool = True,
) -> pd.DataFrame:
    """Score GradCAM against phantom ground truth, per label.

    For every present finding in ``n`` fresh phantoms, the label's GradCAM is upsampled to
    the mask's resolution and scored.

    Returns
    -------
    pandas.DataFrame indexed by label
        ``cases``; ``pointing_game``: share of cases whose cam maximum is in the mask;
        ``ceiling``: share that any map at the layer's resolution could hit
        (:func:`pointing_ceiling`); ``within_one_cell``: share whose maximum is in the mask
        or less than one layer cell away from it (:func:`peak_distance`);
        ``energy_in_mask``: mean share of cam mass in the mask; ``mask_area``: mean share of
        the image the mask covers (the energy a uniform map would get). A last row,
        ``overall``, pools all cases.
    """
    from tqdm.auto import tqdm

    from medinterp import phantoms
    from medinterp.xray import model_metadata, preprocess

    seed = phantoms.EVALUATION_SEED if seed is None else seed
    metadata = model_metadata()
    engine = GradCAM.for_model(model, layer_name)
    input_shape = _input_shape(model)[:2]
    grid_shape = tuple(engine.hook.outputs[0].shape[1:3])
    cell = max(phantoms.SIZE / grid_shape[0], phantoms.SIZE / grid_shape[1])  # in mask pixels
    rows = []
    for start in tqdm(range(0, n, batch_size), desc="Scoring GradCAM", disable=not progress):
        count = min(batch_size, n - start)
        images, labels, masks = phantoms.generate(count, seed=seed, start=start)
        batch = preprocess(images, metadata["mean"], metadata["std"], input_shape[0])
        present = sorted(set(np.flatnonzero(labels.any(axis=0))))
        if not present:
            continue
        cams = engine(batch, present)
        for i in range(count):
            for j, label in enumerate(present):
                if not labels[i, label]:
                    continue
                mask = masks[i, label]
                cam = cv2.resize(cams[i, j], mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
                rows.append(
                    {
                        "label": LABELS[label],
                        "pointing_game": pointing_game(cam, mask),
                        "ceiling": pointing_ceiling(mask, grid_shape, input_shape),
                        "within_one_cell": peak_distance(cam, mask) <= cell,
                        "energy_in_mask": energy_in_mask(cam, mask),
                        "mask_area": float(mask.mean()),
                    }
                )
    scores = pd.DataFrame(rows)
    measures = [column for column in scores.columns if column != "label"]
    table = scores.groupby("label")[measures].mean()
    table.insert(0, "cases", scores.groupby("label").size())
    table = table.reindex([label for label in LABELS if label in table.index])
    overall = scores[measures].mean().to_frame("overall").T
    overall.insert(0, "cases", len(scores))
    return pd.concat([table, overall])


# --- sanity check ---------------------------------------------------------------------


def randomize_weights(model, from_layer: str, seed: int = 0):
    """A copy of ``model`` with every weight from ``from_layer`` upward re-initialised.

    The model-parameter randomisation test of Adebayo et al. (2018), cascading: the named
    layer and all layers after it (towards the output) get fresh weights; earlier layers
    keep theirs. Kernels are drawn Glorot-uniform from a seeded generator, batch-norm
    scales and variances set to 1, biases, offsets and means to 0. ``model`` is unchanged.
    """
    import keras

    names = [layer.name for layer in model.layers]
    if from_layer not in names:
        raise ValueError(f"Unknown layer {from_layer!r}. Valid layer names: {names}")
    rng = np.random.default_rng(seed)
    copy = keras.models.clone_model(model)
    start = names.index(from_layer)
    for index, (source, target) in enumerate(zip(model.layers, copy.layers, strict=True)):
        weights = source.get_weights()
        if index >= start:
            weights = [
                _fresh(variable.path, w.shape, rng)
                for variable, w in zip(source.weights, weights, strict=True)
            ]
        target.set_weights(weights)
    return copy


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

    cam_a, cam_b = np.asarray(cam_a).ravel(), np.asarray(cam_b).ravel()
    if cam_a.shape != cam_b.shape:
        raise ValueError(f"maps differ in size: {cam_a.size} and {cam_b.size}")
    if np.ptp(cam_a) == 0 or np.ptp(cam_b) == 0:
        return 0.0  # a constant map ranks nothing
    return float(spearmanr(cam_a, cam_b).statistic)


def sanity_check(model, image, category_index: int, from_layers, layer_name=None, seed=0):
    """CAM similarity to the trained model's after cascading randomisation from each layer.

    Returns a DataFrame with one row per entry of ``from_layers``: ``spearman`` between the
    trained model's map and the randomised model's map. A faithful explanation's similarity
    falls as more of the model is destroyed.
    """
    layer_name = layer_name or last_conv_layer(model)
    reference = grad_cam(model, image, category_index, layer_name)
    rows = []
    for from_layer in from_layers:
        randomized = randomize_weights(model, from_layer, seed=seed)
        cam = grad_cam(randomized, image, category_index, layer_name)
        rows.append({"randomized_from": from_layer, "spearman": cam_similarity(reference, cam)})
    return pd.DataFrame(rows).set_index("randomized_from")
