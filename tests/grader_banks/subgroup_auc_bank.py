"""``subgroup_auc(labels, probabilities, subgroup, label)``: correct styles and wrong answers."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from medinterp.labels import LABELS

# --- correct --------------------------------------------------------------------------------


def course_style(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    auc = roc_auc_score(labels[subgroup, j], probabilities[subgroup, j])
    return auc


def boolean_array_first(labels, probabilities, subgroup, label):
    mask = np.asarray(subgroup, dtype=bool)
    column = list(LABELS).index(label)
    return roc_auc_score(
        np.asarray(labels)[mask][:, column], np.asarray(probabilities)[mask][:, column]
    )


def with_pandas(labels, probabilities, subgroup, label):
    truth = pd.DataFrame(labels, columns=LABELS)
    scores = pd.DataFrame(probabilities, columns=LABELS)
    chosen = np.asarray(subgroup, bool)
    return roc_auc_score(truth.loc[chosen, label], scores.loc[chosen, label])


def with_nonzero(labels, probabilities, subgroup, label):
    rows = np.flatnonzero(np.asarray(subgroup))
    j = LABELS.index(label)
    return roc_auc_score(labels[rows, j], probabilities[rows, j])


def with_compress(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(np.compress(mask, labels[:, j]), np.compress(mask, probabilities[:, j]))


def from_the_roc_curve(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    false_positive_rate, true_positive_rate, _ = roc_curve(labels[mask, j], probabilities[mask, j])
    return float(np.trapezoid(true_positive_rate, false_positive_rate))


def mann_whitney_by_hand(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    y, s = labels[mask, j], probabilities[mask, j]
    positives, negatives = s[y == 1], s[y == 0]
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("only one class in the subgroup")
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return (wins + 0.5 * ties) / (len(positives) * len(negatives))


def keyword_arguments(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(y_score=probabilities[mask, j], y_true=labels[mask, j])


def series_mask_through_pandas(labels, probabilities, subgroup, label):
    mask = pd.Series(subgroup).to_numpy(dtype=bool)
    j = LABELS.index(label)
    return float(roc_auc_score(labels[mask][:, j], probabilities[mask][:, j]))


def with_the_package_cindex(labels, probabilities, subgroup, label):
    from medinterp.metrics import cindex

    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return cindex(labels[mask, j], probabilities[mask, j])


CORRECT = [
    course_style,
    boolean_array_first,
    with_pandas,
    with_nonzero,
    with_compress,
    from_the_roc_curve,
    mann_whitney_by_hand,
    with_the_package_cindex,
    keyword_arguments,
    series_mask_through_pandas,
]

# --- wrong ----------------------------------------------------------------------------------


def ignores_the_subgroup(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    return roc_auc_score(labels[:, j], probabilities[:, j])


def inverted_mask(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = ~np.asarray(subgroup, dtype=bool)
    return roc_auc_score(labels[mask, j], probabilities[mask, j])


def hard_predictions(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(labels[mask, j], probabilities[mask, j] > 0.5)


def arguments_swapped(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(labels[mask, j], 1 - probabilities[mask, j])


def off_by_one_column(labels, probabilities, subgroup, label):
    j = LABELS.index(label) + 1
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(labels[mask, j], probabilities[mask, j])


def fixed_column(labels, probabilities, subgroup, label):
    j = LABELS.index("Pneumothorax")
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(labels[mask, j], probabilities[mask, j])


def mask_as_indices(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    rows = np.asarray(subgroup).astype(int)  # 0/1 used as row numbers
    return roc_auc_score(labels[rows, j], probabilities[rows, j])


def accuracy_instead(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return float(np.mean(labels[mask, j] == (probabilities[mask, j] > 0.5)))


def hides_the_undefined_case(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    if len(set(labels[mask, j])) < 2:
        return 0.5
    return roc_auc_score(labels[mask, j], probabilities[mask, j])


def flips_low_aucs(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    auc = roc_auc_score(labels[mask, j], probabilities[mask, j])
    return max(auc, 1 - auc)


def returns_text(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return f"{roc_auc_score(labels[mask, j], probabilities[mask, j]):.6f}"


def refuses_small_subgroups(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    if mask.sum() < 30:
        return float("nan")
    return roc_auc_score(labels[mask, j], probabilities[mask, j])


def percent(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return 100 * roc_auc_score(labels[mask, j], probabilities[mask, j])


def roc_auc_arguments_swapped(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(probabilities[mask, j], labels[mask, j])


def keyword_arguments_swapped(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return roc_auc_score(y_score=labels[mask, j], y_true=probabilities[mask, j])


def rounded(labels, probabilities, subgroup, label):
    j = LABELS.index(label)
    mask = np.asarray(subgroup, dtype=bool)
    return round(roc_auc_score(labels[mask, j], probabilities[mask, j]), 2)


WRONG = {
    ignores_the_subgroup: ("AUC within the subgroup", "subgroup is not applied"),
    inverted_mask: ("AUC within the subgroup", "mask is inverted"),
    hard_predictions: ("AUC within the subgroup", "not 0/1 predictions"),
    arguments_swapped: ("AUC within the subgroup", "ranking backwards"),
    flips_low_aucs: ("a model that ranks backwards", "don't flip it"),
    returns_text: ("AUC within the subgroup", "return the AUC itself"),
    refuses_small_subgroups: ("a subgroup of 12 people", "roc_auc_score(labels[subgroup, j]"),
    off_by_one_column: ("AUC within the subgroup", "use LABELS.index(label)"),
    fixed_column: ("Effusion, a pandas Series mask", "use LABELS.index(label)"),
    mask_as_indices: ("AUC within the subgroup", "roc_auc_score(labels[subgroup, j]"),
    accuracy_instead: ("AUC within the subgroup", "roc_auc_score(labels[subgroup, j]"),
    hides_the_undefined_case: ("one outcome class", "don't make up a value"),
    percent: ("AUC within the subgroup", "roc_auc_score(labels[subgroup, j]"),
    roc_auc_arguments_swapped: ("roc_auc_score(y_true, y_score)", "arguments are swapped"),
    keyword_arguments_swapped: ("roc_auc_score(y_true, y_score)", "The truth comes first"),
    rounded: ("AUC within the subgroup", "don't round the AUC"),
}

EXERCISE = "subgroup_auc"


def grade(fn):
    from medinterp.grading import subgroup_auc_test

    return subgroup_auc_test(fn)
