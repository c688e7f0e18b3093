"""The package's own answers to the exercises: what an answer may not call.

The course's library implements several exercises for the lessons after them
(``medinterp.importance.permutation_importance`` is notebook 05's exercise and notebook 08's
tool). An answer that calls the package's implementation of its own exercise has not done
the exercise: the autograder gives that exercise 0 and names the function
(:mod:`medinterp.instructor.verdict`). Third-party libraries (lifelines, scikit-learn) are
the course's business, not the grader's: their answers are not listed.
"""

from __future__ import annotations

__all__ = ["PACKAGE_ANSWERS", "package_answers"]

# {the student's function: the package functions (or classes) that answer it}
PACKAGE_ANSWERS: dict[str, tuple[str, ...]] = {
    "get_hook": ("medinterp.gradcam.activation_model",),
    "get_gradients": (
        "medinterp.gradcam.GradCAM",
        "medinterp.score_gradients.ScoreGradients",
        "medinterp.score_gradients.score_gradients",
    ),
    "grad_cam": (
        "medinterp.gradcam.grad_cam",
        "medinterp.gradcam.GradCAM",
        "medinterp.saliency.saliency_maps",
    ),
    "permute_feature": ("medinterp.importance.permute_feature",),
    "permutation_importance": (
        "medinterp.importance.permutation_importance",
        "medinterp.importance.permutation_importance_details",
        "medinterp.importance.grouped_permutation_importance",
    ),
    "class_one_values": ("medinterp.shapley.select_class",),
    "integrated_gradients": (
        "medinterp.saliency.integrated_gradients_attributions",
        "medinterp.saliency.saliency_maps",
    ),
    "harrell_c": ("medinterp.metrics.harrell_c", "medinterp.survival.harrell_c_score"),
}


def package_answers(functions) -> list[str]:
    """The package functions that answer any of the exercises ``functions`` names."""
    return sorted({name for function in functions for name in PACKAGE_ANSWERS.get(function, ())})
