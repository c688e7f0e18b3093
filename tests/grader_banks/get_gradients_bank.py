"""``get_gradients(model, image, category_index, layer_name)``: correct styles and wrong
answers. The course's style calls ``get_hook``; the grader swaps in its reference."""

import keras
import numpy as np
import tensorflow as tf

from medinterp.gradcam import activation_model, last_conv_layer


def get_hook(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])


# --- correct --------------------------------------------------------------------------------


def course_style(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions[:, category_index]
    return tape.gradient(score, activations)


def package_hook_numpy(model, image, category_index, layer_name):
    hook = activation_model(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image, training=False)
        score = predictions[0][category_index]
    return tape.gradient(score, activations).numpy()


def inline_model(model, image, category_index, layer_name):
    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])
    with tf.GradientTape() as tape:
        conv_outputs, predictions = grad_model(tf.convert_to_tensor(image))
        loss = tf.gather(predictions, category_index, axis=1)
    return tape.gradient(loss, conv_outputs)


def persistent_tape(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape(persistent=True) as tape:
        activations, predictions = hook(image)
        score = tf.reduce_sum(predictions[:, category_index])
    gradient = tape.gradient(score, activations)
    del tape
    return gradient


def watch_explicitly(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        tape.watch(activations)
        score = predictions[0, category_index]
    return np.array(tape.gradient(score, activations))


def one_hot_mask(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    mask = tf.one_hot([category_index], model.outputs[0].shape[-1])
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = tf.reduce_sum(predictions * mask)
    return tape.gradient(score, activations)


def jacobian_of_one_score(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions[0, category_index]
    return tape.jacobian(score, activations)


def float64_copy(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(tf.constant(image, dtype=tf.float32))
        score = predictions[:, category_index]
    return tape.gradient(score, activations).numpy().astype(np.float64)


def gradient_inside_block(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions[:, category_index]
        gradient = tape.gradient(score, activations)  # works inside the block too
    return gradient


def score_by_helper(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)

    def class_score(outputs):
        return outputs[:, category_index]

    with tf.GradientTape() as tape:
        outputs = hook(image)
        activations = outputs[0]
        score = class_score(outputs[1])
    return tape.gradient(score, activations)


CORRECT = [
    course_style,
    gradient_inside_block,
    score_by_helper,
    package_hook_numpy,
    inline_model,
    persistent_tape,
    watch_explicitly,
    one_hot_mask,
    jacobian_of_one_score,
    float64_copy,
]

# --- wrong ----------------------------------------------------------------------------------


def drops_batch_axis(model, image, category_index, layer_name):
    return course_style(model, image, category_index, layer_name)[0]


def with_respect_to_image(model, image, category_index, layer_name):
    image = tf.convert_to_tensor(image)
    with tf.GradientTape() as tape:
        tape.watch(image)
        score = model(image)[:, category_index]
    return tape.gradient(score, image)


def all_class_scores(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
    return tape.gradient(predictions, activations)


def wrong_class(model, image, category_index, layer_name):
    n_classes = model.outputs[0].shape[-1]
    return course_style(model, image, (category_index + 1) % n_classes, layer_name)


def pooled_weights(model, image, category_index, layer_name):
    return tf.reduce_mean(course_style(model, image, category_index, layer_name), axis=(0, 1, 2))


def hard_coded_layer(model, image, category_index, layer_name):
    return course_style(model, image, category_index, last_conv_layer(model))


def negated(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        loss = -predictions[:, category_index]
    return tape.gradient(loss, activations)


def hook_outside_tape(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    activations, predictions = hook(image)
    with tf.GradientTape() as tape:
        score = predictions[:, category_index]
    return tape.gradient(score, activations)


def score_outside_tape(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
    score = predictions[:, category_index]
    return tape.gradient(score, activations)


def score_in_gradient_call(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
    return tape.gradient(predictions[:, category_index], activations)


def predict_inside_tape(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook.predict(image, verbose=0)
        score = predictions[:, category_index]
    return tape.gradient(score, activations)


def numpy_inside_tape(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions.numpy()[:, category_index]
    return tape.gradient(score, activations)


def forgets_return(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions[:, category_index]
    tape.gradient(score, activations)


def returns_activations(model, image, category_index, layer_name):
    activations, _ = get_hook(model, layer_name)(image)
    return activations


def log_of_score(model, image, category_index, layer_name):
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = tf.math.log(predictions[:, category_index])
    return tape.gradient(score, activations)


def ignores_image(model, image, category_index, layer_name):
    return course_style(model, np.zeros_like(image), category_index, layer_name)


WRONG = {
    drops_batch_axis: ("gradient of the class score", "keep the batch axis"),
    with_respect_to_image: ("gradient of the class score", "not the input image"),
    all_class_scores: ("gradient of the class score", "not all predictions"),
    wrong_class: ("gradient of the class score", "use category_index"),
    pooled_weights: ("gradient of the class score", "not its mean over positions"),
    hard_coded_layer: ("layer bn: gradient of the class score", "use the layer_name argument"),
    negated: ("gradient of the class score", "the sign is flipped"),
    hook_outside_tape: ("returns the gradient", "call the hook inside the with block"),
    score_outside_tape: ("returns the gradient", "the score was taken after it"),
    score_in_gradient_call: ("returns the gradient", "the score was taken after it"),
    predict_inside_tape: ("crashed", "hook.predict(...)"),
    numpy_inside_tape: ("crashed", "Call the hook itself, hook(image)"),
    forgets_return: ("returns the gradient", "end it with return"),
    returns_activations: ("gradient of the class score", "that is the layer's activations"),
    log_of_score: ("gradient of the class score", "scaled"),
    ignores_image: ("gradient of the class score", "hint('get_gradients')"),
}

EXERCISE = "get_gradients"


def grade(fn):
    from medinterp.grading import get_gradients_test

    return get_gradients_test(fn)
