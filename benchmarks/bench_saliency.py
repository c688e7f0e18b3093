"""Saliency: ours against tf-keras-vis 0.8.7 on the same model, images and classes, and
Integrated Gradients batched against one gradient call per step.

tf-keras-vis explains one class per call (a score per image), so 14 classes take 14 calls;
ours takes one. Both explain the logit (tf-keras-vis with ``ReplaceToLinear``). Agreement is
the median Pearson correlation of the two maps of each (image, class): vanilla saliency is
the same number up to tf-keras-vis's min-max normalisation; SmoothGrad differs by its random
noise; GradCAM++ by tf-keras-vis's extra normalisation of the alphas over positions.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import Row, side_by_side
from medinterp.saliency import integrated_gradients_attributions, saliency_maps, score_model


def _inputs(n_images):
    from medinterp import phantoms
    from medinterp.xray import load_xray_model, preprocess

    images, _, _ = phantoms.generate(n_images, seed=99)
    return load_xray_model(), preprocess(images)


def _correlation(ours, theirs) -> float:
    pairs = zip(ours.reshape(-1, ours.shape[-2] * ours.shape[-1]),
                theirs.reshape(-1, theirs.shape[-2] * theirs.shape[-1]), strict=True)  # fmt: skip
    return float(np.median([np.corrcoef(a, b)[0, 1] for a, b in pairs if a.std() and b.std()]))


def _theirs(model, layer):
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
    plus = GradcamPlusPlus(model, model_modifier=ReplaceToLinear(), clone=True)

    def run(method, images, classes, n_samples):
        maps = []
        for c in classes:
            score = CategoricalScore([c] * len(images))
            if method == "gradient":
                maps.append(saliency(score, images))
            elif method == "smoothgrad":
                maps.append(saliency(score, images, smooth_samples=n_samples, smooth_noise=0.15))
            else:
                maps.append(plus(score, images, penultimate_layer=layer))
        return np.stack(maps, axis=1)  # (n, k, H, W)

    return run


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    from medinterp.gradcam import last_conv_layer

    repeats = 1 if smoke else repeats
    n_images, classes = (2, [0, 5]) if smoke else (16, list(range(14)))
    n_samples = 2 if smoke else 8
    model, images = _inputs(n_images)
    theirs = _theirs(model, last_conv_layer(model))
    rows = []
    for method, name in (("gradcam++", "GradCAM++"), ("smoothgrad", "SmoothGrad"),
                         ("gradient", "vanilla saliency")):  # fmt: skip
        options = {"n_samples": n_samples} if method == "smoothgrad" else {}
        ours_time, theirs_time = side_by_side(
            lambda method=method, options=options: saliency_maps(
                model, images, classes, method, random_state=0, **options),
            lambda method=method: theirs(method, images, classes, n_samples),
            repeats=repeats,
        )  # fmt: skip
        agreement = _correlation(saliency_maps(model, images, classes, method, random_state=0,
                                               **options),
                                 theirs(method, images, classes, n_samples))  # fmt: skip
        rows.append(Row(f"{name}, {len(classes)} classes x {n_images} images: ours vs "
                        "tf-keras-vis 0.8.7", ours_time, theirs_time, ">= 2x",
                        theirs_time / ours_time >= 2,
                        note=f"median Pearson r of the maps {agreement:.3f}"))  # fmt: skip
    rows.append(_integrated_gradients_row(model, images[:1], 2 if smoke else 16, repeats))
    return rows


def _integrated_gradients_row(model, image, n_steps, repeats) -> Row:
    import tensorflow as tf

    scores = score_model(model)
    baseline = np.full_like(image, image.min())

    def per_step():
        total = np.zeros(image.shape[1:], np.float32)
        for k in range(n_steps + 1):
            point = tf.constant(baseline + (k / n_steps) * (image - baseline))
            with tf.GradientTape() as tape:
                tape.watch(point)
                score = scores(point)[:, 0]
            weight = 0.5 if k in (0, n_steps) else 1.0
            total += weight * tape.gradient(score, point).numpy()[0]
        return (image - baseline)[0] * total / n_steps

    batched_time, loop_time = side_by_side(
        lambda: integrated_gradients_attributions(model, image, [0], baseline, n_steps),
        per_step,
        repeats=repeats,
    )
    same = np.allclose(
        integrated_gradients_attributions(model, image, [0], baseline, n_steps).attributions[0, 0],
        per_step(),
        atol=1e-4,
    )
    return Row(f"Integrated Gradients, {n_steps} steps: batched vs one gradient call per step",
               batched_time, loop_time, ">= 5x", loop_time / batched_time >= 5,
               note="same attributions" if same else "attributions DIFFER")  # fmt: skip
