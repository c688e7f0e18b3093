"""The graders: every correct style in the banks passes, every wrong answer is rejected by
the check that names its mistake, and the feedback keeps its grammar (not attempted /
crashed / wrong), its length and its manners (no progress bars, state restored)."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from medinterp import grading
from medinterp.grading import feedback
from medinterp.metrics import cindex

sys.path.insert(0, str(Path(__file__).parent))

from grader_banks.judge import judge_correct, judge_wrong  # noqa: E402

TABULAR = (
    "permute_feature_bank",
    "permutation_importance_bank",
    "class_one_values_bank",
    "subgroup_auc_bank",
    "harrell_c_bank",
)
XRAY = (
    "grad_cam_bank",
    "compute_gradcam_bank",
    "get_hook_bank",
    "get_gradients_bank",
    "integrated_gradients_bank",
)


def _bank(name):
    return importlib.import_module(f"grader_banks.{name}")


def _entries(names, correct):
    for name in names:
        bank = _bank(name)
        items = bank.CORRECT if correct else list(bank.WRONG)
        marks = [pytest.mark.slow] if name in XRAY else []
        for fn in items:
            yield pytest.param(name, fn, id=f"{bank.EXERCISE}-{fn.__name__}", marks=marks)


@pytest.mark.parametrize(("bank_name", "fn"), list(_entries(TABULAR + XRAY, correct=True)))
def test_correct_style_passes(bank_name, fn, capsys):
    passed = _bank(bank_name).grade(fn)
    problem = judge_correct(passed, capsys.readouterr().out)
    assert not problem, problem


@pytest.mark.parametrize(("bank_name", "fn"), list(_entries(TABULAR + XRAY, correct=False)))
def test_wrong_answer_rejected_by_its_named_check(bank_name, fn, capsys):
    bank = _bank(bank_name)
    passed = bank.grade(fn)
    out = capsys.readouterr().out
    problem = judge_wrong(passed, out, *bank.WRONG[fn])
    assert not problem, f"{problem}\n{out}"


def test_banks_are_big_enough():
    for name in TABULAR + XRAY:
        bank = _bank(name)
        assert len(bank.CORRECT) >= 8 and len(bank.WRONG) >= 10, name


# --- the judge itself must be able to fail ---------------------------------------------------


def test_judge_rejects_accepted_wrong_and_unnamed_mistakes():
    out = f"Testing x\n{feedback.FAIL} some other check\n    hint: something\n"
    assert judge_wrong(True, "All tests passed", "a", "b") == "ACCEPTED"
    assert "no failing check" in judge_wrong(False, out, "named check", "something")
    assert "lacks" in judge_wrong(False, out, "other check", "the named mistake")
    assert judge_wrong(False, out, "other check", "something") == ""
    assert judge_correct(False, out).startswith("rejected")
    assert judge_correct(True, "All tests passed") == ""


# --- feedback grammar ---------------------------------------------------------------------

TEMPLATE = """
def permute_feature(df, feature):
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    permuted_df = None
    permutation = None
    permuted_df[feature] = None
    ### END CODE HERE ###
    return permuted_df
"""

HALF_DONE = """
import numpy as np

def permute_feature(df, feature):
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    permuted_df = df.copy()
    permutation = None
    permuted_df[feature] = df[feature].to_numpy()[permutation + 1]
    ### END CODE HERE ###
    return permuted_df
"""

TEMPLATE_WITH_LOOPS = """
def permutation_importance(X, y, model, metric, num_samples=100):
    importances = None
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    baseline_performance = None
    for feature in X.columns:
        feature_performance_arr = None
        for sample in range(num_samples):
            permuted_X = None
            feature_performance_arr[sample] = None
        importances.loc["importance", feature] = None
    ### END CODE HERE ###
    return importances.astype(float)
"""


def _define(source, tmp_path, name):
    """Define a function from source in a real file, as a notebook cell would."""
    import importlib.util

    path = tmp_path / f"{name}_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_untouched_template_is_not_attempted_and_not_run(tmp_path, capsys):
    assert grading.permute_feature_test(_define(TEMPLATE, tmp_path, "permute_feature")) is False
    fn = _define(TEMPLATE_WITH_LOOPS, tmp_path, "permutation_importance")
    assert grading.permutation_importance_test(fn, cindex) is False
    out = capsys.readouterr().out
    assert out.count("not attempted yet") == 2
    assert "crashed" not in out and "Traceback" not in out
    assert "permuted_df = None" in out and "baseline_performance = None" in out


def test_an_exception_is_a_crash_never_not_attempted(tmp_path, capsys):
    fn = _define(HALF_DONE, tmp_path, "permute_feature")
    assert grading.permute_feature_test(fn) is False
    out = capsys.readouterr().out
    assert "crashed: TypeError" in out and "not attempted" not in out
    assert "permuted_df[feature] = df[feature].to_numpy()[permutation + 1]" in out  # their line
    assert "1 line(s) between START and END CODE HERE still assign None" in out
    assert "Traceback" not in out and len(out.splitlines()) <= 6


def test_none_and_non_functions(capsys):
    assert grading.get_hook_test(None) is False
    assert grading.get_gradients_test(None) is False
    assert grading.grad_cam_test(None) is False
    assert grading.permutation_importance_test(None, cindex) is False
    assert grading.permute_feature_test(42) is False
    out = capsys.readouterr().out
    assert out.count("not attempted") == 4 and "expected a function, got int" in out


def test_crash_messages_are_capped(capsys):
    def permute_feature(df, feature):
        raise ValueError("unique values: " + ", ".join(str(v) for v in range(5000)))

    assert grading.permute_feature_test(permute_feature) is False
    out = capsys.readouterr().out
    assert "crashed: ValueError" in out
    assert max(len(line) for line in out.splitlines()) <= feedback.MAX_TEXT + 20
    assert len(out.splitlines()) <= 5


def test_a_student_error_inside_the_metric_is_still_theirs(capsys):
    def permutation_importance(X, y, model, metric, num_samples=100):
        metric(y, model.predict_proba(X))  # two columns: the metric refuses them

    assert grading.permutation_importance_test(permutation_importance, cindex) is False
    out = capsys.readouterr().out
    assert "crashed: ValueError" in out and "grader itself failed" not in out


def test_grader_restores_numpy_random_state_and_globals():
    np.random.seed(123)
    before = np.random.random(3)
    np.random.seed(123)

    def permute_feature(df, feature):
        permuted = df.copy()
        permuted[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
        return permuted

    assert grading.permute_feature_test(permute_feature) is True
    np.testing.assert_array_equal(np.random.random(3), before)

    namespace = {}
    exec("def f():\n    return helper()", namespace)  # noqa: S102 - a notebook-like global
    with feedback.replaced_global(namespace["f"], "helper", lambda: "swapped"):
        assert namespace["f"]() == "swapped"
    assert "helper" not in namespace
    # A call inside a comprehension or a lambda is swapped too (found by the simulated
    # class: a list-comprehension answer was graded with the student's wrong helper).
    exec("def g():\n    return [helper() for _ in range(2)] + [(lambda: helper())()]", namespace)  # noqa: S102
    namespace["helper"] = lambda: "own"
    with feedback.replaced_global(namespace["g"], "helper", lambda: "swapped"):
        assert namespace["g"]() == ["swapped"] * 3
    assert namespace["g"]() == ["own"] * 3


def test_a_call_of_the_package_answer_is_named_and_every_binding_put_back(capsys):
    import medinterp.importance as importance

    original = importance.permute_feature
    namespace = {"lib_shuffle": original}
    exec(  # noqa: S102 - a notebook cell that keeps the package's function under its own name
        "def permute_feature(df, feature):\n    return lib_shuffle(df, feature)", namespace
    )
    assert grading.permute_feature_test(namespace["permute_feature"]) is False
    out = capsys.readouterr().out
    assert "is your own code" in out and "medinterp.importance.permute_feature" in out
    assert importance.permute_feature is original and namespace["lib_shuffle"] is original
    # The graders' own calls of the package are not the student's: grad_cam_test compares
    # with medinterp.gradcam.grad_cam, and its correct styles pass (the bank above).


def test_brief_rounds_float32_noise_and_cuts_long_text():
    assert feedback.brief(np.float32(0.003)) == "0.003"
    assert feedback.brief(-0.0001) == "-1.0e-04"
    assert feedback.brief(-0.0004, digits=2) == "-4.0e-04"
    assert feedback.brief({"a": np.float32(0.1), "b": -0.25}) == "{a: 0.100, b: -0.250}"
    assert len(feedback.brief("x" * 1000)) == feedback.MAX_TEXT
    assert feedback.brief("two\nlines") == "two lines"


def test_identical_hints_are_printed_once(capsys):
    exercise = feedback.Exercise("demo", lambda: None)
    exercise.check("first", False, 1, 2, "the same advice")
    exercise.check("second", False, 1, 2, "the same advice")
    assert exercise.report() is False
    out = capsys.readouterr().out
    assert out.count("the same advice") == 1 and "hint: as above" in out


# --- the graders' own arguments -------------------------------------------------------------


def _course_permutation_importance(X, y, model, metric, num_samples=100):
    return _bank("permutation_importance_bank").course_style(X, y, model, metric, num_samples)


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ("cindex", TypeError, "cindex must be the metric function"),
        (None, TypeError, "cindex must be the metric function"),
        (lambda y_true, scores: "high", ValueError, "raised ValueError"),
        (lambda y_true: 1.0, ValueError, "cindex must be a metric"),
        (lambda y_true, scores: float("nan"), ValueError, "finite"),
    ],
)
def test_permutation_importance_test_rejects_a_bad_metric(bad, error, words):
    with pytest.raises(error, match=words):
        grading.permutation_importance_test(_course_permutation_importance, bad)


@pytest.mark.parametrize(
    ("tolerance", "error"), [(0, ValueError), (-0.01, ValueError), (1.5, ValueError),
                             ("0.01", TypeError), (True, TypeError), (float("nan"), ValueError)]
)  # fmt: skip
def test_grad_cam_test_rejects_a_bad_tolerance(tolerance, error):
    with pytest.raises(error, match="tolerance"):
        grading.grad_cam_test(lambda *args: None, tolerance=tolerance)


# --- speed-related behaviour and output hygiene (no timing asserts) ---------------------------


@pytest.mark.slow
def test_the_model_is_loaded_once_per_kernel(monkeypatch):
    from medinterp.grading import xray_cases

    first = xray_cases.shipped_model()
    import medinterp.xray

    monkeypatch.setattr(medinterp.xray, "load_xray_model", lambda *a: pytest.fail("reloaded"))
    assert xray_cases.shipped_model() is first


CHATTY_COMPUTE_GRADCAM = """
import os

from medinterp.gradcam import grad_cam
from medinterp.display.gradcam import show_gradcam
from medinterp.xray import load_image_normalize


def compute_gradcam(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name):
    print("my debug line")
    size = model.inputs[0].shape[1]
    image = load_image_normalize(os.path.join(data_dir, img), mean, std, H=size, W=size)
    predictions = model.predict(image)
    cams = [grad_cam(model, image, labels.index(label), layer_name) for label in selected_labels]
    probabilities = [predictions[0][labels.index(label)] for label in selected_labels]
    ground_truth = [df[df["Image"] == img][label].iloc[0] for label in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)
"""


@pytest.mark.slow
def test_no_progress_bars_but_student_prints_kept(tmp_path, capsys):
    fn = _define(CHATTY_COMPUTE_GRADCAM, tmp_path, "compute_gradcam")
    assert grading.compute_gradcam_test(fn) is True
    out = capsys.readouterr().out
    assert out.count("my debug line") == 2
    assert "step" not in out and "\u2501" not in out  # Keras' "1/1 ━━━━ 0s 40ms/step"


@pytest.mark.slow
def test_grad_cam_grading_uses_a_non_square_input_and_non_pooling_layers(capsys):
    from medinterp.grading.gradcam_exercises import GRAD_CAM_CASES
    from medinterp.grading.xray_cases import activations_and_gradients, case_image

    assert any(case_image(case).shape[1] != case_image(case).shape[2] for case in GRAD_CAM_CASES)
    varying = 0
    for case in GRAD_CAM_CASES:
        maps, gradients = activations_and_gradients(case)
        assert maps.max() > 0 and np.abs(gradients).max() > 0, case
        varying += not np.allclose(gradients[0], gradients[0][:1, :1], rtol=1e-3, atol=1e-9)
    assert varying >= 2  # the gradient differs over positions at layers not feeding pooling


# --- hints -------------------------------------------------------------------------------------


def test_hints_progress_and_validate(capsys):
    grading.reset_hints()
    for _ in range(4):
        grading.hint("permute_feature")
    out = capsys.readouterr().out
    assert "Hint 1 of 3" in out and "Hint 2 of 3" in out and out.count("Hint 3 of 3") == 2
    with pytest.raises(ValueError, match="grad_cam"):
        grading.hint("gradcam")
    with pytest.raises(TypeError, match="exercise name"):
        grading.hint(3)


def test_hints_name_their_level_and_say_when_they_run_out(capsys):
    grading.reset_hints()
    for _ in range(4):
        grading.hint("get_hook")
    out = capsys.readouterr().out
    assert "Hint 1 of 3, the idea:" in out and "Hint 2 of 3, the API:" in out
    assert "Hint 3 of 3, the key line:" in out
    assert "Hint 3 of 3 again (there are no more" in out
    grading.reset_hints()
    grading.hint("get_hook")
    assert "Hint 1 of 3, the idea" in capsys.readouterr().out


# The exercises whose hints follow the policy in medinterp.grading.hints (issue 24 item 17).
POLICY_EXERCISES = {
    "get_hook": "01_hooks_and_gradients",
    "get_gradients": "01_hooks_and_gradients",
    "grad_cam": "02_gradcam",
    "compute_gradcam": "02_gradcam",
    "subgroup_auc": "04_shortcut_learning",
    "permute_feature": "05_permutation_importance",
    "permutation_importance": "05_permutation_importance",
    "class_one_values": "06_shap",
    "harrell_c": "08_importance_pitfalls",
    "integrated_gradients": "07_comparing_saliency_methods",
}


def _solution_lines(notebook: str, function: str) -> list[str]:
    import nbformat

    path = Path(__file__).parents[1] / "notebooks" / "source" / f"{notebook}.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        if f"def {function}(" in cell.source and "### BEGIN SOLUTION" in cell.source:
            body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            return [line.strip() for line in body.splitlines() if line.strip()[:1] not in "#"]
    raise AssertionError(f"no solution cell for {function} in {notebook}")


@pytest.mark.parametrize("exercise", POLICY_EXERCISES)
def test_the_last_hint_shows_key_lines_never_the_whole_answer(exercise):
    from medinterp.grading.hints import hints

    items = hints()[exercise]
    assert 3 <= len(items) <= 4, "the idea, the API (once or twice), the key line"
    assert "___" in items[-1], "the last hint is a skeleton with blanks"
    solution = _solution_lines(POLICY_EXERCISES[exercise], exercise)
    shown = [line for line in solution if any(line in item for item in items)]
    assert len(shown) <= 2 and len(shown) < len(solution), shown


def test_every_graded_exercise_has_hints():
    from medinterp.grading.hints import hints

    for name in ("get_hook", "get_gradients", "grad_cam", "compute_gradcam", "permute_feature",
                 "permutation_importance", "harrell_c"):  # fmt: skip
        assert len(hints()[name]) >= 2, name


def test_hints_are_signed_like_the_grader():
    from medinterp.grading.hints import hints

    text = " ".join(hints()["permutation_importance"])
    assert "abs(" not in text and "signed" in text


# --- odd answers never make a grader raise ---------------------------------------------------

ODD_RETURNS = ("text", 3, [1, 2], {"a": 1}, np.zeros((2, 2, 2)), float("nan"))


@pytest.mark.parametrize("value", ODD_RETURNS, ids=lambda v: type(v).__name__)
def test_tabular_graders_answer_false_to_odd_returns(value, capsys):
    import pandas as pd

    assert grading.permute_feature_test(lambda df, feature: value) is False
    assert (
        grading.permutation_importance_test(lambda X, y, m, f, num_samples=100: value, cindex)
        is False
    )
    odd_frame = pd.DataFrame(
        {"strong": ["a"], "noise": [None], "reversed": [object()]}, index=["importance"]
    )
    assert (
        grading.permutation_importance_test(lambda X, y, m, f, num_samples=100: odd_frame, cindex)
        is False
    )

    def as_text(X, y, model, metric, num_samples=100):
        return _course_permutation_importance(X, y, model, metric, num_samples).astype(str) + "!"

    def returns_once_then_none(df, feature, calls=[]):  # noqa: B006 - counts calls on purpose
        calls.append(feature)
        return df.copy() if len(calls) == 1 else None

    assert grading.permutation_importance_test(as_text, cindex) is False
    assert grading.permute_feature_test(returns_once_then_none) is False
    out = capsys.readouterr().out
    assert "grader itself failed" not in out and "Traceback" not in out


@pytest.mark.slow
@pytest.mark.parametrize("value", ODD_RETURNS, ids=lambda v: type(v).__name__)
def test_xray_graders_answer_false_to_odd_returns(value, capsys):
    assert grading.grad_cam_test(lambda model, image, k, layer: value) is False
    assert grading.get_hook_test(lambda model, layer: value) is False
    assert grading.get_gradients_test(lambda model, image, k, layer: value) is False
    assert grading.integrated_gradients_test(lambda model, image, k, baseline, n: value) is False
    out = capsys.readouterr().out
    assert "grader itself failed" not in out and "Traceback" not in out


def test_expected_and_got_never_print_alike_when_they_differ(capsys):
    exercise = feedback.Exercise("demo", lambda: None)
    exercise.check("close numbers", False, {"a": 0.2061}, {"a": 0.20612}, "")
    exercise.check("same text", False, "same", "same", "")
    exercise.report()
    lines = capsys.readouterr().out.splitlines()
    assert "expected: {a: 0.206100}" in lines[1] and "got:      {a: 0.206120}" in lines[2]
