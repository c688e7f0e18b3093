"""``integrated_gradients(model, image, class_index, baseline, n_steps)``: correct styles and
wrong answers. The notebook asks for the attributions ``(H, W, C)`` of the class score,
``score_model(model)``, the logit."""

import keras
import numpy as np
import tensorflow as tf

from medinterp.saliency import score_model

# --- correct --------------------------------------------------------------------------------


def course_style(model, image, class_index, baseline, n_steps):
    """The notebook's solution: one batch of path points, the trapezoid rule."""
    scores = score_model(model)
    alphas = np.linspace(0.0, 1.0, n_steps + 1, dtype=np.float32)[:, None, None, None]
    path = tf.constant(baseline + alphas * (image - baseline))
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = scores(path)[:, class_index]
    gradients = tape.gradient(score, path).numpy()
    average = (gradients[:-1] + gradients[1:]).mean(axis=0) / 2
    return ((image - baseline) * average)[0]


def left_riemann_loop(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    total = np.zeros(image.shape[1:], np.float64)
    for k in range(n_steps):
        point = tf.Variable(baseline + (k / n_steps) * (image - baseline))
        with tf.GradientTape() as tape:
            score = scores(point)[0, class_index]
        total += tape.gradient(score, point).numpy()[0]
    return (image - baseline)[0] * total / n_steps


def right_riemann_tensors(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = tf.range(1, n_steps + 1, dtype=tf.float32)[:, None, None, None] / n_steps
    image, baseline = tf.constant(image), tf.constant(baseline)
    path = baseline + alphas * (image - baseline)
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = tf.reduce_sum(scores(path, training=False)[:, class_index])
    average = tf.reduce_mean(tape.gradient(score, path), axis=0)
    return (image - baseline)[0] * average  # a tensor


def midpoint_rule(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = (np.arange(n_steps) + 0.5) / n_steps
    path = np.concatenate([baseline + a * (image - baseline) for a in alphas]).astype("float32")
    path = tf.convert_to_tensor(path)
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = scores(path)[:, class_index]
    return np.squeeze((image - baseline) * tape.gradient(score, path).numpy().mean(0))


def linspace_mean(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = np.linspace(0, 1, n_steps)
    gradients = []
    for alpha in alphas:
        x = tf.constant(baseline + alpha * (image - baseline), dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = scores(x)[:, class_index]
        gradients.append(tape.gradient(y, x)[0])
    return ((image - baseline)[0] * tf.reduce_mean(tf.stack(gradients), axis=0)).numpy()


def float64_post_processing(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = np.linspace(0.0, 1.0, n_steps + 1)
    path = tf.constant((baseline + alphas[:, None, None, None] * (image - baseline)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = scores(path)[:, class_index]
    gradients = tape.gradient(score, path).numpy().astype(np.float64)
    average = np.trapezoid(gradients, alphas, axis=0)
    return (image.astype(np.float64) - baseline)[0] * average


def keras_ops_in_chunks(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = keras.ops.linspace(0.0, 1.0, n_steps + 1)
    difference = image - baseline
    gradients = []
    for chunk in np.array_split(np.arange(n_steps + 1), 3):
        points = tf.constant(baseline) + tf.gather(alphas, chunk)[:, None, None, None] * difference
        with tf.GradientTape() as tape:
            tape.watch(points)
            score = keras.ops.sum(scores(points)[:, class_index])
        gradients.append(tape.gradient(score, points))
    everything = tf.concat(gradients, axis=0)
    return (difference * tf.reduce_mean(everything, axis=0))[0].numpy()


def persistent_tape_per_step(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    points = [baseline + (k / n_steps) * (image - baseline) for k in range(n_steps + 1)]
    tensors = [tf.constant(p) for p in points]
    with tf.GradientTape(persistent=True) as tape:
        for tensor in tensors:
            tape.watch(tensor)
        values = [scores(t)[0, class_index] for t in tensors]
    gradients = [tape.gradient(v, t)[0].numpy() for v, t in zip(values, tensors, strict=True)]
    del tape
    return (image - baseline)[0] * np.mean(gradients, axis=0)


CORRECT = [
    course_style,
    left_riemann_loop,
    right_riemann_tensors,
    midpoint_rule,
    linspace_mean,
    float64_post_processing,
    keras_ops_in_chunks,
    persistent_tape_per_step,
]

# --- wrong ----------------------------------------------------------------------------------


def _average_gradient(model, image, class_index, baseline, n_steps, start=None, step=None,
                      alphas=None, probability=False):  # fmt: skip
    """The trapezoid average of the gradient along ``start + alpha * step``."""
    scores = model if probability else score_model(model)
    start = baseline if start is None else start
    step = image - baseline if step is None else step
    alphas = np.linspace(0, 1, n_steps + 1) if alphas is None else alphas
    path = tf.constant((start + np.asarray(alphas)[:, None, None, None] * step), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = scores(path)[:, class_index]
    gradients = tape.gradient(score, path).numpy()
    return ((gradients[:-1] + gradients[1:]) / 2).mean(axis=0)


def no_difference(model, image, class_index, baseline, n_steps):
    return _average_gradient(model, image, class_index, baseline, n_steps)


def path_ends_at_image_plus_baseline(model, image, class_index, baseline, n_steps):
    average = _average_gradient(model, image, class_index, baseline, n_steps, step=image)
    return ((image - baseline) * average)[0]


def alphas_not_divided(model, image, class_index, baseline, n_steps):
    average = _average_gradient(model, image, class_index, baseline, n_steps,
                                alphas=np.arange(n_steps + 1.0))  # fmt: skip
    return ((image - baseline) * average)[0]


def mean_score_over_the_batch(model, image, class_index, baseline, n_steps):
    scores = score_model(model)
    alphas = np.linspace(0.0, 1.0, n_steps + 1, dtype=np.float32)[:, None, None, None]
    path = tf.constant(baseline + alphas * (image - baseline))
    with tf.GradientTape() as tape:
        tape.watch(path)
        score = tf.reduce_mean(scores(path)[:, class_index])  # 1/(n+1) on every gradient
    gradients = tape.gradient(score, path).numpy()
    return ((image - baseline) * gradients.mean(axis=0))[0]


def sums_the_steps(model, image, class_index, baseline, n_steps):
    average = _average_gradient(model, image, class_index, baseline, n_steps)
    return ((image - baseline) * average * n_steps)[0]


def probability_not_score(model, image, class_index, baseline, n_steps):
    average = _average_gradient(model, image, class_index, baseline, n_steps, probability=True)
    return ((image - baseline) * average)[0]


def gradient_times_input(model, image, class_index, baseline, n_steps):
    average = _average_gradient(model, image, class_index, baseline, 1, alphas=[1.0, 1.0])
    return ((image - baseline) * average)[0]


def absolute_attributions(model, image, class_index, baseline, n_steps):
    return np.abs(course_style(model, image, class_index, baseline, n_steps))


def wrong_class(model, image, class_index, baseline, n_steps):
    other = (class_index + 1) % model.outputs[0].shape[-1]
    return course_style(model, image, other, baseline, n_steps)


def zero_baseline(model, image, class_index, baseline, n_steps):
    return course_style(model, image, class_index, np.zeros_like(image), n_steps)


def times_the_image(model, image, class_index, baseline, n_steps):
    return (image * _average_gradient(model, image, class_index, baseline, n_steps))[0]


def keeps_the_batch_axis(model, image, class_index, baseline, n_steps):
    return course_style(model, image, class_index, baseline, n_steps)[None]


def channel_sum_map(model, image, class_index, baseline, n_steps):
    return course_style(model, image, class_index, baseline, n_steps).sum(axis=-1)


WRONG = {
    no_difference: ("matches integrated gradients", "does not multiply the average gradient"),
    path_ends_at_image_plus_baseline: ("matches integrated gradients", "must end at the image"),
    alphas_not_divided: ("matches integrated gradients", "overshoots the image"),
    mean_score_over_the_batch: ("matches integrated gradients", "averages the scores over"),
    sums_the_steps: ("matches integrated gradients", "sums the gradients over the steps"),
    probability_not_score: ("matches integrated gradients", "gradient of the probability"),
    gradient_times_input: ("matches integrated gradients", "at the image only"),
    absolute_attributions: ("matches integrated gradients", "signed"),
    wrong_class: ("matches integrated gradients", "use class_index"),
    zero_baseline: ("matches integrated gradients", "starts the path at zero"),
    times_the_image: ("matches integrated gradients", "instead of (image - baseline)"),
    keeps_the_batch_axis: ("shape", "drop the batch axis"),
    channel_sum_map: ("shape", "per channel"),
}

EXERCISE = "integrated_gradients"


def grade(fn):
    from medinterp.grading import integrated_gradients_test

    return integrated_gradients_test(fn)
