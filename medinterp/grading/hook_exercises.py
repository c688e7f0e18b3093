"""Graders for the hook and gradient exercises: ``get_hook`` and ``get_gradients``.

``get_hook(model, layer_name)`` must return a Keras model that maps the model's inputs to
``[layer activations, predictions]``; ``get_gradients(model, image, category_index,
layer_name)`` must return the gradient of one class score with respect to that layer's
activations, shaped like the layer's output for a batch of one ``(1, h, w, channels)``.

Both are graded at several layers of the shipped model (``relu`` feeds global pooling, so
its gradient is the same at every position; ``bn`` and ``conv3_block8_concat`` do not) and
on a model whose input is not square. The reference activations and gradients come from
:mod:`medinterp.grading.xray_cases`; ``get_gradients`` is graded with the reference hook
swapped in for a ``get_hook`` it calls, so a mistake in one exercise is not charged twice.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from medinterp.grading.feedback import (
    Exercise,
    StudentCrash,
    brief,
    replaced_global,
    run_exercise,
)
from medinterp.grading.xray_cases import (
    NONSQUARE_LABELS,
    CamCase,
    activations_and_gradients,
    case_image,
    case_model,
)
from medinterp.grading.xray_crashes import tape_crash_hint, tape_mistake
from medinterp.labels import LABELS

__all__ = ["get_gradients_test", "get_hook_test"]

HOOK_CASES = (
    CamCase("shipped", "phantom_003.png", LABELS.index("Mass"), "relu"),
    CamCase("shipped", "phantom_005.png", LABELS.index("Effusion"), "conv3_block8_concat"),
    CamCase("nonsquare", "random", 1, "conv_a"),
)
GRADIENT_CASES = (
    CamCase("shipped", "phantom_003.png", LABELS.index("Mass"), "relu"),
    CamCase("shipped", "phantom_005.png", LABELS.index("Effusion"), "conv3_block8_concat"),
    CamCase("shipped", "phantom_016.png", LABELS.index("Cardiomegaly"), "bn"),
    CamCase("nonsquare", "random", 1, "conv_a"),
)
_RELATIVE_TOLERANCE = 1e-3
_FULL_DIAGNOSES = 2  # mismatching cases that also search other classes and layers


@cache
def _layer_outputs(case: CamCase) -> dict[str, np.ndarray]:
    """Outputs, for the case's image, of the case's layer's input and of the model's last
    spatial layers: what a hook built on the wrong tensor returns instead."""
    import keras

    from medinterp.gradcam import conv_layer_names

    model = case_model(case)
    tensors = {}
    layer_input = model.get_layer(case.layer_name).input
    if not isinstance(layer_input, (list, tuple)):
        tensors[f"the input of layer {case.layer_name}"] = layer_input
    for name in conv_layer_names(model)[-6:]:
        tensors.setdefault(f"layer {name}", model.get_layer(name).output)
    probe = keras.Model(model.inputs, list(tensors.values()))
    values = probe(case_image(case), training=False)
    return {name: np.asarray(value) for name, value in zip(tensors, values, strict=True)}


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    if got.shape != expected.shape:
        return False
    scale = float(np.abs(expected).max()) or 1.0
    return float(np.abs(got - expected).max()) <= _RELATIVE_TOLERANCE * scale


def _to_array(value):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _describe(got, expected) -> str:
    if got is None:
        return "not an array"
    if got.shape != expected.shape:
        return f"{got.shape}"
    return f"{got.shape} with " + ("the right values" if _close(got, expected) else "other values")


def _hook_outputs_hint(first, second, case, activations, predictions) -> str:
    if first is not None and _close(first, predictions):
        return "put the layer's output first and the predictions second"
    if first is None or not _close(first, activations):
        for name, value in _layer_outputs(case).items() if first is not None else ():
            if name != f"layer {case.layer_name}" and _close(first, value):
                if name.startswith("the input"):
                    return f"your hook returns {name}: use .output, not .input"
                return f"your hook returns {name}: use model.get_layer(layer_name).output"
        return (
            "the first output must be the layer's activations, model.get_layer(layer_name).output"
        )
    return "the second output must be the model's predictions, model.outputs[0]"


def get_hook_test(fn) -> bool:
    """Grade Exercise 1.1, ``get_hook(model, layer_name)``: a Keras model from the model's inputs to
    ``[layer activations, predictions]``.

    Returns True when every check passed; never raises for the student's function.
    """

    def body(exercise: Exercise) -> None:
        import keras

        for case in HOOK_CASES:
            title = f"{case.title.rsplit(', ', 2)[0]}, layer {case.layer_name}"
            model = case_model(case)
            hook = exercise.call(model, case.layer_name)
            if not exercise.check(f"{title}: returns a Keras model", isinstance(hook, keras.Model),
                                  "keras.Model", type(hook).__name__,
                                  "return keras.Model(model.inputs, [layer output, predictions])"):  # fmt: skip
                continue
            outputs = exercise.attempt(hook, np.array(case_image(case)), training=False)
            if isinstance(outputs, dict):
                outputs = list(outputs.values())
            if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
                count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
                exercise.check(f"{title}: returns [activations, predictions]", False,
                               "2 outputs", f"{count} output(s)",
                               "give the model two outputs: [layer output, model.outputs[0]]")  # fmt: skip
                continue
            activations, _ = activations_and_gradients(case)
            activations = activations[np.newaxis]
            predictions = np.asarray(model(case_image(case), training=False), dtype=np.float64)
            first, second = _to_array(outputs[0]), _to_array(outputs[1])
            passed = (
                first is not None and second is not None
                and _close(first, activations) and _close(second, predictions)
            )  # fmt: skip
            expected = f"layer {case.layer_name}'s output {activations.shape}; predictions {predictions.shape}"
            got = f"{_describe(first, activations)}; {_describe(second, predictions)}"
            exercise.check(
                f"{title}: returns [activations, predictions]",
                passed,
                None if passed else expected,
                None if passed else got,
                "" if passed else _hook_outputs_hint(first, second, case, activations, predictions),
            )

    return run_exercise("get_hook", fn, body)


# --- get_gradients ---------------------------------------------------------------------------


def _gradient_hint(got: np.ndarray, case: CamCase, expected: np.ndarray, full: bool) -> str:
    activations, gradients = activations_and_gradients(case)
    height, width = case_image(case).shape[1:3]
    channels = expected.shape[-1]
    if got.shape == expected.shape[1:]:
        return "keep the batch axis: return tape.gradient(...) as it is, (1, h, w, channels)"
    if got.shape in ((channels,), (1, channels), (1, 1, 1, channels)):
        return "return the whole gradient, not its mean over positions"
    if got.shape[-3:-1] == (height, width):
        return "take the gradient with respect to the layer's activations, not the input image"
    if got.shape != expected.shape:
        return "the gradient has the shape of the layer's output, (1, h, w, channels)"
    if _close(got, activations[np.newaxis]):
        return "that is the layer's activations: return the gradient, tape.gradient(score, activations)"
    if _close(got, -expected):
        return "the sign is flipped: take the gradient of the class score itself"
    if not full:  # the costlier searches run for the first mismatches only
        return "your gradient differs here too; see the first mismatch above"
    _, every_class = activations_and_gradients(case, all_classes=True)
    if _close(got, every_class.sum(axis=0, keepdims=True)):
        return "take the score of one class, predictions[:, category_index], not all predictions"
    labels = LABELS if case.model == "shipped" else NONSQUARE_LABELS
    for other, gradient in enumerate(every_class):
        if other != case.class_index and _close(got, gradient[np.newaxis]):
            return f"that is the gradient for {labels[other]} (index {other}): use category_index"
    for layer in ("relu", "bn", "conv3_block8_concat") if case.model == "shipped" else ():
        if layer != case.layer_name:
            other_case = CamCase(case.model, case.image, case.class_index, layer)
            if _close(got, activations_and_gradients(other_case)[1]):
                return f"that is the gradient at layer {layer}: use the layer_name argument"
    cosine = float(np.sum(got * expected) / (np.linalg.norm(got) * np.linalg.norm(expected) or 1))
    if cosine > 1 - 1e-4:
        return "your gradient points the right way but is scaled: differentiate the score itself"
    return "compare each step with hint('get_gradients')"


def get_gradients_test(fn) -> bool:
    """Grade Exercise 1.2, ``get_gradients(model, image, category_index, layer_name)``: the gradient of
    one class score with respect to the layer's activations, shape ``(1, h, w, channels)``.

    Returns True when every check passed; never raises for the student's function.
    """

    def body(exercise: Exercise) -> None:
        from medinterp.gradcam import activation_model

        mismatches = 0
        for case in GRADIENT_CASES:
            try:
                # The course's hook (``keras.Model(model.inputs, [layer output, model
                # output])``), from the library, so that it also runs next to the student's
                # gradient tape in the autograder's worker.
                with replaced_global(exercise.fn, "get_hook", activation_model):
                    got = exercise.call(
                        case_model(case), np.array(case_image(case)), case.class_index,
                        case.layer_name,
                    )  # fmt: skip
            except StudentCrash as crash:
                crash.hint = tape_crash_hint(exercise.fn, crash.error)
                raise
            expected = activations_and_gradients(case)[1][:1]
            if got is None:
                exercise.check(f"{case.title}: returns the gradient", False, expected.shape, None,
                               tape_mistake(exercise.fn))  # fmt: skip
                continue
            array = _to_array(got)
            if array is None:
                exercise.check(f"{case.title}: returns the gradient", False,
                               "an array of numbers", brief(type(got).__name__),
                               "return tape.gradient(score, activations)")  # fmt: skip
                continue
            passed = _close(array, expected)
            error = (
                float(np.abs(array - expected).max() / np.abs(expected).max())
                if array.shape == expected.shape else None
            )  # fmt: skip
            exercise.check(
                f"{case.title}: gradient of the class score",
                passed,
                f"shape {expected.shape}, relative error < {_RELATIVE_TOLERANCE:g}",
                f"shape {array.shape}"
                + ("" if error is None else f", relative error {brief(error)}"),
                ""
                if passed
                else _gradient_hint(array, case, expected, mismatches < _FULL_DIAGNOSES),
            )
            mismatches += not passed

    return run_exercise("get_gradients", fn, body)
