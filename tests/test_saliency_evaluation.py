"""evaluate_saliency: one row per method and size stratum, with paired bootstrap intervals."""

import numpy as np
import pandas as pd
import pytest

from medinterp.saliency_evaluation import METRICS, bootstrap_table, evaluate_saliency


def _scores(n_cases=30):
    rng = np.random.default_rng(0)
    rows = []
    for case in range(n_cases):
        area = 0.01 if case % 3 == 0 else 0.1
        for method, level in (("good", 0.8), ("bad", 0.1)):
            value = float(rng.random() < level)
            rows.append({"case": case, "method": method, "mask_area": area,
                         **{metric: value for metric in METRICS}})  # fmt: skip
    return pd.DataFrame(rows)


def test_bootstrap_table_has_strata_intervals_and_separates_methods():
    table = bootstrap_table(_scores(), ["good", "bad"], n_bootstrap=300, random_state=0)
    assert list(table.index.get_level_values(0).unique()) == ["all", "small", "large"]
    assert table.loc[("small", "good"), "cases"] == 10
    assert table.loc[("large", "good"), "cases"] == 20
    for metric in METRICS:
        low, mean, high = table[f"{metric}_low"], table[metric], table[f"{metric}_high"]
        assert (low <= mean + 1e-12).all() and (mean <= high + 1e-12).all()
    assert table.loc[("all", "good"), "hit_low"] > table.loc[("all", "bad"), "hit_high"]


@pytest.mark.slow
def test_evaluate_saliency_scores_true_positives_of_fresh_phantoms():
    from medinterp.xray import load_xray_model

    table = evaluate_saliency(load_xray_model(), ["gradcam", "random"], n_images=8, seed=2024,
                              n_bootstrap=50)  # fmt: skip
    everything = table.loc["all"]
    assert list(everything.index) == ["gradcam", "random"]
    assert everything.loc["gradcam", "auprc"] > everything.loc["random", "auprc"]
    assert everything.loc["random", "hit"] <= everything.loc["gradcam", "hit"]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [({"n_images": 0}, "n_images"), ({"options": {"gradient": {}}}, "not evaluated")],
)
def test_bad_arguments(arguments, words):
    with pytest.raises(ValueError, match=words):
        evaluate_saliency(None, ["gradcam"], **arguments)
