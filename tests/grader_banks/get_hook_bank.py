"""``get_hook(model, layer_name)``: correct styles and wrong answers."""

import keras
import tensorflow as tf

from medinterp.gradcam import activation_model, last_conv_layer

# --- correct --------------------------------------------------------------------------------


def course_style(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])


def model_output(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])


def singular_input_keywords(model, layer_name):
    return keras.Model(
        inputs=model.input, outputs=[model.get_layer(layer_name).output, model.output]
    )


def tf_keras_models(model, layer_name):
    return tf.keras.models.Model(
        model.inputs, [model.get_layer(layer_name).output, model.outputs[0]]
    )


def package_hook(model, layer_name):
    return activation_model(model, layer_name)


def layer_found_by_loop(model, layer_name):
    layer = next(layer for layer in model.layers if layer.name == layer_name)
    return keras.Model(model.inputs[0], [layer.output, model.outputs[0]])


def tuple_outputs(model, layer_name):
    return keras.models.Model(model.inputs, (model.get_layer(layer_name).output, model.outputs[0]))


def last_layer_output(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).output, model.layers[-1].output])


def with_a_name(model, layer_name):
    outputs = [model.get_layer(name=layer_name).output, model.outputs[0]]
    return keras.Model(model.inputs, outputs, name=f"hook_{layer_name}")


CORRECT = [
    course_style,
    model_output,
    singular_input_keywords,
    tf_keras_models,
    layer_found_by_loop,
    tuple_outputs,
    last_layer_output,
    with_a_name,
]

# --- wrong ----------------------------------------------------------------------------------


def layer_output_only(model, layer_name):
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


def swapped(model, layer_name):
    return keras.Model(model.inputs, [model.outputs[0], model.get_layer(layer_name).output])


def hard_coded_layer(model, layer_name):
    return keras.Model(
        model.inputs, [model.get_layer(last_conv_layer(model)).output, model.outputs[0]]
    )


def layer_input(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).input, model.outputs[0]])


def predictions_twice(model, layer_name):
    return keras.Model(model.inputs, [model.outputs[0], model.outputs[0]])


def activations_twice(model, layer_name):
    layer = model.get_layer(layer_name)
    return keras.Model(model.inputs, [layer.output, layer.output])


def pooled_features_second(model, layer_name):
    return keras.Model(model.inputs, [model.get_layer(layer_name).output, model.layers[-2].output])


def returns_tensors(model, layer_name):
    return [model.get_layer(layer_name).output, model.outputs[0]]


def returns_nothing(model, layer_name):
    keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])


def new_input(model, layer_name):
    inputs = keras.Input(model.inputs[0].shape[1:])
    return keras.Model(inputs, [model.get_layer(layer_name).output, model.outputs[0]])


def previous_layer(model, layer_name):
    names = [layer.name for layer in model.layers]
    previous = model.layers[names.index(layer_name) - 1]
    return keras.Model(model.inputs, [previous.output, model.outputs[0]])


WRONG = {
    activation_model: ("is your own code", "the package's own answer"),
    package_hook: ("is your own code", "the package's own answer"),
    layer_output_only: ("returns [activations, predictions]", "two outputs"),
    swapped: ("returns [activations, predictions]", "output first and the predictions second"),
    hard_coded_layer: ("layer conv3_block8_concat: returns [activations", "returns layer relu"),
    layer_input: ("layer relu: returns [activations", "not .input"),
    predictions_twice: ("returns [activations, predictions]", "output first"),
    activations_twice: ("returns [activations, predictions]", "model's predictions"),
    pooled_features_second: ("returns [activations, predictions]", "model's predictions"),
    returns_tensors: ("returns a Keras model", "return keras.Model"),
    returns_nothing: ("returns a Keras model", "return keras.Model"),
    new_input: ("get_hook crashed", "(your code)"),
    previous_layer: ("layer relu: returns [activations", "input of layer relu"),
}

EXERCISE = "get_hook"


def grade(fn):
    from medinterp.grading import get_hook_test

    return get_hook_test(fn)
