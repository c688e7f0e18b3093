"""Banks of student-style answers for every graded exercise.

Each bank module defines ``CORRECT``, a list of correct answers written in the styles
students use (the course's own style among them), and ``WRONG``, a dict mapping each wrong
answer to ``(check, hint)``: a text that the failing check's line must contain, and a text
that the feedback must contain (the named mistake). ``tests/test_grading.py`` runs them;
``python tests/grader_banks`` prints a summary of every bank.
"""

BANKS = (
    "permute_feature_bank",
    "permutation_importance_bank",
    "grad_cam_bank",
    "compute_gradcam_bank",
    "get_hook_bank",
    "get_gradients_bank",
    "class_one_values_bank",
    "subgroup_auc_bank",
    "harrell_c_bank",
    "integrated_gradients_bank",
)
