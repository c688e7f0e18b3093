"""The graders accept the right answers and reject a bank of wrong ones, by name."""

import numpy as np
import pandas as pd
import pytest

from medinterp import grading
from medinterp.gradcam import grad_cam
from medinterp.gradcam_display import show_gradcam
from medinterp.importance import permute_feature as correct_permute_feature
from medinterp.metrics import cindex
from medinterp.xray import load_image_normalize

# --- permute_feature ----------------------------------------------------------------------


def pf_correct(df, feature):
    permuted = df.copy()
    permuted[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
    return permuted


def pf_mutates_input(df, feature):
    df[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
    return df


def pf_permutes_rows(df, feature):
    return df.sample(frac=1, random_state=0)


def pf_permutes_all_columns(df, feature):
    permuted = df.copy()
    for column in df.columns:
        permuted[column] = df[column].to_numpy()[np.random.permutation(len(df))]
    return permuted


def pf_with_replacement(df, feature):
    permuted = df.copy()
    permuted[feature] = np.random.choice(df[feature].to_numpy(), len(df), replace=True)
    return permuted


def pf_wrong_column(df, feature):
    permuted = df.copy()
    column = df.columns[0]
    permuted[column] = df[column].to_numpy()[np.random.permutation(len(df))]
    return permuted


def pf_no_shuffle(df, feature):
    return df.copy()


def pf_returns_series(df, feature):
    return df[feature].sample(frac=1)


def pf_index_realigned(df, feature):
    permuted = df.copy()
    permuted[feature] = df[feature].sample(frac=1)  # pandas realigns on the index: no change
    return permuted


def pf_raises(df, feature):
    return df.copy().loc[:, feature + "_typo"]


PERMUTE_FEATURE_BANK = {
    pf_mutates_input: "leaves the input unchanged",
    pf_permutes_rows: "other columns untouched",
    pf_permutes_all_columns: "other columns untouched",
    pf_with_replacement: "each value once",
    pf_wrong_column: "permutes the feature it is given",
    pf_no_shuffle: "order changed",
    pf_returns_series: "returns a DataFrame",
    pf_index_realigned: "order changed",
}


def test_permute_feature_correct_passes(capsys):
    assert grading.permute_feature_test(pf_correct) is True
    assert "All tests passed" in capsys.readouterr().out
    assert grading.permute_feature_test(lambda df, f: correct_permute_feature(df, f)) is True


@pytest.mark.parametrize("wrong", PERMUTE_FEATURE_BANK, ids=lambda f: f.__name__)
def test_permute_feature_bank_rejected(wrong, capsys):
    assert grading.permute_feature_test(wrong) is False
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith(grading.FAIL)]
    assert any(PERMUTE_FEATURE_BANK[wrong] in line for line in failing), out
    assert "tests failed" in out and "All tests passed" not in out


def test_crash_is_reported_with_student_frame(capsys):
    assert grading.permute_feature_test(pf_raises) is False
    out = capsys.readouterr().out
    assert "permute_feature crashed: KeyError" in out
    assert "pf_raises" in out and "test_grading.py" in out


# --- permutation_importance ----------------------------------------------------------------


def _baseline(X, y, model, metric):
    return metric(y, model.predict_proba(X)[:, 1])


def pi_correct(X, y, model, metric, num_samples=100):
    baseline = _baseline(X, y, model, metric)
    importances = []
    for feature in X.columns:
        scores = [
            metric(y, model.predict_proba(pf_correct(X, feature))[:, 1]) for _ in range(num_samples)
        ]
        importances.append(abs(baseline - np.mean(scores)))
    return pd.DataFrame([importances], index=["importance"], columns=X.columns)


def pi_no_baseline(X, y, model, metric, num_samples=100):
    _baseline(X, y, model, metric)
    values = [
        np.mean(
            [metric(y, model.predict_proba(pf_correct(X, f))[:, 1]) for _ in range(num_samples)]
        )
        for f in X.columns
    ]
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def pi_never_permutes(X, y, model, metric, num_samples=100):
    baseline = _baseline(X, y, model, metric)
    values = [
        abs(
            baseline
            - np.mean([metric(y, model.predict_proba(X)[:, 1]) for _ in range(num_samples)])
        )
        for _ in X.columns
    ]
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def pi_wrong_feature(X, y, model, metric, num_samples=100):
    baseline = _baseline(X, y, model, metric)
    columns = list(X.columns)
    values = [
        abs(baseline - np.mean([
            metric(y, model.predict_proba(pf_correct(X, columns[-1 - i]))[:, 1])
            for _ in range(num_samples)
        ]))
        for i in range(len(columns))
    ]  # fmt: skip
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def pi_returns_series(X, y, model, metric, num_samples=100):
    return pi_correct(X, y, model, metric, num_samples).loc["importance"]


def pi_negative_class(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 0])
    values = [
        abs(baseline - np.mean([
            metric(y, model.predict_proba(pf_correct(X, f))[:, 0]) for _ in range(num_samples)
        ]))
        for f in X.columns
    ]  # fmt: skip
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def pi_one_sample(X, y, model, metric, num_samples=100):
    return pi_correct(X, y, model, metric, num_samples=1)


def pi_transposed(X, y, model, metric, num_samples=100):
    return pi_correct(X, y, model, metric, num_samples).T


PERMUTATION_IMPORTANCE_BANK = {
    pi_no_baseline: "unimportant feature ~ 0.0",
    pi_never_permutes: "important feature ~ 0.5",
    pi_wrong_feature: "important feature ~ 0.5",
    pi_returns_series: "returns a DataFrame",
    pi_negative_class: "positive class",
    pi_one_sample: "num_samples permutations",
    pi_transposed: "index is ['importance']",
}


def test_permutation_importance_correct_passes(capsys):
    assert grading.permutation_importance_test(pi_correct, cindex) is True
    assert "All tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", PERMUTATION_IMPORTANCE_BANK, ids=lambda f: f.__name__)
def test_permutation_importance_bank_rejected(wrong, capsys):
    assert grading.permutation_importance_test(wrong, cindex) is False
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith(grading.FAIL)]
    assert any(PERMUTATION_IMPORTANCE_BANK[wrong] in line for line in failing), out


def test_no_baseline_gets_pointed_advice(capsys):
    grading.permutation_importance_test(pi_no_baseline, cindex)
    assert "subtract from the baseline" in capsys.readouterr().out


def test_wrong_feature_gets_pointed_advice(capsys):
    grading.permutation_importance_test(pi_wrong_feature, cindex)
    assert "not another column" in capsys.readouterr().out


# --- not attempted ------------------------------------------------------------------------

TEMPLATE = """
def permute_feature(df, feature):
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    permuted_df = None
    permutation = None
    permuted_df[feature] = None
    ### END CODE HERE ###
    return permuted_df
"""


def _define(source, tmp_path, name):
    """Define a function from source in a real file, as a notebook cell would."""
    import importlib.util

    path = tmp_path / f"{name}_module.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"{name}_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_template_is_not_attempted_not_crashed(tmp_path, capsys):
    assert grading.permute_feature_test(_define(TEMPLATE, tmp_path, "permute_feature")) is False
    out = capsys.readouterr().out
    assert "not attempted" in out and "crashed" not in out and "Traceback" not in out
    assert "permuted_df = None" in out


def test_none_is_not_attempted(capsys):
    assert grading.grad_cam_test(None) is False
    assert grading.permutation_importance_test(None, cindex) is False
    out = capsys.readouterr().out
    assert out.count("not attempted") == 2


def test_hints_progress_and_validate(capsys):
    grading._hints_shown.clear()
    grading.hint("permute_feature")
    grading.hint("permute_feature")
    grading.hint("permute_feature")
    out = capsys.readouterr().out
    assert "Hint 1 of 2" in out and out.count("Hint 2 of 2") == 2
    with pytest.raises(ValueError, match="grad_cam"):
        grading.hint("gradcam")


# --- grad_cam -------------------------------------------------------------------------------


def _maps_and_gradients(model, image, category, layer):
    import tensorflow as tf

    from medinterp.gradcam import activation_model

    hook = activation_model(model, layer)
    with tf.GradientTape() as tape:
        maps, predictions = hook(image)
        score = predictions[:, category]
    return maps[0].numpy(), tape.gradient(score, maps)[0].numpy()


def _resize_and_scale(cam, image, scale=True):
    import cv2

    cam = cv2.resize(cam.astype(np.float32), image.shape[2:0:-1], interpolation=cv2.INTER_LINEAR)
    return cam / cam.max() if scale and cam.max() > 0 else cam


def gc_correct(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    cam = np.maximum((maps * gradients.mean(axis=(0, 1))).sum(-1), 0)
    return _resize_and_scale(cam, image)


def gc_no_relu(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    return _resize_and_scale((maps * gradients.mean(axis=(0, 1))).sum(-1), image)


def gc_wrong_class(model, image, category, layer):
    return gc_correct(model, image, (category + 1) % 14, layer)


def gc_not_resized(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    cam = np.maximum((maps * gradients.mean(axis=(0, 1))).sum(-1), 0)
    return cam / cam.max()


def gc_gradient_only(model, image, category, layer):
    _, gradients = _maps_and_gradients(model, image, category, layer)
    return _resize_and_scale(np.maximum(gradients.mean(-1), 0), image)


def gc_activation_only(model, image, category, layer):
    maps, _ = _maps_and_gradients(model, image, category, layer)
    return _resize_and_scale(maps.mean(-1), image)


def gc_negated(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    return _resize_and_scale(np.maximum(-(maps * gradients.mean(axis=(0, 1))).sum(-1), 0), image)


def gc_abs_gradient(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    cam = np.maximum((maps * np.abs(gradients).mean(axis=(0, 1))).sum(-1), 0)
    return _resize_and_scale(cam, image)


def gc_not_normalized(model, image, category, layer):
    maps, gradients = _maps_and_gradients(model, image, category, layer)
    cam = np.maximum((maps * gradients.mean(axis=(0, 1))).sum(-1), 0)
    return _resize_and_scale(cam, image, scale=False)


def gc_returns_nothing(model, image, category, layer):
    gc_correct(model, image, category, layer)


GRAD_CAM_BANK = {
    gc_no_relu: "values in [0, 1]",
    gc_wrong_class: "matches the reference",
    gc_not_resized: "shape",
    gc_gradient_only: "matches the reference",
    gc_activation_only: "matches the reference",
    gc_negated: "matches the reference",
    gc_abs_gradient: "matches the reference",
    gc_not_normalized: "maximum 1",
    gc_returns_nothing: "returns a map",
}
GRAD_CAM_ADVICE = {
    gc_wrong_class: "use category_index",
    gc_not_resized: "resize the map",
    gc_gradient_only: "only the gradients",
    gc_activation_only: "only the activations",
    gc_negated: "negates the map",
    gc_abs_gradient: "|gradient|",
    gc_no_relu: "apply the ReLU",
}


def test_grad_cam_correct_passes(capsys):
    assert grading.grad_cam_test(gc_correct) is True
    assert "All tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", GRAD_CAM_BANK, ids=lambda f: f.__name__)
def test_grad_cam_bank_rejected(wrong, capsys):
    assert grading.grad_cam_test(wrong) is False
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith(grading.FAIL)]
    assert any(GRAD_CAM_BANK[wrong] in line for line in failing), out
    if wrong in GRAD_CAM_ADVICE:
        assert GRAD_CAM_ADVICE[wrong] in out, out


# --- compute_gradcam ------------------------------------------------------------------------


def _course_compute_gradcam(
    normalize=True, by_position=False, reverse=False, give_back=True, layer=None, first_three=False
):
    """A compute_gradcam variant that calls the global show_gradcam, as a notebook cell does."""

    def compute_gradcam(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name):
        size = model.inputs[0].shape[1]
        if not normalize:
            mean, std = 0.0, 1.0
        image = load_image_normalize(data_dir / img, mean, std, H=size, W=size)
        predictions = model.predict(image, verbose=0)
        chosen = list(reversed(selected_labels)) if reverse else list(selected_labels)
        chosen = list(labels[:3]) if first_three else chosen
        layer_name = layer or layer_name
        cams, probabilities = [], []
        for position, label in enumerate(chosen):
            index = position if by_position else labels.index(label)
            cams.append(grad_cam(model, image, index, layer_name))
            probabilities.append(predictions[0][index])
        figure = show_gradcam(image[0], cams, probabilities, chosen)
        return figure if give_back else None

    return compute_gradcam


COMPUTE_GRADCAM_BANK = {
    "not normalised": (dict(normalize=False), "normalise the image"),
    "indexes labels by position": (dict(by_position=True), "selected label's position"),
    "labels in the wrong order": (dict(reverse=True), "labels are the selected ones"),
    "returns nothing": (dict(give_back=False), "returns the figure"),
    "a hard-coded layer": (dict(layer="conv3_block4_concat"), "map for Cardiomegaly"),
    "the first three labels instead of the selected": (dict(first_three=True), "labels are the"),
}


def test_compute_gradcam_correct_passes(capsys):
    assert grading.compute_gradcam_test(_course_compute_gradcam()) is True
    assert "All tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("case", COMPUTE_GRADCAM_BANK)
def test_compute_gradcam_bank_rejected(case, capsys):
    options, message = COMPUTE_GRADCAM_BANK[case]
    assert grading.compute_gradcam_test(_course_compute_gradcam(**options)) is False
    assert message in capsys.readouterr().out


def test_compute_gradcam_that_never_plots(capsys):
    def compute_gradcam(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name):
        return None

    assert grading.compute_gradcam_test(compute_gradcam) is False
    assert "calls show_gradcam once" in capsys.readouterr().out
