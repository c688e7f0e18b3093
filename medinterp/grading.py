"""Graders for the notebook's exercises, in the spirit of Kaggle's learntools.

Each ``*_test(fn)`` runs named checks on a student's function and prints every one with
what was expected and what came back, then ``All tests passed`` or how many failed. It
returns True or False and never raises: a student's exception is shown as theirs, naming
the exercise. A function whose code block still holds the template's ``None`` placeholders
is reported as *not attempted*, which is different from *wrong*.

``hint("grad_cam")`` prints the next hint for an exercise.
"""

from __future__ import annotations

import inspect
import re
import traceback
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medinterp.labels import LABELS

PASS, FAIL = "\u2714", "\u2718"
_PLACEHOLDER = re.compile(r"=\s*None\s*(#.*)?$")
_BLOCK = re.compile(r"### START CODE HERE.*?### END CODE HERE", re.DOTALL)


@dataclass
class Check:
    name: str
    passed: bool
    expected: object = None
    got: object = None
    advice: str = ""


class _Exercise:
    """One grading run: collects checks, prints them, turns exceptions into feedback."""

    def __init__(self, name):
        self.name, self.checks = name, []

    def check(self, name, passed, expected=None, got=None, advice=""):
        self.checks.append(Check(name, bool(passed), expected, got, advice))
        return bool(passed)

    def report(self) -> bool:
        failed = [c for c in self.checks if not c.passed]
        for c in self.checks:
            print(f"{PASS if c.passed else FAIL} {c.name}")
            if not c.passed:
                if c.expected is not None or c.got is not None:
                    print(f"    expected: {c.expected}\n    got:      {c.got}")
                if c.advice:
                    print(f"    hint: {c.advice}")
        if failed:
            print(f"{len(failed)} of {len(self.checks)} tests failed for {self.name}.")
        else:
            print("All tests passed")
        return not failed


def _placeholders_left(fn) -> list[str]:
    """Template lines still assigning ``None`` inside the START/END CODE HERE block."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    lines = []
    for block in _BLOCK.findall(source):
        lines += [line.strip() for line in block.splitlines() if _PLACEHOLDER.search(line)]
    return lines


def _student_frames(fn, error):
    """The student's line that failed and, if deeper, the line that raised."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    theirs = [
        f for f in frames
        if code is not None and f.filename == code.co_filename and f.name == code.co_name
    ]  # fmt: skip
    shown = theirs[:1] + ([frames[-1]] if not theirs or frames[-1] is not theirs[0] else [])
    return "".join(traceback.format_list(shown))


def _run(name, fn, body) -> bool:
    """Run ``body(exercise)``; report not attempted, crashed or the checks."""
    print(f"Testing {name}")
    if fn is None or not callable(fn):
        print(f"{FAIL} {name}: not attempted (expected a function, got {fn!r}).")
        return False
    exercise = _Exercise(name)
    try:
        body(exercise)
    except Exception as error:  # noqa: BLE001 - a grader shows the student's error, always
        left = _placeholders_left(fn)
        if left:
            print(f"{FAIL} {name}: not attempted yet. Replace the None placeholders between")
            print("    ### START CODE HERE ### and ### END CODE HERE ###, e.g.:")
            for line in left[:3]:
                print(f"      {line}")
            return False
        print(f"{FAIL} {name} crashed: {type(error).__name__}: {error}")
        print("    where it happened in your code:")
        print("    " + _student_frames(fn, error).replace("\n", "\n    ").rstrip())
        return False
    return exercise.report()


@contextmanager
def _replaced_global(fn, name, replacement):
    """Temporarily swap a global the student's function calls (restored afterwards)."""
    namespace = fn.__globals__
    missing = object()
    original = namespace.get(name, missing)
    namespace[name] = replacement
    try:
        yield
    finally:
        if original is missing:
            del namespace[name]
        else:
            namespace[name] = original


# --- GradCAM ---------------------------------------------------------------------------


def _grading_inputs():
    """The shipped model, three example images and their classes to explain."""
    from medinterp.examples import load_example_set
    from medinterp.gradcam import last_conv_layer
    from medinterp.xray import load_xray_model, preprocess

    model = load_xray_model()
    examples = load_example_set()
    chosen = [i for i in range(len(examples)) if examples.labels(i)][:3]
    batch = preprocess(examples.images[chosen])
    cases = [(k, LABELS.index(examples.labels(i)[0])) for k, i in enumerate(chosen)]
    cases += [(0, LABELS.index("Cardiomegaly")), (1, LABELS.index("Edema"))]
    return model, batch, cases, last_conv_layer(model)


def _gradcam_mistakes(model, image, category, layer_name):
    """Maps from common wrong recipes, to name the mistake when a student's map matches."""
    import tensorflow as tf

    from medinterp.gradcam import _finish, activation_model

    hook = activation_model(model, layer_name)
    with tf.GradientTape() as tape:
        maps, predictions = hook(image, training=False)
        score = predictions[:, category]
    gradients = tape.gradient(score, maps)[0].numpy()
    maps = maps[0].numpy()
    weights = gradients.mean(axis=(0, 1))
    size = image.shape[1:3]
    weighted = (maps * weights).sum(-1)
    return {
        "weights the maps by |gradient| instead of the pooled gradient": _finish(
            np.maximum((maps * np.abs(gradients).mean(axis=(0, 1))).sum(-1), 0), *size
        ),
        "uses only the activations (no gradient weights)": _finish(maps.mean(-1), *size),
        "uses only the gradients (no activations)": _finish(
            np.maximum(gradients.mean(-1), 0), *size
        ),
        "negates the map (ReLU of minus the weighted sum)": _finish(
            np.maximum(-weighted, 0), *size
        ),
    }


def reference_cam(model, image, category_index, layer_name):
    """The package's GradCAM, which the notebook's "Error from reference" compares with."""
    from medinterp.gradcam import grad_cam

    return grad_cam(model, image, category_index, layer_name)


def grad_cam_test(fn, tolerance: float = 0.01) -> bool:
    """Grade Exercise 1, ``grad_cam(input_model, image, category_index, layer_name)``.

    Several images and classes are compared with the reference; the mean absolute error
    must stay under ``tolerance`` (the course's single ``MSE < 0.05`` let wrong maps pass).
    """

    def body(exercise):
        from medinterp.gradcam import grad_cam

        model, batch, cases, layer = _grading_inputs()
        for k, category in cases:
            image = batch[k : k + 1]
            label = LABELS[category]
            got = fn(model, image, category, layer)
            expected = grad_cam(model, image, category, layer)
            where = f"image {k}, {label}"
            if got is None:
                exercise.check(f"{where}: returns a map", False, "an (H, W) array", None,
                               "return cam at the end of the function")  # fmt: skip
                continue
            got = np.asarray(got, dtype=float)
            if not exercise.check(f"{where}: shape", got.shape == expected.shape,
                                  expected.shape, got.shape,
                                  "resize the map to the input image's height and width"):  # fmt: skip
                continue
            finite = exercise.check(f"{where}: no NaN", np.isfinite(got).all(), "finite values",
                                    f"{int((~np.isfinite(got)).sum())} NaN/inf",
                                    "divide by the maximum only when it is above 0")  # fmt: skip
            if not finite:
                continue
            exercise.check(
                f"{where}: values in [0, 1] with maximum 1",
                got.min() >= -1e-6 and abs(got.max() - 1) < 1e-3,
                "min >= 0, max == 1", f"min {got.min():.3f}, max {got.max():.3f}",
                "apply the ReLU, then divide by the maximum",
            )  # fmt: skip
            error = float(np.abs(got - expected).mean())
            advice = ""
            if error >= tolerance:
                advice = _diagnose_gradcam(model, image, category, layer, got)
            exercise.check(f"{where}: matches the reference map", error < tolerance,
                           f"mean |error| < {tolerance}", f"{error:.4f}", advice)  # fmt: skip

    return _run("grad_cam", fn, body)


def _diagnose_gradcam(model, image, category, layer, got):
    from medinterp.gradcam import grad_cam

    for mistake, cam in _gradcam_mistakes(model, image, category, layer).items():
        if np.abs(got - cam).mean() < 0.01:
            return f"your map {mistake}"
    for other in range(len(LABELS)):
        if other != category and np.abs(got - grad_cam(model, image, other, layer)).mean() < 0.01:
            return (
                f"your map is the one for {LABELS[other]} (index {other}): "
                "use category_index to pick the class score"
            )
    return "follow the steps: gradient of the class score, mean over positions, weighted sum, ReLU, resize, divide by max"


# --- compute_gradcam ---------------------------------------------------------------------


def compute_gradcam_test(fn) -> bool:
    """Grade Exercise 2, ``compute_gradcam(model, img, mean, std, data_dir, df, labels,
    selected_labels, layer_name)``, which must call ``show_gradcam`` with the right maps."""

    def body(exercise):
        import matplotlib.pyplot as plt

        from medinterp.examples import load_example_set
        from medinterp.gradcam import grad_cam
        from medinterp.xray import load_image_normalize, load_xray_model, model_metadata

        model = load_xray_model()
        examples = load_example_set()
        metadata = model_metadata()
        mean, std = metadata["mean"], metadata["std"]
        layer = "relu"
        selected = ["Cardiomegaly", "Mass", "Edema"]
        calls = []
        marker = plt.figure()
        plt.close(marker)

        def spy(image, cams, probabilities, labels, ground_truth=None, masks=None):
            calls.append(
                {"image": np.asarray(image), "cams": np.asarray(cams),
                 "probabilities": np.asarray(probabilities, dtype=float), "labels": list(labels)}
            )  # fmt: skip
            return marker

        for img in list(examples.df["Image"].iloc[[1, 3]]):
            calls.clear()
            size = model.inputs[0].shape[1]
            batch = load_image_normalize(examples.directory / img, mean, std, H=size, W=size)
            expected_p = model.predict_on_batch(batch)[0]
            with _replaced_global(fn, "show_gradcam", spy):
                returned = fn(
                    model,
                    img,
                    mean,
                    std,
                    examples.directory,
                    examples.df,
                    list(LABELS),
                    selected,
                    layer,
                )
            if not exercise.check(f"{img}: calls show_gradcam once", len(calls) == 1,
                                  1, len(calls), "build the lists, then call show_gradcam(...)"):  # fmt: skip
                continue
            call = calls[0]
            exercise.check(f"{img}: returns the figure", returned is marker,
                           "the Figure from show_gradcam", type(returned).__name__,
                           "return show_gradcam(...)")  # fmt: skip
            exercise.check(f"{img}: labels are the selected ones, in order", call["labels"] == selected,
                           selected, call["labels"])  # fmt: skip
            expected_probabilities = [expected_p[LABELS.index(s)] for s in selected]
            got_p = call["probabilities"]
            advice = ""
            if got_p.shape == (3,) and not np.allclose(got_p, expected_probabilities, atol=1e-3):
                raw = model.predict_on_batch(
                    load_image_normalize(examples.directory / img, 0.0, 1.0, H=size, W=size)
                )[0]
                if np.allclose(got_p, [raw[LABELS.index(s)] for s in selected], atol=1e-3):
                    advice = "normalise the image with mean and std (load_image_normalize)"
                elif np.allclose(got_p, expected_p[:3], atol=1e-3):
                    advice = "index the predictions by each selected label's position in labels"
                else:
                    advice = "take predictions[0][labels.index(label)] for each selected label"
            exercise.check(f"{img}: probabilities", got_p.shape == (3,) and np.allclose(got_p, expected_probabilities, atol=1e-3),
                           np.round(expected_probabilities, 3).tolist(), np.round(got_p, 3).tolist(), advice)  # fmt: skip
            if call["cams"].shape != (3, size, size):
                exercise.check(
                    f"{img}: one map per selected label", False, (3, size, size), call["cams"].shape
                )
                continue
            for k, label in enumerate(selected):
                expected_cam = grad_cam(model, batch, LABELS.index(label), layer)
                error = float(np.abs(call["cams"][k] - expected_cam).mean())
                exercise.check(f"{img}: map for {label}", error < 0.01, "mean |error| < 0.01",
                               f"{error:.4f}", f"call grad_cam(model, image, labels.index('{label}'), layer_name)")  # fmt: skip

    return _run("compute_gradcam", fn, body)


# --- permute_feature ---------------------------------------------------------------------


def permute_feature_test(fn) -> bool:
    """Grade Exercise 3, ``permute_feature(df, feature)``."""

    def body(exercise):
        rng = np.random.default_rng(0)
        df = pd.DataFrame(
            {"age": np.arange(40.0), "sex": rng.integers(1, 3, 40), "bmi": rng.normal(25, 3, 40)},
            index=np.arange(100, 140),
        )
        original = df.copy()
        np.random.seed(1)
        permuted = fn(df, "age")
        exercise.check("returns a DataFrame", isinstance(permuted, pd.DataFrame), "DataFrame",
                       type(permuted).__name__, "return the permuted copy")  # fmt: skip
        if not isinstance(permuted, pd.DataFrame):
            return
        exercise.check("leaves the input unchanged", df.equals(original), "df unchanged",
                       "df was modified", "work on df.copy(), never on df itself")  # fmt: skip
        exercise.check("keeps the index and columns",
                       permuted.index.equals(df.index) and list(permuted.columns) == list(df.columns),
                       list(df.columns), list(permuted.columns))  # fmt: skip
        others_same = (
            permuted[["sex", "bmi"]]
            .reset_index(drop=True)
            .equals(original[["sex", "bmi"]].reset_index(drop=True))
        )
        exercise.check("other columns untouched", others_same, "sex and bmi unchanged",
                       "they changed", "permute only the named feature's column, not whole rows")  # fmt: skip
        same_values = sorted(permuted["age"].tolist()) == sorted(original["age"].tolist())
        exercise.check("the feature's values are a permutation (each value once)", same_values,
                       "the same 40 values, reordered", f"{permuted['age'].nunique()} distinct values",
                       "use np.random.permutation, not sampling with replacement")  # fmt: skip
        exercise.check("the feature's order changed", not permuted["age"].reset_index(drop=True).equals(
            original["age"].reset_index(drop=True)), "a new order", "the original order",
            "shuffle the column's values")  # fmt: skip
        second = fn(df, "bmi")
        exercise.check("permutes the feature it is given",
                       isinstance(second, pd.DataFrame) and second["age"].equals(original["age"])
                       and not second["bmi"].equals(original["bmi"]),
                       "only bmi changed", "another column changed or bmi kept its order",
                       "use the feature argument, not a fixed column name")  # fmt: skip

    return _run("permute_feature", fn, body)


# --- permutation_importance ---------------------------------------------------------------


def permutation_importance_test(fn, cindex) -> bool:
    """Grade Exercise 4, ``permutation_importance(X, y, model, metric, num_samples=100)``.

    Uses the course's check: y depends on ``important`` only; ``unimportant`` is noise.
    """

    def body(exercise):
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(42)
        X = pd.DataFrame({"important": rng.normal(size=1000), "unimportant": rng.normal(size=1000)})
        y = (1 / (1 + np.exp(-X["important"] * 5)) > 0.5).astype(int).to_numpy()
        model = LogisticRegression().fit(X, y)
        scores_seen = []

        def spy_metric(y_true, scores):
            scores_seen.append(np.asarray(scores, dtype=float).copy())
            return cindex(y_true, scores)

        np.random.seed(0)
        result = fn(X, y, model, spy_metric, num_samples=15)
        is_frame = isinstance(result, pd.DataFrame)
        exercise.check("returns a DataFrame", is_frame, "DataFrame", type(result).__name__,
                       "return pd.DataFrame(importances, index=['importance'], columns=X.columns)")  # fmt: skip
        if not is_frame:
            return
        exercise.check("index is ['importance'] and columns are X's",
                       list(result.index) == ["importance"] and list(result.columns) == list(X.columns),
                       "['importance'] x ['important', 'unimportant']",
                       f"{list(result.index)} x {list(result.columns)}")  # fmt: skip
        baseline_scores = model.predict_proba(X)
        used_positive = any(np.allclose(s, baseline_scores[:, 1]) for s in scores_seen)
        used_negative = any(np.allclose(s, baseline_scores[:, 0]) for s in scores_seen)
        exercise.check("scores the probability of the positive class", used_positive,
                       "metric(y, model.predict_proba(X)[:, 1])",
                       "predict_proba(X)[:, 0]" if used_negative else "no call with the unpermuted scores",
                       "the baseline is metric(y, model.predict_proba(X)[:, 1])")  # fmt: skip
        exercise.check("computes num_samples permutations per feature", len(scores_seen) >= 2 * 15,
                       ">= 30 metric calls for 2 features x 15 samples", len(scores_seen),
                       "loop over range(num_samples) for every feature")  # fmt: skip
        try:
            important = float(result.loc["importance", "important"])
            unimportant = float(result.loc["importance", "unimportant"])
        except (KeyError, TypeError, ValueError):
            return
        advice = ""
        if unimportant > 0.9:
            advice = (
                "importance is |baseline - mean permuted performance|: subtract from the baseline"
            )
        elif important < 0.05 and unimportant > 0.3:
            advice = "permute the feature you are scoring, not another column"
        elif important < 0.05 and unimportant < 0.05:
            advice = "permute the feature before predicting (the scores never changed)"
        exercise.check("important feature ~ 0.5", abs(important - 0.5) < 0.05,
                       "0.50 +- 0.05", f"{important:.3f}", advice)  # fmt: skip
        exercise.check("unimportant feature ~ 0.0", abs(unimportant) < 0.02,
                       "0.00 +- 0.02", f"{unimportant:.3f}", advice)  # fmt: skip

    return _run("permutation_importance", fn, body)


# --- hints -------------------------------------------------------------------------------

HINTS = {
    "grad_cam": [
        "Build the hook once: activation_model(input_model, layer_name) returns "
        "[layer output, predictions].",
        "Inside `with tf.GradientTape() as tape:` call the hook on the image and take "
        "predictions[:, category_index]; then tape.gradient(score, maps).",
        "Weights: the mean of the gradient over the two spatial axes (axis=(0, 1) of the "
        "(h, w, channels) gradient). CAM: sum over channels of maps * weights.",
        "Finish with np.maximum(cam, 0), cv2.resize(cam, (W, H), interpolation=cv2.INTER_LINEAR), "
        "and divide by cam.max() when it is above 0.",
    ],
    "compute_gradcam": [
        "Load the image with load_image_normalize(os.path.join(data_dir, img), mean, std, H, W).",
        "predictions = model.predict(image); the probability of label L is "
        "predictions[0][labels.index(L)].",
        "Collect one grad_cam(...) map and one probability per selected label, then "
        "return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth).",
    ],
    "permute_feature": [
        "Copy first: permuted_df = df.copy().",
        "np.random.permutation(len(df)) gives a new order; apply it to one column's values "
        "with .to_numpy()[order] (assigning a Series would realign it by index).",
    ],
    "permutation_importance": [
        "baseline = metric(y, model.predict_proba(X)[:, 1]).",
        "For each feature, num_samples times: permute it with permute_feature and score the "
        "model on the permuted copy.",
        "importance = abs(baseline - mean of the permuted scores); collect them in a "
        "DataFrame with index ['importance'] and columns X.columns.",
    ],
}
_hints_shown: dict[str, int] = {}


def hint(exercise: str) -> None:
    """Print the next hint for ``exercise`` (call again for more)."""
    if exercise not in HINTS:
        raise ValueError(f"Unknown exercise {exercise!r}. Exercises with hints: {list(HINTS)}")
    shown = _hints_shown.get(exercise, 0)
    hints = HINTS[exercise]
    print(
        f"Hint {min(shown, len(hints) - 1) + 1} of {len(hints)}: {hints[min(shown, len(hints) - 1)]}"
    )
    _hints_shown[exercise] = shown + 1
