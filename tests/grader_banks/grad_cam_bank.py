"""``grad_cam(input_model, image, category_index, layer_name)``: correct styles and wrong
answers."""

import cv2
import keras
import numpy as np
import tensorflow as tf

from medinterp.gradcam import activation_model, last_conv_layer


def _hook_outputs(model, image, category, layer):
    """(maps, gradients), each (h, w, channels), as the course's steps 1-3 give them."""
    hook = activation_model(model, layer)
    with tf.GradientTape() as tape:
        maps, predictions = hook(image)
        score = predictions[:, category]
    return maps[0].numpy(), tape.gradient(score, maps)[0].numpy()


def _finish(cam, image, relu=True, scale=True):
    if relu:
        cam = np.maximum(cam, 0)
    cam = cv2.resize(
        cam.astype(np.float32), (image.shape[2], image.shape[1]), interpolation=cv2.INTER_LINEAR
    )
    return cam / cam.max() if scale and cam.max() > 0 else cam


# --- correct --------------------------------------------------------------------------------


def course_style(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
        score = outputs[:, category_index]
    gradients = tape.gradient(score, maps)[0].numpy()
    layer_maps = maps[0].numpy()
    weights = np.mean(gradients, axis=(0, 1))
    cam = np.maximum(np.sum(layer_maps * weights, axis=-1), 0)
    cam = cv2.resize(cam, (image.shape[2], image.shape[1]), interpolation=cv2.INTER_LINEAR)
    return cam / cam.max() if cam.max() > 0 else cam


def original_course_order(input_model, image, category_index, layer_name):
    """The course's own order: resize, then ReLU, with the flag passed positionally."""
    H, W = image.shape[1], image.shape[2]
    hook = keras.Model(
        input_model.inputs, [input_model.get_layer(layer_name).output, input_model.output]
    )
    with tf.GradientTape() as tape:
        spatial_map, predictions = hook(image)
        y_c = predictions[0, category_index]
    grads = tape.gradient(y_c, spatial_map)
    spatial_map_val, grads_val = spatial_map.numpy()[0], grads.numpy()[0]
    weights = np.mean(grads_val, axis=(0, 1))
    cam = np.dot(spatial_map_val, weights)
    cam = cv2.resize(cam, (W, H), cv2.INTER_LINEAR)  # the flag lands in dst; linear is the default
    cam = np.maximum(cam, 0)
    return cam / cam.max()


def hand_built_model(input_model, image, category_index, layer_name):
    grad_model = keras.Model(
        inputs=input_model.inputs,
        outputs=[input_model.get_layer(layer_name).output, input_model.outputs[0]],
    )
    with tf.GradientTape() as tape:
        conv_outputs, predictions = grad_model(image)
        loss = predictions[:, category_index]
    grads = tape.gradient(loss, conv_outputs)
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.reduce_sum(conv_outputs[0] * pooled, axis=-1)
    cam = tf.nn.relu(cam)[..., tf.newaxis]
    cam = tf.image.resize(cam, image.shape[1:3])[..., 0]
    return (cam / tf.reduce_max(cam)).numpy()


def float64_numpy(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    maps, gradients = maps.astype(np.float64), gradients.astype(np.float64)
    cam = np.einsum("hwc,c->hw", maps, gradients.mean(axis=(0, 1)))
    return _finish(cam, image).astype(np.float64)


def sum_not_mean(input_model, image, category_index, layer_name):
    """Summing over positions scales every weight alike: the normalised map is the same."""
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish(np.dot(maps, gradients.sum(axis=(0, 1))), image)


def persistent_tape_watch(input_model, image, category_index, layer_name):
    layer = input_model.get_layer(layer_name)
    hook = keras.Model(input_model.inputs[0], [layer.output, input_model.outputs[0]])
    image = tf.convert_to_tensor(image)
    with tf.GradientTape(persistent=True) as tape:
        maps, predictions = hook(image, training=False)
        tape.watch(maps)
        score = tf.gather(predictions, category_index, axis=1)
    gradients = tape.gradient(score, maps)
    del tape
    weights = tf.reduce_mean(gradients, axis=[1, 2], keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))[0].numpy()
    return _finish(cam, image)


def tf_image_resize_bilinear_list(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
        score = outputs[0][category_index]
    grads = tape.gradient(score, maps)[0]
    weights = [float(w) for w in tf.reduce_mean(grads, axis=(0, 1)).numpy()]
    cam = np.zeros(maps.shape[1:3], dtype=np.float32)
    for k, w in enumerate(weights):
        cam += w * maps[0, :, :, k].numpy()
    cam = np.maximum(cam, 0)
    cam = tf.image.resize(cam[None, ..., None], (image.shape[1], image.shape[2]), method="bilinear")
    cam = cam.numpy()[0, ..., 0]
    return cam / np.max(cam)


def tensor_returned(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(tf.constant(image))
        score = outputs[:, category_index]
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))  # (1, channels)
    cam = tf.nn.relu(tf.einsum("bhwc,bc->bhw", maps, weights))[0]
    cam = tf.image.resize(cam[..., None], tf.shape(image)[1:3])[..., 0]
    return tf.math.divide_no_nan(cam, tf.reduce_max(cam))


def weights_with_batch_axis(input_model, image, category_index, layer_name):
    """axis=(1, 2) is right while the batch axis is still there."""
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
        score = outputs[:, category_index]
    gradients = tape.gradient(score, maps).numpy()  # (1, h, w, c)
    weights = np.mean(gradients, axis=(1, 2))  # (1, c)
    return _finish(np.sum(maps[0].numpy() * weights, axis=-1), image)


CORRECT = [
    course_style,
    weights_with_batch_axis,
    original_course_order,
    hand_built_model,
    float64_numpy,
    sum_not_mean,
    persistent_tape_watch,
    tf_image_resize_bilinear_list,
    tensor_returned,
]

# --- wrong ----------------------------------------------------------------------------------


def the_package_grad_cam(input_model, image, category_index, layer_name):
    from medinterp import gradcam

    return gradcam.grad_cam(input_model, image, category_index, layer_name)


def no_relu(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish((maps * gradients.mean(axis=(0, 1))).sum(-1), image, relu=False)


def not_normalised(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish((maps * gradients.mean(axis=(0, 1))).sum(-1), image, scale=False)


def wrong_class(input_model, image, category_index, layer_name):
    return course_style(
        input_model, image, (category_index + 1) % input_model.outputs[0].shape[-1], layer_name
    )


def not_resized(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    cam = np.maximum((maps * gradients.mean(axis=(0, 1))).sum(-1), 0)
    return cam / cam.max()


def width_height_swapped(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    cam = np.maximum((maps * gradients.mean(axis=(0, 1))).sum(-1), 0).astype(np.float32)
    cam = cv2.resize(cam, (image.shape[1], image.shape[2]), interpolation=cv2.INTER_LINEAR)
    return cam / cam.max()


def gradient_only(input_model, image, category_index, layer_name):
    _, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish(gradients.mean(-1), image)


def activation_only(input_model, image, category_index, layer_name):
    maps, _ = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish(maps.mean(-1), image)


def negated(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish(-(maps * gradients.mean(axis=(0, 1))).sum(-1), image)


def abs_gradient(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish((maps * np.abs(gradients).mean(axis=(0, 1))).sum(-1), image)


def no_pooling(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish((maps * gradients).sum(-1), image)


def batch_axis_in_weights(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
        score = outputs[:, category_index]
    gradients = tape.gradient(score, maps).numpy()  # (1, h, w, c): the batch axis kept
    weights = np.mean(gradients, axis=(0, 1))  # averages batch and height: (w, c)
    return _finish((maps[0].numpy() * weights).sum(-1), image)


def gradient_at_one_position(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    return _finish((maps * gradients[0, 0]).sum(-1), image)


def hard_coded_layer(input_model, image, category_index, layer_name):
    return course_style(input_model, image, category_index, last_conv_layer(input_model))


def returns_nothing(input_model, image, category_index, layer_name):
    course_style(input_model, image, category_index, layer_name)


def divides_by_zero(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    cam = _finish((maps * gradients.mean(axis=(0, 1))).sum(-1), image, scale=False)
    return cam / 0.0


def weights_over_width_and_channels(input_model, image, category_index, layer_name):
    maps, gradients = _hook_outputs(input_model, image, category_index, layer_name)
    weights = np.mean(gradients, axis=(1, 2))  # (h,): the batch axis was already dropped
    return _finish(np.sum(maps * weights, axis=-1), image)


def score_after_tape(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
    score = outputs[:, category_index]
    gradients = tape.gradient(score, maps)[0].numpy()
    return _finish((maps[0].numpy() * gradients.mean(axis=(0, 1))).sum(-1), image)


def score_after_tape_gradient_zeroed(input_model, image, category_index, layer_name):
    """The score outside the tape, and the None gradient replaced by zeros to stop the crash:
    an all-zero map, which dividing by its maximum cannot fix."""
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook(image)
    gradients = tape.gradient(outputs[:, category_index], maps)
    gradients = np.zeros(maps.shape[1:]) if gradients is None else gradients[0].numpy()
    return _finish((maps[0].numpy() * gradients.mean(axis=(0, 1))).sum(-1), image)


def predict_in_tape(input_model, image, category_index, layer_name):
    hook = activation_model(input_model, layer_name)
    with tf.GradientTape() as tape:
        maps, outputs = hook.predict(image, verbose=0)
        score = outputs[:, category_index]
    gradients = tape.gradient(score, maps)[0]
    return _finish((maps[0] * gradients.mean(axis=(0, 1))).sum(-1), image)


WRONG = {
    the_package_grad_cam: ("is your own code", "the package's own answer"),
    weights_over_width_and_channels: ("crashed", "axis=(1, 2) of the (h, w, channels)"),
    score_after_tape: ("crashed", "the score was taken after it"),
    score_after_tape_gradient_zeroed: ("maximum is 1", "the gradient was zero or None"),
    predict_in_tape: ("crashed", "hook.predict(...)"),
    no_relu: ("no negative values", "np.maximum(cam, 0)"),
    not_normalised: ("maximum is 1", "divide the map by its maximum"),
    wrong_class: ("matches GradCAM", "use category_index"),
    not_resized: ("shape", "resize the map to the image's height and width"),
    width_height_swapped: (
        "non-square 40x56 input, class 1, layer conv_a: shape",
        "(width, height)",
    ),
    gradient_only: ("matches GradCAM", "only the gradients"),
    activation_only: ("matches GradCAM", "only the activations"),
    negated: ("matches GradCAM", "negates the map"),
    abs_gradient: ("matches GradCAM", "|gradient|"),
    no_pooling: ("layer conv3_block8_concat: matches GradCAM", "position by position"),
    batch_axis_in_weights: ("layer conv3_block8_concat: matches GradCAM", "drop the batch axis"),
    gradient_at_one_position: ("layer conv3_block8_concat: matches GradCAM", "at one position"),
    hard_coded_layer: ("layer conv3_block8_concat: matches GradCAM", "use the layer_name argument"),
    returns_nothing: ("returns a map", "return cam"),
    divides_by_zero: ("no NaN or inf", "only when it is above 0"),
}

EXERCISE = "grad_cam"


def grade(fn):
    from medinterp.grading import grad_cam_test

    return grad_cam_test(fn)
