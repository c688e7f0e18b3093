"""Graders for the course's exercises, in the spirit of Kaggle's learntools.

Each ``*_test(fn)`` runs named checks on a student's function and prints every one, with
what was expected and what came back under a failed one, then ``All tests passed`` or how
many failed. It returns True or False and never raises for anything the student's function
does; only the grader's own bad arguments (a ``cindex`` that is not a metric, a tolerance
that is not in (0, 1)) raise ``TypeError``/``ValueError``. ``hint(name)`` prints the next
hint for an exercise.

Modules: :mod:`~medinterp.grading.feedback` (the shared feedback framework),
:mod:`~medinterp.grading.gradcam_exercises` (``grad_cam``, ``compute_gradcam``),
:mod:`~medinterp.grading.hook_exercises` (``get_hook``, ``get_gradients``),
:mod:`~medinterp.grading.importance_exercises` (``permute_feature``,
``permutation_importance``), :mod:`~medinterp.grading.shap_exercises`
(``class_one_values``), :mod:`~medinterp.grading.subgroup_exercises` (``subgroup_auc``),
:mod:`~medinterp.grading.saliency_exercises` (``integrated_gradients``),
:mod:`~medinterp.grading.survival_exercises` (``harrell_c``),
:mod:`~medinterp.grading.hints` (hints, read from ``hints.json``),
:mod:`~medinterp.grading.xray_crashes` (the mistakes behind the X-ray exercises' crashes).
"""

from medinterp.grading.feedback import FAIL, PASS
from medinterp.grading.gradcam_exercises import compute_gradcam_test, grad_cam_test
from medinterp.grading.hints import hint, reset_hints
from medinterp.grading.hook_exercises import get_gradients_test, get_hook_test
from medinterp.grading.importance_exercises import (
    permutation_importance_test,
    permute_feature_test,
)
from medinterp.grading.saliency_exercises import integrated_gradients_test
from medinterp.grading.shap_exercises import class_one_values_test
from medinterp.grading.subgroup_exercises import subgroup_auc_test
from medinterp.grading.survival_exercises import harrell_c_test

__all__ = [
    "FAIL",
    "PASS",
    "class_one_values_test",
    "compute_gradcam_test",
    "get_gradients_test",
    "get_hook_test",
    "grad_cam_test",
    "harrell_c_test",
    "hint",
    "integrated_gradients_test",
    "permutation_importance_test",
    "permute_feature_test",
    "reset_hints",
    "subgroup_auc_test",
]
