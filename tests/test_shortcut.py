"""The shortcut model and its measurements (issue 16, items 2 and 3)."""

import numpy as np
import pytest

from medinterp import LABELS, load_xray_model, phantoms, shortcut
from medinterp.xray import model_metadata

# The lesson's goals (issue 16): AUC collapse, drain effect, GradCAM energy ratio.
COLLAPSE_GOAL, RISE_GOAL, ENERGY_RATIO_GOAL = 0.10, 0.3, 3.0
# A goal the shipped shortcut model misses, with the figures measured (see its metadata).
# Strict: once a retrained model meets it, the xfail fails and must be removed.
ENERGY_SHORTFALL = (
    "GradCAM energy ratio goal (>= 3) not met: 2.45 on 64 EVALUATION_SEED patients "
    "(0.084 vs 0.034), 1.9 on 24 FRESH_SEED patients (0.079 vs 0.041)"
)


@pytest.fixture(scope="module")
def models():
    return {variant: load_xray_model(variant=variant) for variant in ("standard", "shortcut")}


# Phantoms no model was trained on: neither TRAIN_SEED, VALIDATION_SEED nor the recorded
# figures' EVALUATION_SEED, so this is a second, independent sample, not a replay.
FRESH_SEED = 16


@pytest.fixture(scope="module")
def measured(models):
    """The three measurements, small enough for CI."""
    assert FRESH_SEED not in (
        phantoms.TRAIN_SEED, phantoms.VALIDATION_SEED, phantoms.EVALUATION_SEED
    )  # fmt: skip
    result = {
        "collapse": shortcut.auc_collapse(models, n_patients=400, seed=FRESH_SEED, progress=False),
        "effect": shortcut.drain_effect(models, n_patients=60, seed=FRESH_SEED, progress=False),
        "attention": shortcut.drain_attention(
            models, n_patients=24, seed=FRESH_SEED, progress=False
        ),
    }
    for table in result.values():
        print(table.round(3).to_string(), end="\n\n")
    return result


@pytest.mark.slow
def test_only_the_shortcut_model_loses_auc_without_drains(measured):
    collapse = measured["collapse"]
    assert collapse.loc["shortcut", "treated"] > 0.7 * collapse.loc["shortcut", "positives"]
    assert collapse.loc["standard", "collapse"] < 0.0 < collapse.loc["shortcut", "collapse"]
    assert collapse.loc["shortcut", "auc_untreated"] < collapse.loc["standard", "auc_untreated"]


@pytest.mark.slow
def test_auc_collapse_meets_the_goal(measured):
    assert measured["collapse"].loc["shortcut", "collapse"] >= COLLAPSE_GOAL


@pytest.mark.slow
def test_a_drain_alone_raises_the_shortcut_models_pneumothorax_probability(measured):
    effect = measured["effect"]
    assert effect.loc["shortcut", "rise"] >= RISE_GOAL, effect
    assert effect.loc["standard", "rise"] <= effect.loc["shortcut", "rise"] / 3, effect


@pytest.mark.slow
def test_gradcam_finds_the_drain(measured):
    attention = measured["attention"]
    energy = attention["energy_in_drain"]
    assert energy["shortcut"] > 2 * attention.loc["shortcut", "drain_area"]  # beats a flat map
    assert energy["shortcut"] > energy["standard"]
    assert attention.loc["shortcut", "pointing_drain"] > attention.loc["standard", "pointing_drain"]
    assert (
        attention.loc["shortcut", "pointing_pneumothorax"]
        < attention.loc["standard", "pointing_pneumothorax"] + 0.1
    )


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=ENERGY_SHORTFALL)
def test_gradcam_energy_ratio_meets_the_goal(measured):
    energy = measured["attention"]["energy_in_drain"]
    assert energy["shortcut"] >= ENERGY_RATIO_GOAL * energy["standard"]


def test_recorded_figures_are_consistent():
    metadata = model_metadata(variant="shortcut")
    figures = metadata["measurements"]
    assert figures["confounded_drain_probability"] == metadata["training"]["drain_probability"]
    assert figures["seed"] == phantoms.EVALUATION_SEED
    assert figures["energy_ratio"] == pytest.approx(
        figures["energy_in_drain"] / figures["standard_energy_in_drain"], rel=5e-3
    )
    assert figures["collapse"] == pytest.approx(
        figures["auc_confounded"] - figures["auc_untreated"], abs=2e-4
    )


def test_recorded_figures_meet_the_collapse_and_drain_effect_goals():
    figures = model_metadata(variant="shortcut")["measurements"]
    assert figures["collapse"] >= COLLAPSE_GOAL > figures["standard_collapse"]
    assert figures["rise"] >= RISE_GOAL and figures["standard_rise"] <= figures["rise"] / 3


@pytest.mark.xfail(strict=True, reason=ENERGY_SHORTFALL)
def test_recorded_figures_meet_the_energy_goal():
    assert model_metadata(variant="shortcut")["measurements"]["energy_ratio"] >= ENERGY_RATIO_GOAL


def test_measurements_are_deterministic_and_per_model(models):
    """Two names for one model give identical rows; the two shipped models differ."""
    twice = {"a": models["standard"], "b": models["standard"], "shortcut": models["shortcut"]}
    effect = shortcut.drain_effect(twice, n_patients=6, seed=17, progress=False)
    assert list(effect.index) == ["a", "b", "shortcut"]
    np.testing.assert_array_equal(effect.loc["a"].to_numpy(), effect.loc["b"].to_numpy())
    assert effect.loc["a", "rise"] != effect.loc["shortcut", "rise"]
    assert effect["rise"].to_numpy() == pytest.approx(
        (effect["probability_with"] - effect["probability_without"]).to_numpy()
    )
    attention = shortcut.drain_attention(twice, n_patients=4, seed=17, progress=False)
    assert set(attention.columns) == {
        "cases", "energy_in_drain", "drain_area", "pointing_drain", "pointing_pneumothorax"
    }  # fmt: skip
    assert attention[["energy_in_drain", "pointing_drain"]].stack().between(0, 1).all()
    np.testing.assert_array_equal(attention.loc["a"].to_numpy(), attention.loc["b"].to_numpy())


def test_treated_patients_have_a_pneumothorax():
    patients = shortcut.treated_patients(5, seed=17)
    assert patients == sorted(patients) and len(set(patients)) == 5
    for index in patients:
        assert phantoms.sample_labels(17, index)[LABELS.index("Pneumothorax")] == 1
    skipped = set(range(patients[-1])) - set(patients)
    assert all(phantoms.sample_labels(17, i)[LABELS.index("Pneumothorax")] == 0 for i in skipped)


def test_bad_arguments_are_refused(models):
    with pytest.raises(TypeError, match="mapping"):
        shortcut.drain_effect(models["standard"], n_patients=2)
    with pytest.raises(TypeError, match="mapping"):
        shortcut.drain_effect({}, n_patients=2)
    with pytest.raises(TypeError, match="Keras model"):
        shortcut.drain_effect({"standard": "xray_densenet"}, n_patients=2)
    with pytest.raises(ValueError, match="n_patients must be at least"):
        shortcut.drain_effect(models, n_patients=0)
    with pytest.raises(TypeError, match="n_patients must be an integer"):
        shortcut.auc_collapse(models, n_patients=20.0)
    with pytest.raises(ValueError, match="drain_probability"):
        shortcut.auc_collapse(models, n_patients=20, drain_probability=(2, 0))
    with pytest.raises(ValueError, match="no positive"):
        shortcut.auc_collapse(models, n_patients=2, seed=17, progress=False)
    with pytest.raises(ValueError, match="missing"):
        shortcut.measure_shortcut({"standard": models["standard"]})
