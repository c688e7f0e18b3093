"""Train the shipped chest X-ray model from scratch on freshly rendered phantoms.

    python -m medinterp.train_xray            # the shipped weights (47 min on 2 cores here)
    python -m medinterp.train_xray --help

Every batch is rendered on the fly from the training stream (``phantoms.TRAIN_SEED``), so
no patient repeats and none is shared with validation, evaluation or the example set. The
loss is the course's class-weighted binary cross-entropy: positives of a label are weighted
by that label's negative frequency and negatives by its positive frequency, so rare labels
count as much as common ones.

Determinism: seeds are fixed with ``keras.utils.set_random_seed`` and the training step is
compiled with XLA, which is deterministic on the CPU (the test suite trains twice and
compares the weights bit for bit). TensorFlow's ``enable_op_determinism`` is not used:
Keras turns XLA off under it, which made training 1.6x slower here (20 vs 33 images/s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from medinterp import phantoms
from medinterp.data import assets_dir
from medinterp.labels import LABELS
from medinterp.xray import INPUT_SIZE, METADATA_FILE, WEIGHTS_FILE, build_xray_model

DEFAULTS = {"epochs": 10, "steps_per_epoch": 250, "batch_size": 32, "seed": 42}


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


def _phantom_stream(seed, batch_size, steps_per_epoch, mean, std, **kwargs):
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
            images, labels, _ = phantoms.generate(batch_size, seed=seed, start=start)
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
):
    """Train, save ``.weights.h5`` and its metadata into ``output_dir``, return the model."""
    import keras

    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    mean, std = dataset_mean_std()
    frequencies = phantoms.label_frequencies()
    model = build_xray_model()
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, epochs * steps_per_epoch, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=weighted_loss(frequencies),
        metrics=[keras.metrics.AUC(multi_label=True, num_labels=len(LABELS), name="auc")],
        jit_compile=True,
    )
    from medinterp.xray import preprocess

    val_images, val_labels, _ = phantoms.generate(validation_size, seed=phantoms.VALIDATION_SEED)
    stream = _phantom_stream(phantoms.TRAIN_SEED, batch_size, steps_per_epoch, mean, std, workers=2)
    model.fit(
        stream,
        epochs=epochs,
        validation_data=(preprocess(val_images, mean, std, INPUT_SIZE), val_labels),
        verbose=verbose,
    )
    minutes = (time.perf_counter() - started) / 60
    output_dir = Path(output_dir) if output_dir else assets_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    weights_path = output_dir / WEIGHTS_FILE
    model.save_weights(weights_path)
    metadata = {
        "labels": list(LABELS),
        "input_size": INPUT_SIZE,
        "mean": mean,
        "std": std,
        "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest(),
        "training": {
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "batch_size": batch_size,
            "seed": seed,
            "images_seen": epochs * steps_per_epoch * batch_size,
            "train_seed": phantoms.TRAIN_SEED,
            "minutes": round(minutes, 1),
            "positive_frequencies": [round(float(f), 4) for f in frequencies],
        },
    }
    (output_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--steps-per-epoch", type=int, default=DEFAULTS["steps_per_epoch"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--output-dir", default=None, help="default: the package's assets")
    args = parser.parse_args(argv)
    train(args.epochs, args.steps_per_epoch, args.batch_size, args.seed, args.output_dir)


if __name__ == "__main__":
    main()
