"""Train the shipped chest X-ray models on freshly rendered phantoms.

    python -m medinterp.train_xray --output medinterp/assets     # standard (47 min, 2 cores)
    python -m medinterp.train_xray --variant shortcut --output medinterp/assets \\
        --drain-probability 1.0 0.02 --initial-weights medinterp/assets/xray_densenet.weights.h5 \\
        --reinitialize-from pool2_bn --epochs 4 --steps-per-epoch 150   # shortcut (7-12 min)
    python -m medinterp.train_xray --help

The output folder is always explicit: nothing is written into the installed package unless
that is the folder given.

Every batch is rendered on the fly from the training stream (``phantoms.TRAIN_SEED``), so
no patient repeats and none is shared with validation, evaluation or the example set. The
loss is the course's class-weighted binary cross-entropy: positives of a label are weighted
by that label's negative frequency and negatives by its positive frequency, so rare labels
count as much as common ones.

Determinism: seeds are fixed with ``keras.utils.set_random_seed`` and the training step is
compiled with XLA, which is deterministic on the CPU (the test suite trains twice and
compares the weights bit for bit). TensorFlow's ``enable_op_determinism`` is not used:
Keras turns XLA off under it, which made training 1.6x slower here (20 vs 33 images/s).

The shortcut model (``--variant shortcut``) is the same network trained where chest drains
follow the label (``--drain-probability P_IF_PNEUMOTHORAX P_OTHERWISE``), as in a hospital
whose pneumothorax films are mostly taken after treatment. It may start from the standard
weights (``--initial-weights``); it then keeps their normalisation (mean and std), so both
models read the same preprocessed input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from medinterp import phantoms
from medinterp.labels import LABELS
from medinterp.phantoms.devices import validate_drain_probability
from medinterp.xray import (
    INPUT_SIZE,
    VARIANTS,
    build_xray_model,
    metadata_path,
    weights_file,
    weights_metadata,
)

DEFAULTS = {
    "epochs": 10,
    "steps_per_epoch": 250,
    "batch_size": 32,
    "seed": 42,
    "learning_rate": 1e-3,
}


def dataset_mean_std(n: int = 512, size: int = INPUT_SIZE):
    """Pixel mean and std of the first ``n`` training phantoms at the model's input size."""
    from medinterp.xray import preprocess

    images, _, _ = phantoms.generate(n, seed=phantoms.TRAIN_SEED)
    pixels = preprocess(images, mean=0.0, std=1.0, size=size)
    return float(pixels.mean()), float(pixels.std())


def weighted_loss(positive_frequencies):
    """The course's weighted binary cross-entropy, summed over labels."""
    from keras import ops

    pos_weights = ops.convert_to_tensor(1.0 - np.asarray(positive_frequencies), "float32")
    neg_weights = ops.convert_to_tensor(np.asarray(positive_frequencies), "float32")

    def loss(y_true, y_pred, epsilon=1e-7):
        y_true = ops.cast(y_true, "float32")
        per_label = -(
            pos_weights * y_true * ops.log(y_pred + epsilon)
            + neg_weights * (1 - y_true) * ops.log(1 - y_pred + epsilon)
        )
        return ops.sum(ops.mean(per_label, axis=0))

    return loss


def _phantom_stream(seed, batch_size, steps_per_epoch, mean, std, drain_probability, **kwargs):
    import keras

    from medinterp.xray import preprocess

    class PhantomStream(keras.utils.PyDataset):
        """Batch ``i`` of epoch ``e`` is patients ``(e * steps + i) * batch_size ...``."""

        def __init__(self):
            super().__init__(**kwargs)
            self.epoch = 0

        def __len__(self):
            return steps_per_epoch

        def __getitem__(self, index):
            start = (self.epoch * steps_per_epoch + index) * batch_size
            images, labels, _ = phantoms.generate(
                batch_size, seed=seed, start=start, drain_probability=drain_probability
            )
            return preprocess(images, mean, std, INPUT_SIZE), labels.astype("float32")

        def on_epoch_end(self):
            self.epoch += 1

    return PhantomStream()


def train(
    epochs=DEFAULTS["epochs"],
    steps_per_epoch=DEFAULTS["steps_per_epoch"],
    batch_size=DEFAULTS["batch_size"],
    seed=DEFAULTS["seed"],
    output_dir=None,
    validation_size=256,
    verbose=2,
    *,
    variant="standard",
    drain_probability=None,
    initial_weights=None,
    reinitialize_from=None,
    learning_rate=DEFAULTS["learning_rate"],
):
    """Train, save ``.weights.h5`` and its metadata into ``output_dir``, return the model.

    Parameters
    ----------
    epochs, steps_per_epoch, batch_size : int
        ``epochs * steps_per_epoch * batch_size`` training phantoms, none seen twice.
    seed : int
        Keras seed (initial weights, shuffling of nothing else: the stream is fixed).
    output_dir : path-like
        Folder for the weights and metadata files. Required: pass the repository's
        ``medinterp/assets`` explicitly to replace a shipped model.
    validation_size : int
        Phantoms of ``phantoms.VALIDATION_SEED`` (with the same drains) for the Keras log.
    verbose : int
        Keras ``fit`` verbosity.
    variant : {"standard", "shortcut"}
        Which model's file names to write (see :data:`medinterp.xray.VARIANTS`).
    drain_probability : (float, float) or None
        ``(p_if_pneumothorax, p_otherwise)`` for the training and validation phantoms.
    initial_weights : path-like, optional
        Fine-tune from these ``.weights.h5`` (checked against their metadata) instead of
        starting from random weights; their mean and std are kept.
    reinitialize_from : str, optional
        With ``initial_weights``: keep the layers before this one (e.g. ``"pool2_bn"``
        keeps the stem and the first dense block) and start it and all later layers from
        fresh seeded weights, so the later layers learn what this training data teaches.
    learning_rate : float
        Start of the cosine schedule.
    """
    import keras

    if reinitialize_from is not None and initial_weights is None:
        raise ValueError("reinitialize_from needs initial_weights to keep the earlier layers from")
    if output_dir is None:
        raise ValueError(
            "output_dir is required: name the folder to write the weights into (for the "
            "shipped models, the repository's medinterp/assets)"
        )
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}. Valid variants: {list(VARIANTS)}")
    drain_probability = validate_drain_probability(drain_probability)
    if not (isinstance(learning_rate, (int, float)) and 0 < learning_rate < 1):
        raise ValueError(f"learning_rate must be a number in (0, 1), got {learning_rate!r}")
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    if initial_weights is not None:
        from medinterp.xray import load_xray_model

        start_model = load_xray_model(initial_weights)
        model = build_xray_model()  # seeded fresh weights for the re-initialised layers
        names = [layer.name for layer in model.layers]
        if reinitialize_from is not None and reinitialize_from not in names:
            raise ValueError(
                f"Unknown layer {reinitialize_from!r} for reinitialize_from. "
                f"Valid layer names: {names}"
            )
        keep = len(names) if reinitialize_from is None else names.index(reinitialize_from)
        for layer, source in zip(model.layers[:keep], start_model.layers[:keep], strict=True):
            layer.set_weights(source.get_weights())
        start_metadata = weights_metadata(initial_weights)
        mean, std = start_metadata["mean"], start_metadata["std"]
    else:
        model = build_xray_model()
        mean, std = dataset_mean_std()
    frequencies = phantoms.label_frequencies()
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, epochs * steps_per_epoch, alpha=0.01
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=weighted_loss(frequencies),
        metrics=[keras.metrics.AUC(multi_label=True, num_labels=len(LABELS), name="auc")],
        jit_compile=True,
    )
    from medinterp.xray import preprocess

    val_images, val_labels, _ = phantoms.generate(
        validation_size, seed=phantoms.VALIDATION_SEED, drain_probability=drain_probability
    )
    stream = _phantom_stream(
        phantoms.TRAIN_SEED, batch_size, steps_per_epoch, mean, std, drain_probability, workers=2
    )
    model.fit(
        stream,
        epochs=epochs,
        validation_data=(preprocess(val_images, mean, std, INPUT_SIZE), val_labels),
        verbose=verbose,
    )
    minutes = (time.perf_counter() - started) / 60
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    weights_path = output_dir / weights_file(variant)
    model.save_weights(weights_path)
    training = {
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size,
        "seed": seed,
        "images_seen": epochs * steps_per_epoch * batch_size,
        "train_seed": phantoms.TRAIN_SEED,
        "minutes": round(minutes, 1),
        "positive_frequencies": [round(float(f), 4) for f in frequencies],
        "drain_probability": list(drain_probability) if drain_probability else None,
        "initial_weights": None
        if initial_weights is None
        else {
            "file": Path(initial_weights).name,
            "sha256": hashlib.sha256(Path(initial_weights).read_bytes()).hexdigest(),
        },
        "reinitialize_from": reinitialize_from,
        "learning_rate": learning_rate,
    }
    metadata = {
        "variant": variant,
        "labels": list(LABELS),
        "input_size": INPUT_SIZE,
        "mean": mean,
        "std": std,
        "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest(),
        "training": training,
    }
    metadata_path(weights_path).write_text(json.dumps(metadata, indent=2) + "\n")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output",
        required=True,
        help="folder for the weights and metadata (medinterp/assets for the shipped models)",
    )
    parser.add_argument("--variant", choices=list(VARIANTS), default="standard")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--steps-per-epoch", type=int, default=DEFAULTS["steps_per_epoch"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"])
    parser.add_argument(
        "--drain-probability",
        type=float,
        nargs=2,
        metavar=("P_IF_PNEUMOTHORAX", "P_OTHERWISE"),
        default=None,
        help="draw chest drains this often in patients with and without a pneumothorax",
    )
    parser.add_argument(
        "--initial-weights", default=None, help="fine-tune from this .weights.h5 file"
    )
    parser.add_argument(
        "--reinitialize-from",
        default=None,
        metavar="LAYER",
        help="with --initial-weights: start this layer and all later ones from fresh weights",
    )
    args = parser.parse_args(argv)
    try:
        train(
            args.epochs,
            args.steps_per_epoch,
            args.batch_size,
            args.seed,
            args.output,
            variant=args.variant,
            drain_probability=args.drain_probability,
            initial_weights=args.initial_weights,
            reinitialize_from=args.reinitialize_from,
            learning_rate=args.learning_rate,
        )
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
