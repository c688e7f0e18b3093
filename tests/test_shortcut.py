"""The shortcut model and its measurements (issue 16, items 2 and 3)."""

import numpy as np
import pandas as pd
import pytest

from medinterp import LABELS, evaluate_xray, load_xray_model, phantoms, shortcut
from medinterp.xray import model_metadata

# The lesson's goals (medinterp.evaluate_xray): AUC collapse and drain effect (issue 16);
# GradCAM's maximum on the drain and the energy ratio, re-based in issue 22 on the evidence of
# eight trainings (model card, "The shortcut model").
COLLAPSE_GOAL = evaluate_xray.SHORTCUT_COLLAPSE_GOAL
RISE_GOAL = evaluate_xray.SHORTCUT_RISE_GOAL
POINTING_DRAIN_GOAL = evaluate_xray.SHORTCUT_POINTING_DRAIN_GOAL
STANDARD_POINTING_DRAIN_LIMIT = evaluate_xray.STANDARD_POINTING_DRAIN_LIMIT
ENERGY_RATIO_GOAL = evaluate_xray.SHORTCUT_ENERGY_RATIO_GOAL


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
        # 64 treated patients, as recorded on EVALUATION_SEED: on 24 the energy ratio's
        # sampling error alone spans the goal (1.94 on 24, 2.15 on 64 of this stream).
        "attention": shortcut.drain_attention(
            models, n_patients=64, seed=FRESH_SEED, progress=False
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


def _meets_gradcam_goals(attention) -> None:
    """The shortcut model's GradCAM maximum lands on the drain, the standard model's almost
    never, and the shortcut model puts at least twice the standard's energy there."""
    pointing = attention["pointing_drain"]
    assert pointing["shortcut"] >= POINTING_DRAIN_GOAL, attention
    assert pointing["standard"] <= STANDARD_POINTING_DRAIN_LIMIT, attention
    energy = attention["energy_in_drain"]
    assert energy["shortcut"] >= ENERGY_RATIO_GOAL * energy["standard"], attention


@pytest.mark.slow
def test_gradcam_goals_are_met_on_a_fresh_stream(measured):
    _meets_gradcam_goals(measured["attention"])


def test_gradcam_goals_reject_a_model_that_misses_them():
    """Each goal fails on its own: a shortcut map that misses the drain, a standard map that
    finds it, and the standard model's energy raised near the shortcut's."""
    attention = pd.DataFrame(
        {"energy_in_drain": [0.038, 0.082], "pointing_drain": [0.0, 0.438]},
        index=["standard", "shortcut"],
    )
    _meets_gradcam_goals(attention)  # the fresh stream's figures pass
    for column, row, value in (
        ("pointing_drain", "shortcut", 0.25),
        ("pointing_drain", "standard", 0.10),
        ("energy_in_drain", "standard", attention.loc["shortcut", "energy_in_drain"] / 1.9),
    ):
        changed = attention.copy()
        changed.loc[row, column] = value
        with pytest.raises(AssertionError):
            _meets_gradcam_goals(changed)


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


def test_recorded_figures_meet_the_gradcam_goals():
    """The same goals on the recorded EVALUATION_SEED figures (64 treated patients)."""
    figures = model_metadata(variant="shortcut")["measurements"]
    assert figures["pointing_drain"] >= POINTING_DRAIN_GOAL
    assert figures["standard_pointing_drain"] <= STANDARD_POINTING_DRAIN_LIMIT
    assert figures["energy_ratio"] >= ENERGY_RATIO_GOAL


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
