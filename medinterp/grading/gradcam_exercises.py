"""Graders for the GradCAM exercises: ``grad_cam`` and ``compute_gradcam``.

``grad_cam`` is graded at three layers of the shipped model (``relu``, which feeds global
average pooling, and ``bn`` and ``conv3_block8_concat``, which do not, so the gradient
varies over positions there) and at two layers of a model whose input is not square. A map
must match GradCAM to ``tolerance`` in its largest absolute difference; ReLU before or
after the resize are both accepted. A mismatch is named from NumPy recipes of the usual
mistakes, computed from one set of activations and gradients; only the first two
mismatching cases also look for another class's or another layer's map, so a failing
answer costs about what a passing one does.

``compute_gradcam`` is graded on two phantoms, one at a layer that is not the default, with
the reference ``grad_cam`` swapped in for the student's own and ``show_gradcam`` replaced by
a recorder: the labels, probabilities, ground truth and maps it receives are checked, and
that ``show_gradcam`` can use them (one number per probability, one truth value per label).
Crashes are named in :mod:`medinterp.grading.xray_crashes`.

Why this module is long: notebook 02's two exercises share the shipped cases and reference
maps, and each check keeps the names of its usual mistakes beside it.
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np

from medinterp.grading.feedback import (
    Exercise,
    StudentCrash,
    brief,
    check_tolerance,
    replaced_global,
    run_exercise,
)
from medinterp.grading.xray_cases import (
    NONSQUARE_LABELS,
    CamCase,
    activations_and_gradients,
    case_image,
    case_model,
    example_image,
    example_set,
    finish,
    shipped_model,
)
from medinterp.grading.xray_crashes import compute_gradcam_crash_hint, grad_cam_crash_hint
from medinterp.labels import LABELS

__all__ = ["compute_gradcam_test", "grad_cam_test"]

GRAD_CAM_CASES = (
    CamCase("shipped", "phantom_003.png", LABELS.index("Mass"), "relu"),
    CamCase("shipped", "phantom_005.png", LABELS.index("Effusion"), "conv3_block8_concat"),
    CamCase("shipped", "phantom_016.png", LABELS.index("Cardiomegaly"), "bn"),
    CamCase("nonsquare", "random", 1, "conv_a"),
    CamCase("nonsquare", "random", 2, "relu_b"),
)
_FULL_DIAGNOSES = 2  # mismatching cases that also search other classes and layers


def _weighted(maps, gradients):
    return (maps * gradients.mean(axis=(0, 1))).sum(-1)


def _accepted(case: CamCase) -> list[np.ndarray]:
    maps, gradients = activations_and_gradients(case)
    height, width = case_image(case).shape[1:3]
    cam = _weighted(maps, gradients[0])
    return [finish(cam, height, width, relu_first) for relu_first in (True, False)]


def _mistake_recipes(maps, gradient):
    """Grid maps from the usual wrong recipes, each with the words that name it."""
    return {
        "multiplies the activations by the gradient position by position: average the "
        "gradient over the positions first (one weight per channel)": (maps * gradient).sum(-1),
        "averages the gradient over the batch and height axes: drop the batch axis ([0]) "
        "before np.mean(gradients, axis=(0, 1))": (maps * gradient.mean(axis=0)).sum(-1),
        "weights the maps by the gradient at one position: average it over all positions": (
            maps * gradient[0, 0]
        ).sum(-1),
        "weights the maps by the mean of |gradient|: average the signed gradient": (
            maps * np.abs(gradient).mean(axis=(0, 1))
        ).sum(-1),
        "weights the maps by the maximum of the gradient: use its mean over positions": (
            maps * gradient.max(axis=(0, 1))
        ).sum(-1),
        "uses only the activations (no gradient weights)": maps.mean(-1),
        "uses only the gradients (no activations)": gradient.mean(-1),
        "negates the map (ReLU of minus the weighted sum)": -_weighted(maps, gradient),
    }


def _distance(got, candidates) -> float:
    return min(float(np.abs(got - candidate).max()) for candidate in candidates)


def _diagnose_map(case: CamCase, got: np.ndarray, tolerance: float, full: bool) -> str:
    height, width = got.shape
    maps, gradients = activations_and_gradients(case)

    def close(cam):
        return (
            _distance(got, [finish(cam, height, width, order) for order in (True, False)])
            < tolerance
        )

    for words, cam in _mistake_recipes(maps, gradients[0]).items():
        if close(cam):
            return f"your map {words}"
    if not full:
        return ""
    model = case_model(case)
    labels = LABELS if case.model == "shipped" else NONSQUARE_LABELS
    _, every_class = activations_and_gradients(case, all_classes=True)
    for other, gradient in enumerate(every_class):
        if other != case.class_index and close(_weighted(maps, gradient)):
            return (
                f"your map is the one for {labels[other]} (index {other}): "
                "use category_index to pick the class score"
            )
    from medinterp.gradcam import conv_layer_names

    for layer in reversed(conv_layer_names(model)[-6:]):
        if layer == case.layer_name:
            continue
        other = CamCase(case.model, case.image, case.class_index, layer)
        if _distance(got, _accepted(other)) < tolerance:
            return f"your map is GradCAM at layer {layer}: use the layer_name argument"
    return ""


def _shape_hint(shape, case: CamCase) -> str:
    height, width = case_image(case).shape[1:3]
    maps, _ = activations_and_gradients(case)
    if shape == (width, height):
        return "cv2.resize takes (width, height): cv2.resize(cam, (W, H)), W = image.shape[2]"
    if shape == maps.shape[:2]:
        return "resize the map to the image's height and width"
    if shape == (1, height, width):
        return "return an (H, W) map: drop the batch axis"
    return "return one (H, W) map, H and W the image's height and width"


def _grade_map(exercise: Exercise, case: CamCase, got, tolerance: float, full: bool) -> bool:
    """One check for one case: the first property that fails names it."""
    title = case.title
    if got is None:
        return exercise.check(f"{title}: returns a map", False, "an (H, W) array", None,
                              "return cam at the end of the function")  # fmt: skip
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return exercise.check(f"{title}: returns a map", False, "an (H, W) array of numbers",
                              type(got).__name__, "return the map as a NumPy array")  # fmt: skip
    height, width = case_image(case).shape[1:3]
    if got.shape != (height, width):
        return exercise.check(f"{title}: shape", False, (height, width), got.shape,
                              _shape_hint(got.shape, case))  # fmt: skip
    if not np.isfinite(got).all():
        return exercise.check(f"{title}: no NaN or inf", False, "finite values",
                              f"{int((~np.isfinite(got)).sum())} NaN/inf",
                              "divide by the maximum only when it is above 0")  # fmt: skip
    if got.min() < -1e-6:
        return exercise.check(f"{title}: no negative values", False, "min >= 0",
                              f"min {brief(got.min())}",
                              "keep positive evidence only: the ReLU, np.maximum(cam, 0)")  # fmt: skip
    if abs(got.max() - 1) > 1e-3:
        hint = (
            "the map is zero everywhere, so every weight was 0: the gradient was zero or None. "
            "Call the hook and take the class score inside the GradientTape's with block"
            if got.max() == 0 else "divide the map by its maximum (when that is above 0)"
        )  # fmt: skip
        return exercise.check(f"{title}: maximum is 1", False, 1.0, got.max(), hint)
    error = _distance(got, _accepted(case))
    hint = "" if error < tolerance else _diagnose_map(case, got, tolerance, full)
    if error >= tolerance and not hint:
        hint = (
            "none of the usual mistakes gives your map; compare each step with hint('grad_cam')"
            if full
            else "your map differs from GradCAM's here too; see the first mismatch above"
        )
    return exercise.check(f"{title}: matches GradCAM", error < tolerance,
                          f"max |error| < {tolerance:g}", error, hint)  # fmt: skip


def grad_cam_test(fn, tolerance: float = 0.01) -> bool:
    """Grade Exercise 2.1, ``grad_cam(input_model, image, category_index, layer_name)``.

    Parameters
    ----------
    fn : callable
        The student's function.
    tolerance : float
        Largest absolute difference allowed between the student's map and GradCAM's (maps
        are in [0, 1]).

    Returns
    -------
    bool
        True when every check passed. Never raises for the student's function.

    Raises
    ------
    TypeError, ValueError
        ``tolerance`` is not a number in (0, 1).
    """
    tolerance = check_tolerance(tolerance)

    def body(exercise: Exercise) -> None:
        diagnoses = 0
        for case in GRAD_CAM_CASES:
            image = np.array(case_image(case))  # a writable copy: the student may modify it
            try:
                got = exercise.call(case_model(case), image, case.class_index, case.layer_name)
            except StudentCrash as crash:
                grid = activations_and_gradients(case)[0].shape
                crash.hint = grad_cam_crash_hint(exercise.fn, crash.error, grid)
                raise
            passed = _grade_map(exercise, case, got, tolerance, full=diagnoses < _FULL_DIAGNOSES)
            diagnoses += not passed

    return run_exercise("grad_cam", fn, body)


# --- compute_gradcam ------------------------------------------------------------------------

COMPUTE_GRADCAM_CASES = (
    # Pneumonia is absent from phantom_003 although the model gives it 0.89: a ground truth
    # read off the predictions (p > 0.5) fails here.
    ("phantom_003.png", ("Mass", "Cardiomegaly", "Pneumonia"), "conv3_block8_concat"),
    ("phantom_016.png", ("Edema", "Pneumothorax", "Cardiomegaly"), "relu"),
)


@cache
def _reference_cam(image_name: str, class_index: int, layer_name: str) -> np.ndarray:
    from medinterp.gradcam import grad_cam

    return grad_cam(shipped_model(), example_image(image_name), class_index, layer_name)


@cache
def _probabilities(image_name: str, normalized: bool = True) -> np.ndarray:
    from medinterp.xray import load_image_normalize

    model = shipped_model()
    if normalized:
        image = example_image(image_name)
    else:
        examples, _ = example_set()
        size = model.inputs[0].shape[1]
        image = load_image_normalize(examples.directory / image_name, 0.0, 1.0, H=size, W=size)
    # A plain call: predict() would compile a function, seconds on a first grading.
    return np.asarray(model(image, training=False)[0], dtype=np.float64)


class _ShowGradcamRecorder:
    """Stands in for ``show_gradcam``: records what it is given, returns a marker that the
    student's function must hand back (grading draws nothing, so it needs no matplotlib)."""

    def __init__(self):
        from medinterp.display.gradcam import show_gradcam

        self.signature = inspect.signature(show_gradcam)
        self.figure = type("ShowGradcamFigure", (), {"__repr__": lambda _: "<Figure>"})()
        self.calls = []

    def __call__(self, *args, **kwargs):
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"show_gradcam{self.signature}: {error}") from None
        self.calls.append(bound.arguments)
        return self.figure


def _as_vector(values, length):
    try:
        vector = np.asarray([np.asarray(v, dtype=np.float64).ravel() for v in values]).ravel()
    except (TypeError, ValueError):
        return None
    return vector if vector.shape == (length,) else None


def _check_probabilities(exercise, title, image_name, labels_got, probabilities, selected):
    expected_all = _probabilities(image_name)
    expected = np.array([expected_all[LABELS.index(s)] for s in selected])
    got = _as_vector(probabilities, len(selected))
    iterable = hasattr(labels_got, "__iter__") and not isinstance(labels_got, str)
    labels_got = list(labels_got) if iterable else [labels_got]
    if labels_got != list(selected):
        return exercise.check(f"{title}: labels and probabilities", False, list(selected),
                              brief(list(labels_got)), "pass selected_labels, in their order")  # fmt: skip
    unusable = _unusable(probabilities, lambda p: format(p, ".3f"))
    if unusable is not None:
        return exercise.check(f"{title}: labels and probabilities", False,
                              "one number per label", f"{type(unusable).__name__} of shape "
                              f"{np.shape(unusable)}", "show_gradcam prints f'{p:.3f}', which "
                              "needs a number: take predictions[0][labels.index(label)], not "
                              "a column predictions[:, j]")  # fmt: skip
    passed = got is not None and np.allclose(got, expected, atol=1e-3)
    hint = ""
    if not passed and got is not None:
        raw = _probabilities(image_name, normalized=False)
        if np.allclose(got, [raw[LABELS.index(s)] for s in selected], atol=1e-3):
            hint = "normalise the image with mean and std (load_image_normalize)"
        elif np.allclose(got, expected_all[: len(selected)], atol=1e-3):
            hint = "index the predictions by each label's position: labels.index(label)"
        else:
            hint = "take predictions[0][labels.index(label)] for each selected label"
    return exercise.check(f"{title}: labels and probabilities", passed,
                          dict(zip(selected, expected.tolist(), strict=True)),
                          dict(zip(selected, got.tolist(), strict=True)) if got is not None
                          else brief(probabilities), hint)  # fmt: skip


def _unusable(values, use) -> object:
    """The first of ``values`` that ``show_gradcam`` cannot ``use`` (it asks ``if truth:``
    and formats ``f"{p:.3f}"``), or None when it can use all of them."""
    try:
        items = list(values)
    except TypeError:
        return None  # not a sequence: the vector check names that
    for item in items:
        try:
            use(item)
        except (TypeError, ValueError):
            return item
    return None


def _check_ground_truth(exercise, title, image_name, ground_truth, selected, probabilities):
    examples, _ = example_set()
    row = examples.df.loc[examples.df["Image"] == image_name].iloc[0]
    expected = [int(row[label]) for label in selected]
    if ground_truth is None:
        return exercise.check(f"{title}: ground truth", False, expected, None,
                              "pass ground_truth: df[df['Image'] == img][label].iloc[0] for "
                              "each selected label")  # fmt: skip
    unusable = _unusable(ground_truth, bool)
    if unusable is not None:
        return exercise.check(f"{title}: ground truth", False, "one 0/1 value per label",
                              f"{type(unusable).__name__} of {np.size(unusable)} value(s)",
                              "df[df['Image'] == img][label] is a one-row Series, which has no "
                              "single truth value (show_gradcam asks `if truth:`): take its "
                              "value with .iloc[0]")  # fmt: skip
    got = _as_vector(ground_truth, len(selected))
    passed = got is not None and got.tolist() == expected
    hint = "read each selected label from img's own row: df[df['Image'] == img][label].iloc[0]"
    predicted = _as_vector(probabilities, len(selected))
    if not passed and got is not None and predicted is not None:
        if got.astype(int).tolist() == (predicted > 0.5).astype(int).tolist():
            hint = ("that is the model's prediction, not the truth: the ground truth is the "
                    "label in df, df[df['Image'] == img][label].iloc[0]")  # fmt: skip
    return exercise.check(f"{title}: ground truth", passed, expected,
                          got.astype(int).tolist() if got is not None else brief(ground_truth),
                          hint)  # fmt: skip


def _check_maps(exercise, title, image_name, cams, selected, layer_name):
    size = shipped_model().inputs[0].shape[1]
    try:
        cams = np.asarray(cams, dtype=np.float64)
    except (TypeError, ValueError):
        cams = np.empty(0)
    if cams.shape != (len(selected), size, size):
        return exercise.check(f"{title}: maps at layer {layer_name}", False,
                              f"{len(selected)} maps of {size}x{size}", cams.shape,
                              "one grad_cam(...) map per selected label")  # fmt: skip
    expected = [_reference_cam(image_name, LABELS.index(s), layer_name) for s in selected]
    errors = [float(np.abs(c - e).max()) for c, e in zip(cams, expected, strict=True)]
    passed = max(errors) < 0.01
    hint = ""
    if not passed:
        at_default = [_reference_cam(image_name, LABELS.index(s), "relu") for s in selected]
        if layer_name != "relu" and all(
            np.abs(c - e).max() < 0.01 for c, e in zip(cams, at_default, strict=True)
        ):
            hint = "your maps are at layer relu: pass layer_name on to grad_cam"
        else:
            hint = "call grad_cam(model, image, labels.index(label), layer_name) for each label"
    return exercise.check(f"{title}: maps at layer {layer_name}", passed,
                          "max |error| < 0.01", max(errors), hint)  # fmt: skip


def compute_gradcam_test(fn) -> bool:
    """Grade Exercise 2.2, ``compute_gradcam(model, img, mean, std, data_dir, df, labels,
    selected_labels, layer_name)``, which must call ``show_gradcam`` once with the right
    labels, probabilities, ground truth and maps, and return its figure.

    Returns True when every check passed; never raises for the student's function.
    """

    def body(exercise: Exercise) -> None:
        from medinterp.gradcam import grad_cam

        model = shipped_model()
        examples, metadata = example_set()
        for image_name, selected, layer_name in COMPUTE_GRADCAM_CASES:
            title = f"{image_name} at layer {layer_name}"
            recorder = _ShowGradcamRecorder()
            with (
                replaced_global(exercise.fn, "show_gradcam", recorder),
                replaced_global(exercise.fn, "grad_cam", grad_cam),
            ):
                try:
                    returned = exercise.call(
                        model, image_name, metadata["mean"], metadata["std"], examples.directory,
                        examples.df.copy(), list(LABELS), list(selected), layer_name,
                    )  # fmt: skip
                except StudentCrash as crash:
                    size = model.inputs[0].shape[1]
                    crash.hint = compute_gradcam_crash_hint(crash.error, image_name, size)
                    raise
            calls = recorder.calls
            once = len(calls) == 1
            hint = "build the lists, then return show_gradcam(...) once for all labels"
            if once and returned is not recorder.figure:
                hint = "return the figure: return show_gradcam(...)"
            if not exercise.check(f"{title}: calls show_gradcam once and returns its figure",
                                  once and returned is recorder.figure,
                                  "1 call, its figure returned",
                                  f"{len(calls)} call(s), returned {type(returned).__name__}",
                                  hint):  # fmt: skip
                if not once:
                    continue
            call = calls[0]
            _check_probabilities(exercise, title, image_name, call["labels"],
                                 call["probabilities"], selected)  # fmt: skip
            _check_ground_truth(exercise, title, image_name, call.get("ground_truth"), selected,
                                call["probabilities"])  # fmt: skip
            _check_maps(exercise, title, image_name, call["cams"], selected, layer_name)

    return run_exercise("compute_gradcam", fn, body)
