"""The shipped X-ray model: weights hash, architecture, quality on fresh phantoms, training."""

import json
import shutil

import numpy as np
import pytest

from medinterp import LABELS, load_xray_model, phantoms
from medinterp.data import assets_dir
from medinterp.xray import (
    METADATA_FILE,
    WEIGHTS_FILE,
    WeightsHashError,
    model_metadata,
    preprocess,
)


@pytest.fixture(scope="module")
def model():
    return load_xray_model()


def test_architecture_reads_like_densenet(model):
    names = [layer.name for layer in model.layers]
    for name in ("conv1_conv", "pool1", "conv2_block1_concat", "pool2_pool", "conv3_block8_concat",
                 "bn", "relu", "avg_pool", "predictions"):  # fmt: skip
        assert name in names
    assert tuple(model.get_layer("relu").output.shape[1:3]) == (16, 16)  # at least 8x8
    assert model.outputs[0].shape[-1] == 14
    assert model.get_layer("predictions").activation.__name__ == "sigmoid"


def test_metadata_is_consistent(model):
    metadata = model_metadata()
    assert metadata["labels"] == list(LABELS)
    assert metadata["input_size"] == model.inputs[0].shape[1]
    assert 0 < metadata["std"] and 0 < metadata["mean"] < 255


def test_model_separates_findings_on_fresh_phantoms(model):
    """A quick quality floor on 200 unseen phantoms (the full table is in the model card)."""
    from sklearn.metrics import roc_auc_score

    images, labels, _ = phantoms.generate(200, seed=phantoms.EVALUATION_SEED, start=5000)
    scores = model.predict_on_batch(preprocess(images))
    aucs = [
        roc_auc_score(labels[:, j], scores[:, j]) for j in range(14) if 0 < labels[:, j].sum() < 200
    ]
    assert np.mean(aucs) > 0.85, aucs


def test_corrupt_weights_are_refused(tmp_path):
    shutil.copy(assets_dir() / WEIGHTS_FILE, tmp_path / WEIGHTS_FILE)
    with open(tmp_path / WEIGHTS_FILE, "r+b") as handle:
        handle.seek(4096)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(WeightsHashError, match="sha256"):
        load_xray_model(tmp_path / WEIGHTS_FILE)


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_xray"):
        load_xray_model(tmp_path / WEIGHTS_FILE)


@pytest.mark.slow
def test_training_smoke_is_deterministic(tmp_path):
    """The training code runs end to end on a few images and repeats itself bit for bit."""
    from medinterp.train_xray import train

    weights = []
    for run in ("first", "second"):
        output = tmp_path / run
        train(
            epochs=1,
            steps_per_epoch=2,
            batch_size=4,
            output_dir=output,
            validation_size=8,
            verbose=0,
        )
        metadata = json.loads((output / METADATA_FILE).read_text())
        assert metadata["training"]["images_seen"] == 8
        assert metadata["labels"] == list(LABELS)
        trained = load_xray_model(output / WEIGHTS_FILE)
        weights.append(trained.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gradcam_localizes_large_findings(model):
    """Where GradCAM works on phantoms (see the model card), its peak is mostly in the mask,
    and the map puts more mass in the mask than a uniform map would, for every label but
    Emphysema (whose mask is the whole lungs, while its signs include the diaphragm)."""
    from medinterp.evaluate_xray import evaluate_localization

    table = evaluate_localization(model, n_images=96)
    for label in ("Cardiomegaly", "Hernia", "Effusion"):
        assert table.loc[label, "pointing_game"] > 0.5, table
    others = table.drop(index="Emphysema")
    assert (others["energy_in_mask"] > others["mask_area"]).all(), table
    # No map beats the best its resolution allows, and every hit is also a near miss.
    assert (table["pointing_game"] <= table["ceiling"]).all(), table
    assert (table["pointing_game"] <= table["within_one_cell"]).all(), table
    assert table.loc["overall", "cases"] == table.drop(index="overall")["cases"].sum()


def _card(strict, tolerant, baseline, nodule_ceiling=0.4):
    import pandas as pd

    from medinterp.evaluate_xray import model_card

    labels = list(LABELS)
    auc = pd.DataFrame({"positives": 10, "auc": 0.9}, index=[*labels, "mean"])
    localization = pd.DataFrame(
        {
            "cases": 5,
            "pointing_game": strict,
            "pointing_game_15px": tolerant,
            "center_15px": baseline,
            "ceiling": [nodule_ceiling if label == "Nodule" else 1.0 for label in labels] + [0.95],
            "within_one_cell": 0.9,
            "energy_in_mask": 0.2,
            "mask_area": 0.05,
        },
        index=[*labels, "overall"],
    )
    metadata = dict(
        model_metadata(), evaluation_n=1000, localization_n=500, localization_layer="relu",
        localization_grid=16, image_size=256, pointing_tolerance=15,
    )  # fmt: skip
    return model_card(auc, localization, metadata)


@pytest.mark.parametrize(
    ("tolerant", "baseline", "met"),
    [
        (0.77, 0.15, True),  # today's figures
        (0.69, 0.15, False),  # under 0.70
        (0.77, 0.60, False),  # 0.70 reached, but not 0.25 above the centre point
        (0.70, 0.45, True),  # both bounds exactly
    ],
)
def test_model_card_verdict_follows_both_goals(tolerant, baseline, met):
    card = _card(0.37, tolerant, baseline)
    assert ("**it is met.**" in card) is met
    assert ("**it is not met.**" in card) is not met


def test_model_card_reports_the_scores_and_what_limits_it():
    card = _card(0.37, 0.77, 0.15)
    assert "points at the finding in 77% of all cases, against\n  15% for the centre point" in card
    assert "The strict hit is 37%" in card
    # The resolution ceiling names only the labels it limits, with their values.
    assert "labels whose ceiling is below 0.95: Nodule (0.40)." in card
    assert "below 0.95: none." in _card(0.37, 0.77, 0.15, nodule_ceiling=1.0)
    assert "| Nodule | 5 | 0.37 | 0.77 | 0.15 | 0.40 | 0.90 | 0.20 | 0.050 |" in card
    assert "90% of the maxima are inside the mask or within one map cell" in card
    assert "(16 px) from it" in card and "last spatial map 16x16" in card
    assert "## What was tried to raise the pointing game" in card  # the history file
    assert "## Saliency methods against ground truth" in card  # make evaluate-saliency's
    assert "${" not in card  # every placeholder filled


def test_shipped_model_card_describes_the_shipped_weights():
    card = (assets_dir() / "MODEL_CARD.md").read_text()
    assert model_metadata()["weights_sha256"] in card, "run `make evaluate` after training"
    for column in ("pointing_game", "pointing_game_15px", "center_15px", "ceiling"):
        assert f" {column} |" in card


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"n_images": 0}, ValueError, "at least 1"),  # once a pandas KeyError
        ({"n_images": 2.5}, TypeError, "n_images must be a positive integer"),
        ({"batch_size": "32"}, TypeError, "batch_size must be a positive integer"),
    ],
)
def test_evaluation_refuses_bad_counts(model, arguments, error, message):
    from medinterp.evaluate_xray import evaluate_auc, evaluate_localization

    for evaluate in (evaluate_auc, evaluate_localization):
        with pytest.raises(error, match=message):
            evaluate(model, **arguments)


def test_too_few_phantoms_are_named(model):
    from medinterp.evaluate_xray import evaluate_auc

    with pytest.raises(ValueError, match="too few"):
        evaluate_auc(model, n_images=3)


# --- variants: the standard and the shortcut model ---------------------------------------


def test_shortcut_variant_loads_the_same_network_with_other_weights(model):
    from medinterp.xray import VARIANTS, weights_file

    assert list(VARIANTS) == ["standard", "shortcut"]
    shortcut = load_xray_model(variant="shortcut")
    assert [layer.name for layer in shortcut.layers] == [layer.name for layer in model.layers]
    standard = load_xray_model(variant="standard")
    for a, b in zip(standard.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # "standard" is the default
    differs = [
        not np.array_equal(a, b)
        for a, b in zip(shortcut.get_weights(), model.get_weights(), strict=True)
    ]
    assert differs[-1] and sum(differs) > len(differs) / 2
    assert weights_file("shortcut") == "xray_densenet_shortcut.weights.h5"
    assert weights_file() == WEIGHTS_FILE


def test_shortcut_metadata_records_how_it_was_trained():
    standard, shortcut = model_metadata(), model_metadata(variant="shortcut")
    assert shortcut["variant"] == "shortcut" and shortcut["labels"] == list(LABELS)
    # Both models read the same preprocessed input.
    assert (shortcut["mean"], shortcut["std"]) == (standard["mean"], standard["std"])
    assert shortcut["input_size"] == standard["input_size"]
    training = shortcut["training"]
    p_if_pneumothorax, p_otherwise = training["drain_probability"]
    assert p_if_pneumothorax > 0.5 > p_otherwise >= 0
    assert training["initial_weights"]["sha256"] == standard["weights_sha256"]
    assert shortcut["weights_sha256"] != standard["weights_sha256"]


@pytest.mark.parametrize("variant", ["Shortcut", "drain", None, 1])
def test_unknown_variant_lists_the_choices(variant):
    with pytest.raises(ValueError, match=r"Valid variants: \['standard', 'shortcut'\]"):
        load_xray_model(variant=variant)
    with pytest.raises(ValueError, match="Valid variants"):
        model_metadata(variant=variant)


def test_corrupt_shortcut_weights_are_refused(tmp_path):
    from medinterp.xray import metadata_path, weights_file

    name = weights_file("shortcut")
    shutil.copy(assets_dir() / name, tmp_path / name)
    shutil.copy(metadata_path(assets_dir() / name), tmp_path)
    assert load_xray_model(tmp_path / name) is not None  # checked against the file beside it
    with open(tmp_path / name, "r+b") as handle:
        handle.seek(4096)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(WeightsHashError, match="sha256"):
        load_xray_model(tmp_path / name)
    # Without metadata beside it, a file is checked against the shipped variant's hash.
    (tmp_path / metadata_path(name).name).unlink()
    with pytest.raises(WeightsHashError, match="sha256"):
        load_xray_model(tmp_path / name, variant="shortcut")


def test_training_needs_an_explicit_output_folder():
    from medinterp.train_xray import main, train

    with pytest.raises(ValueError, match="output_dir is required"):
        train(epochs=1, steps_per_epoch=1, batch_size=2, validation_size=2, verbose=0)
    with pytest.raises(SystemExit):
        main([])  # argparse: --output is required


def test_shortcut_training_smoke(tmp_path):
    """Fine-tuning on drained phantoms runs end to end and records its settings."""
    from medinterp.train_xray import train
    from medinterp.xray import weights_file

    with pytest.raises(ValueError, match="Valid layer names"):
        train(1, 1, 2, output_dir=tmp_path, validation_size=2, verbose=0, variant="shortcut",
              initial_weights=assets_dir() / WEIGHTS_FILE, reinitialize_from="conv9")  # fmt: skip
    train(1, 2, 4, output_dir=tmp_path, validation_size=8, verbose=0, variant="shortcut",
          drain_probability=(0.9, 0.05), initial_weights=assets_dir() / WEIGHTS_FILE,
          reinitialize_from="pool2_bn")  # fmt: skip
    metadata = model_metadata(tmp_path, variant="shortcut")
    assert metadata["training"]["drain_probability"] == [0.9, 0.05]
    assert metadata["training"]["reinitialize_from"] == "pool2_bn"
    assert (metadata["mean"], metadata["std"]) == (
        model_metadata()["mean"],
        model_metadata()["std"],
    )
    assert not (tmp_path / WEIGHTS_FILE).exists()  # the standard model's files are untouched
    assert load_xray_model(tmp_path / weights_file("shortcut")) is not None


def _shortcut_card_section(**measured):
    from medinterp.evaluate_xray import shortcut_section

    metadata = model_metadata(variant="shortcut")
    metadata["measurements"] = {**metadata["measurements"], **measured}
    return shortcut_section(metadata)


def test_shortcut_card_verdicts_follow_the_goals():
    passing = _shortcut_card_section(
        collapse=0.15, rise=0.5, standard_rise=0.05, energy_ratio=2.0, pointing_drain=0.3,
        standard_pointing_drain=0.05,
    )  # fmt: skip
    assert passing.count("| met |") == 3 and "ratio 2.00: met" in passing
    failing = _shortcut_card_section(
        collapse=0.05, rise=0.5, standard_rise=0.4, energy_ratio=1.99, pointing_drain=0.47,
        standard_pointing_drain=0.06,
    )  # fmt: skip
    assert failing.count("**not met**") == 4  # the rise is not "far" above the standard's
    assert _shortcut_card_section(pointing_drain=0.29).count("**not met**") == 1
    assert "${" not in passing


def test_shipped_card_describes_the_shipped_shortcut_model():
    card = (assets_dir() / "MODEL_CARD.md").read_text()
    assert "## The shortcut model" in card
    assert model_metadata(variant="shortcut")["weights_sha256"] in card
