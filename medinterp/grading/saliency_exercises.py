"""Grader for Exercise 7.1, ``integrated_gradients(model, image, class_index, baseline,
n_steps)``: the attributions ``(H, W, C)`` of the class **score** (the logit,
:func:`medinterp.saliency.score_model`) along the straight path from ``baseline`` to
``image``.

Graded on three cases: a shipped phantom from a black baseline, another from a blurred one,
and the small random model whose input is not square, with a random baseline and only 4
steps (so an answer that ignores ``n_steps`` shows). Any usual rule for the path integral
is accepted at the given ``n_steps``: left, right or midpoint Riemann sums, the trapezoid
rule, or the mean over ``np.linspace(0, 1, n_steps)`` or ``(0, 1, n_steps + 1)``. A
mismatch is named from NumPy recipes of the usual mistakes, most from the same gradients;
the few that need other gradients are looked for on the first mismatching case only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from medinterp.grading.feedback import Exercise, brief, check_tolerance, run_exercise
from medinterp.grading.xray_cases import example_image, nonsquare_model, shipped_model
from medinterp.labels import LABELS

__all__ = ["integrated_gradients_test", "IG_CASES"]

_POINTS_PER_PASS = 8


@dataclass(frozen=True)
class IgCase:
    """One image, class, baseline and number of steps to grade on."""

    model: str  # "shipped" or "nonsquare"
    image: str  # a shipped phantom's file name, or "random"
    class_index: int
    baseline: str  # "black", "blurred" or "random"
    n_steps: int

    @property
    def title(self) -> str:
        where = self.image if self.model == "shipped" else "non-square 40x56 input"
        label = LABELS[self.class_index] if self.model == "shipped" else f"class {self.class_index}"
        return f"{where}, {label}, {self.baseline} baseline, {self.n_steps} steps"


IG_CASES = (
    IgCase("shipped", "phantom_003.png", LABELS.index("Mass"), "black", 16),
    IgCase("shipped", "phantom_016.png", LABELS.index("Cardiomegaly"), "blurred", 8),
    IgCase("nonsquare", "random", 1, "random", 4),
)


def _model(case):
    return shipped_model() if case.model == "shipped" else nonsquare_model()


@cache
def _inputs(case: IgCase):
    """The case's image and baseline, ``(1, H, W, C)`` float32, read-only."""
    from medinterp.saliency import baseline_images

    if case.model == "shipped":
        image = example_image(case.image)
    else:
        shape = tuple(nonsquare_model().inputs[0].shape[1:])
        image = np.random.default_rng(15).normal(size=(1, *shape)).astype(np.float32)
    if case.baseline == "random":
        baseline = np.random.default_rng(16).normal(0, 0.5, image.shape).astype(np.float32)
    else:
        baseline = baseline_images(image, case.baseline)
    for array in (image, baseline):
        array.flags.writeable = False
    return image, baseline


def _gradients(case: IgCase, points, probability=False):
    """Gradients ``(m, H, W, C)`` of the class score (or probability) at ``baseline + a
    (image - baseline)`` for each a of ``points``, and the scores there."""
    image, baseline = _inputs(case)
    return _along_path(case, baseline, image - baseline, points, probability=probability)


def _along_path(case, start, step, alphas, class_index=None, probability=False):
    """Gradients ``(m, H, W, C)`` and values ``(m,)`` of a class score (or probability) at
    ``start + a * step`` for each a of ``alphas``."""
    import tensorflow as tf

    from medinterp.score_gradients import score_gradients, score_model

    index = case.class_index if class_index is None else class_index
    alphas = np.asarray(alphas, np.float32)
    if not probability and case.model == "shipped":
        # The shipped model's compiled step, which the saliency methods use too (traced once,
        # 16 points per pass): eager passes took most of the grading time. The small model's
        # eager passes cost less than a trace.
        path = start + alphas[:, None, None, None] * step
        gradients, scores = score_gradients(_model(case)).input_gradients(path, [index])
        return gradients[:, 0].astype(np.float64), scores[:, 0]
    model = _model(case) if probability else score_model(_model(case))
    gradients, scores = [], []
    # A few points per backward pass: TensorFlow keeps the memory of the largest batch it
    # has run for the rest of the session (about 20 MB per phantom), so 47 points at once
    # would hold 1 GB of a Binder's 2 GB.
    for first in range(0, len(alphas), _POINTS_PER_PASS):
        chunk = alphas[first : first + _POINTS_PER_PASS, None, None, None]
        path = tf.constant(start + chunk * step)
        with tf.GradientTape() as tape:
            tape.watch(path)
            chosen = model(path, training=False)[:, index]
        gradients.append(tape.gradient(chosen, path).numpy().astype(np.float64))
        scores.append(chosen.numpy())
    return np.concatenate(gradients), np.concatenate(scores)


def _rules(n):
    """The accepted quadrature rules: ``{name: (points, weights)}``."""
    grid = np.arange(n + 1) / n
    trapezoid = np.full(n + 1, 1.0 / n)
    trapezoid[[0, -1]] /= 2
    return {
        "left": (grid[:-1], np.full(n, 1.0 / n)),
        "right": (grid[1:], np.full(n, 1.0 / n)),
        "midpoint": ((np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)),
        "trapezoid": (grid, trapezoid),
        "linspace": (np.linspace(0, 1, n), np.full(n, 1.0 / n)),
        "linspace_inclusive": (grid, np.full(n + 1, 1.0 / (n + 1))),
    }


@cache
def _average_gradients(case: IgCase, probability: bool = False) -> dict:
    """Each rule's average gradient along the path, from one batch of gradients."""
    rules = _rules(case.n_steps)
    points = np.unique(np.concatenate([p for p, _ in rules.values()]))
    gradients, _ = _gradients(case, points, probability=probability)
    averages = {}
    for name, (rule_points, weights) in rules.items():
        rows = np.searchsorted(points, rule_points)
        averages[name] = np.tensordot(weights, gradients[rows], axes=1)
    return averages


def _accepted(case: IgCase) -> list[np.ndarray]:
    image, baseline = _inputs(case)
    difference = (image - baseline)[0].astype(np.float64)
    return [difference * average for average in _average_gradients(case).values()]


def _distance(got, candidates) -> float:
    """Largest absolute difference to the nearest candidate, relative to its largest value."""
    return min(float(np.abs(got - c).max() / max(np.abs(c).max(), 1e-12)) for c in candidates)


def _cheap_mistakes(case: IgCase) -> dict[str, list[np.ndarray]]:
    """Recipes of the usual mistakes from the gradients already computed."""
    image, baseline = _inputs(case)
    image64, difference = image[0].astype(np.float64), (image - baseline)[0].astype(np.float64)
    averages = list(_average_gradients(case).values())
    n = case.n_steps
    at_image, _ = _gradients(case, [1.0])
    at_baseline, _ = _gradients(case, [0.0])
    return {
        "does not multiply the average gradient by (image - baseline)": averages,
        "multiplies by the image instead of (image - baseline)": [image64 * a for a in averages],
        "averages the scores over the batch before the gradient, then averages again: take "
        "the gradient of the sum of the scores (or of each), then one mean over the steps": [
            difference * a / n for a in averages
        ]
        + [difference * a / (n + 1) for a in averages],
        "sums the gradients over the steps: average them (divide by n_steps)": [
            difference * a * n for a in averages
        ]
        + [difference * a * (n + 1) for a in averages],
        "uses the gradient at the image only (gradient x input), not along the path": [
            difference * at_image[0]
        ],
        "uses the gradient at the baseline only, not along the path": [difference * at_baseline[0]],
        "takes the absolute value: integrated gradients are signed": [
            np.abs(difference * a) for a in averages
        ],
        "takes the gradient of the probability (model(...)): the notebook asks for the score, "
        "score_model(model)(...)": [
            difference * a for a in _average_gradients(case, probability=True).values()
        ],
    }


def _costly_mistakes(case: IgCase) -> dict[str, list[np.ndarray]]:
    """Recipes that need gradients at other points or of another class."""
    image, baseline = _inputs(case)
    difference = (image - baseline)[0].astype(np.float64)
    n = case.n_steps
    grid = np.arange(n + 1) / n
    found = {}
    # baseline + a * image: the path ends at image + baseline, not at the image.
    wrong_end = _path_gradients(case, baseline, image, grid)
    found["interpolates baseline + alpha * image: the path must end at the image, "
          "baseline + alpha * (image - baseline)"] = [difference * g for g in wrong_end]  # fmt: skip
    unscaled = _path_gradients(case, baseline, image - baseline, np.arange(n + 1.0))
    found["uses alphas 0, 1, 2, ... (not divided by n_steps): the path overshoots the image, "
          "alphas must run from 0 to 1"] = [difference * g for g in unscaled]  # fmt: skip
    other = (case.class_index + 1) % _model(case).outputs[0].shape[-1]
    another = _path_gradients(case, baseline, image - baseline, grid, class_index=other)
    found["explains another class: use class_index"] = [difference * g for g in another]
    zero = _path_gradients(case, np.zeros_like(image), image, grid)
    found["starts the path at zero, not at the baseline"] = [image[0] * g for g in zero]
    return found


def _path_gradients(case, start, step, alphas, class_index=None):
    """Average logit gradients along ``start + a * step``: over all of ``alphas``, all but
    the last, all but the first, and by the trapezoid rule (the usual rules)."""
    gradients, _ = _along_path(case, start, step, alphas, class_index=class_index)
    left, right = gradients[:-1].mean(axis=0), gradients[1:].mean(axis=0)
    return [gradients.mean(axis=0), left, right, (left + right) / 2]


def _diagnose(case, got, tolerance, full) -> str:
    for words, candidates in _cheap_mistakes(case).items():
        if _distance(got, candidates) < tolerance:
            return f"your answer {words}"
    if full:
        for words, candidates in _costly_mistakes(case).items():
            if _distance(got, candidates) < tolerance:
                return f"your answer {words}"
    return ""


def _grade(exercise: Exercise, case: IgCase, got, tolerance: float, full: bool) -> bool:
    title = case.title
    image, _ = _inputs(case)
    expected_shape = image.shape[1:]
    if got is None:
        return exercise.check(f"{title}: returns attributions", False, "an (H, W, C) array",
                              None, "return the attributions at the end")  # fmt: skip
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return exercise.check(f"{title}: returns attributions", False, "an (H, W, C) array",
                              type(got).__name__, "return a NumPy array")  # fmt: skip
    if got.shape != expected_shape:
        if got.shape == (1, *expected_shape):
            hint = "return one image's attributions: drop the batch axis ([0])"
        elif got.shape == expected_shape[:2]:
            hint = "return the attributions per channel, (H, W, C): do not sum or max them"
        else:
            hint = "the attributions have the image's shape without the batch axis"
        return exercise.check(f"{title}: shape", False, expected_shape, got.shape, hint)
    if not np.isfinite(got).all():
        return exercise.check(f"{title}: no NaN or inf", False, "finite values",
                              f"{int((~np.isfinite(got)).sum())} NaN/inf")  # fmt: skip
    error = _distance(got, _accepted(case))
    hint = "" if error < tolerance else _diagnose(case, got, tolerance, full)
    if error >= tolerance and not hint:
        hint = ("none of the usual mistakes gives your attributions; compare each step with "
                "hint('integrated_gradients')") if full else (
                "your attributions differ here too; see the first mismatch above")  # fmt: skip
    return exercise.check(f"{title}: matches integrated gradients", error < tolerance,
                          f"relative max |error| < {tolerance:g}", brief(error), hint)  # fmt: skip


def integrated_gradients_test(fn, tolerance: float = 0.02) -> bool:
    """Grade Exercise 7.1, ``integrated_gradients(model, image, class_index, baseline,
    n_steps)``.

    Parameters
    ----------
    fn : callable
        The student's function.
    tolerance : float
        Largest absolute difference allowed, relative to the attributions' largest value.

    Returns
    -------
    bool
        True when every check passed. Never raises for the student's function.
    """
    tolerance = check_tolerance(tolerance)

    def body(exercise: Exercise) -> None:
        diagnosed = False
        for case in IG_CASES:
            image, baseline = (np.array(a) for a in _inputs(case))  # writable copies
            got = exercise.call(_model(case), image, case.class_index, baseline, case.n_steps)
            passed = _grade(exercise, case, got, tolerance, full=not diagnosed)
            diagnosed |= not passed

    return run_exercise("integrated_gradients", fn, body)
