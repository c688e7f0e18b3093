"""The chest X-ray model and image loading, for phantoms and for real NIH radiographs.

- :func:`build_xray_model` and :func:`load_xray_model`: the small DenseNet-style network the
  package trains on phantoms and ships (``.weights.h5`` with a sha256 check).
- :func:`preprocess`: phantom or radiograph arrays to the model's input batch.
- :func:`load_image`, :func:`load_image_normalize`, :func:`get_mean_std_per_batch`: the
  course's file helpers, which work on real NIH ChestX-ray14 PNGs.
- :func:`densenet121_model`: ``keras.applications.DenseNet121`` with the 14-label head, for
  users who bring their own NIH data and weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from medinterp.data import assets_dir
from medinterp.labels import LABELS

__all__ = [
    "build_xray_model",
    "load_xray_model",
    "model_metadata",
    "preprocess",
    "read_image",
    "load_image",
    "load_image_normalize",
    "get_mean_std_per_batch",
    "image_column",
    "densenet121_model",
    "WeightsHashError",
]

INPUT_SIZE = 128
GROWTH_RATE = 16
DENSE_BLOCKS = (4, 8)
_BN_EPSILON = 1.001e-5  # as in keras.applications.DenseNet121

# The shipped models, by name: ``standard`` learns the findings; ``shortcut`` was trained
# where chest drains follow the Pneumothorax label and learns the drain (notebook 04).
VARIANTS = {"standard": "xray_densenet", "shortcut": "xray_densenet_shortcut"}
_WEIGHTS_SUFFIX = ".weights.h5"


def build_xray_model(input_size: int = INPUT_SIZE, num_labels: int = len(LABELS)):
    """The course's phantom classifier: a small DenseNet with DenseNet121's layer names.

    ``conv1`` (7x7, stride 2) and ``pool1`` (max-pool) bring 128 px down to 32; dense block
    ``conv2`` (4 layers), transition ``pool2`` (to 16 px), dense block ``conv3`` (8 layers)
    end in ``conv3_block8_concat``; then ``bn``, ``relu``, ``avg_pool`` and
    ``predictions`` (14 sigmoids). The last spatial map is 16x16, fine enough for GradCAM to
    point at a lesion. Weights are random; see :func:`load_xray_model` for trained ones.
    """
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, 3), name="input_layer")
    x = layers.Conv2D(32, 7, strides=2, padding="same", use_bias=False, name="conv1_conv")(inputs)
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for block_number, num_layers in enumerate(DENSE_BLOCKS, start=2):
        for layer_number in range(1, num_layers + 1):
            x = _conv_block(x, f"conv{block_number}_block{layer_number}")
        if block_number < len(DENSE_BLOCKS) + 1:
            x = _transition(x, f"pool{block_number}")
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_labels, activation="sigmoid", name="predictions")(x)
    return keras.Model(inputs, outputs, name="xray_densenet")


def _conv_block(x, name):
    from keras import layers

    y = layers.BatchNormalization(epsilon=_BN_EPSILON, name=name + "_0_bn")(x)
    y = layers.Activation("relu", name=name + "_0_relu")(y)
    y = layers.Conv2D(4 * GROWTH_RATE, 1, use_bias=False, name=name + "_1_conv")(y)
    y = layers.BatchNormalization(epsilon=_BN_EPSILON, name=name + "_1_bn")(y)
    y = layers.Activation("relu", name=name + "_1_relu")(y)
    y = layers.Conv2D(GROWTH_RATE, 3, padding="same", use_bias=False, name=name + "_2_conv")(y)
    return layers.Concatenate(name=name + "_concat")([x, y])


def _transition(x, name):
    from keras import layers

    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name=name + "_bn")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    x = layers.Conv2D(x.shape[-1] // 2, 1, use_bias=False, name=name + "_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


class WeightsHashError(ValueError):
    """A weights file does not match the sha256 recorded for it."""


def _check_variant(variant) -> str:
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}. Valid variants: {list(VARIANTS)}")
    return variant


def weights_file(variant: str = "standard") -> str:
    """File name of a shipped model's weights, e.g. ``xray_densenet.weights.h5``."""
    return VARIANTS[_check_variant(variant)] + _WEIGHTS_SUFFIX


def metadata_path(weights_path) -> Path:
    """The metadata file that goes with a weights file: ``NAME.weights.h5`` -> ``NAME.json``."""
    path = Path(weights_path)
    stem = path.name.removesuffix(_WEIGHTS_SUFFIX).removesuffix(".h5")
    return path.with_name(stem + ".json")


WEIGHTS_FILE = weights_file("standard")
METADATA_FILE = metadata_path(WEIGHTS_FILE).name


def model_metadata(folder=None, variant: str = "standard") -> dict:
    """What a model was trained with: input size, labels, mean/std, weights hash.

    Parameters
    ----------
    folder : path-like, optional
        Folder holding the weights and their metadata; by default the shipped models'.
    variant : {"standard", "shortcut"}, default="standard"
        Which model's metadata file to read.
    """
    folder = Path(folder) if folder else assets_dir()
    return json.loads(metadata_path(folder / weights_file(variant)).read_text())


def weights_metadata(weights_path, variant: str = "standard") -> dict:
    """The metadata a weights file is checked against: the file beside it with the same
    name (``NAME.json``), else ``xray_densenet.json`` beside it, else the shipped
    ``variant``'s."""
    path = Path(weights_path)
    for candidate in (metadata_path(path), path.parent / METADATA_FILE):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return model_metadata(variant=variant)


def load_xray_model(weights_path=None, variant: str = "standard"):
    """A trained phantom classifier (Keras 3 functional model).

    Parameters
    ----------
    weights_path : path-like, optional
        A ``.weights.h5`` file; by default the shipped weights of ``variant``. Its sha256
        must match the one recorded in the metadata file beside it (``NAME.json`` for
        ``NAME.weights.h5``, as ``python -m medinterp.train_xray`` writes it), or else in
        the shipped metadata.
    variant : {"standard", "shortcut"}, default="standard"
        ``"standard"`` is the course's model. ``"shortcut"`` is the same network trained
        on phantoms where chest drains follow the Pneumothorax label: it learned the drain
        (see :mod:`medinterp.shortcut`).

    Raises
    ------
    ValueError
        ``variant`` is not one of :data:`VARIANTS`.
    FileNotFoundError
        The weights file is missing.
    WeightsHashError
        The weights file is corrupt or not the shipped one.
    """
    _check_variant(variant)
    path = Path(weights_path) if weights_path else assets_dir() / weights_file(variant)
    if not path.is_file():
        raise FileNotFoundError(
            f"No weights file at {path}. Train them with `python -m medinterp.train_xray` "
            "(or `make model`)."
        )
    metadata = weights_metadata(path, variant)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != metadata["weights_sha256"]:
        raise WeightsHashError(
            f"{path} does not match the recorded sha256 and was not loaded.\n"
            f"  expected: {metadata['weights_sha256']}\n  got:      {actual}"
        )
    model = build_xray_model(metadata["input_size"], len(metadata["labels"]))
    model.load_weights(path)
    return model


def preprocess(images, mean=None, std=None, size=None) -> np.ndarray:
    """Map images to the model's input batch: resize, 3 channels, normalise.

    Parameters
    ----------
    images : array-like, shape (n, H, W) or (n, H, W, C) with C in {1, 3}
        uint8 or float pixel values on the 0..255 scale.
    mean, std : float, optional
        Normalisation; by default the shipped model's training-set values.
    size : int, optional
        Output height and width; by default the shipped model's input size.

    Returns
    -------
    numpy.ndarray of float32, shape (n, size, size, 3)
    """
    images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise TypeError(f"images must hold pixel values (numbers), got dtype {images.dtype}")
    if images.ndim == 3 and images.shape[-1] in (1, 3) and images.shape[0] > 3:
        # (H, W, 3) read as H images of W x 3 pixels would be silently wrong.
        raise ValueError(
            f"images of shape {images.shape} look like one (H, W, C) image, not a batch; "
            "pass images[np.newaxis] for a batch of one"
        )
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "images must have shape (n, H, W) or (n, H, W, C) with C = 1 or 3 channels, "
            f"got {images.shape}"
        )
    if not np.isfinite(images).all():
        raise ValueError(
            f"images hold {int((~np.isfinite(images)).sum())} NaN or infinite pixel(s)"
        )
    if mean is None or std is None or size is None:
        metadata = model_metadata()
        mean = metadata["mean"] if mean is None else mean
        std = metadata["std"] if std is None else std
        size = metadata["input_size"] if size is None else size
    _check_normalisation(mean, std)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer (pixels), got {size!r}")
    batch = np.empty((len(images), size, size, 3), np.float32)
    for i, image in enumerate(images):
        resized = cv2.resize(image.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        batch[i] = resized[..., np.newaxis] if resized.ndim == 2 else resized
    return (batch - mean) / std


def read_image(path) -> np.ndarray:
    """Read an image file as float32 pixels, ``(H, W)`` for grayscale or ``(H, W, 3)`` RGB."""
    path = Path(path)
    if not path.is_file():
        folder = path.parent
        nearby = sorted(p.name for p in folder.glob("*"))[:5] if folder.is_dir() else []
        raise FileNotFoundError(
            f"No file {path.name!r} in folder {folder}"
            + (f" (it holds e.g. {nearby})" if nearby else " (the folder does not exist)")
        )
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError(f"{path} is not an image OpenCV can read (PNG, JPEG, ...)")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 3:
        if pixels.shape[2] != 3:
            raise ValueError(
                f"{path} has {pixels.shape[2]} channels; expected 1 (grayscale) or 3 (RGB)"
            )
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if pixels.dtype == np.uint16:  # 16-bit PNGs: bring to the 0..255 scale of 8-bit files
        pixels = pixels / 257.0
    return pixels.astype(np.float32)


def load_image(path, H: int = 320, W: int = 320) -> np.ndarray:
    """Load an image file resized to ``(H, W, 3)`` float32 on the 0..255 scale (the course's
    ``load_image(..., preprocess=False)``)."""
    _check_size(H, W)
    pixels = cv2.resize(read_image(path), (W, H), interpolation=cv2.INTER_AREA)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., np.newaxis], 3, axis=2)
    return pixels


def image_column(df) -> str:
    """The column of ``df`` that names the image files: ``Image`` (the course's) or NIH's
    ``Image Index``."""
    for column in ("Image", "Image Index"):
        if column in df.columns:
            return column
    raise ValueError(
        f"The DataFrame needs an 'Image' (or NIH 'Image Index') column; it has {list(df.columns)}"
    )


def get_mean_std_per_batch(image_dir, df, H: int = 320, W: int = 320, sample_size: int = 100):
    """Mean and standard deviation of the pixels of up to ``sample_size`` images of ``df``.

    Like the course's helper, a sample of the training images stands in for the whole set.
    The sample is the first ``sample_size`` rows, so the result is reproducible.
    """
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)):
        raise TypeError(f"sample_size must be a positive integer, got {sample_size!r}")
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1, got {sample_size}")
    names = df[image_column(df)].iloc[:sample_size]
    if len(names) == 0:
        raise ValueError("df has no rows: no images to compute a mean and std from")
    pixels = np.stack([load_image(Path(image_dir) / name, H, W) for name in names])
    return float(pixels.mean()), float(pixels.std())


def _check_normalisation(mean, std) -> None:
    for name, value in (("mean", mean), ("std", std)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")


def _check_size(H, W) -> None:
    for name, value in (("H", H), ("W", W)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer (pixels), got {value!r}")


def load_image_normalize(path, mean: float, std: float, H: int = 320, W: int = 320):
    """Load an image file as a normalised batch of one: ``(1, H, W, 3)`` float32."""
    _check_normalisation(mean, std)
    return ((load_image(path, H, W) - mean) / std)[np.newaxis]


def densenet121_model(weights_path=None, input_size: int = 320, num_labels: int = len(LABELS)):
    """DenseNet121 (random weights) with the course's 14-label head, for real NIH data.

    The course's layer ``conv5_block16_concat`` gives a ``(10, 10, 1024)`` map for a
    320x320 input. Nothing is downloaded: pass ``weights_path`` to load your own
    ``.weights.h5`` (for example from training on ChestX-ray14).
    """
    import keras

    base = keras.applications.DenseNet121(
        weights=None, include_top=False, input_shape=(input_size, input_size, 3)
    )
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    predictions = keras.layers.Dense(num_labels, activation="sigmoid", name="predictions")(pooled)
    model = keras.Model(base.inputs, predictions, name="densenet121_chestxray")
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"No weights file {path.name!r} in folder {path.parent}")
        model.load_weights(path)
    return model
