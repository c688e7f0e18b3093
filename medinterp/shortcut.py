"""Measure a shortcut: how much an X-ray model calls Pneumothorax from a chest drain.

The shortcut model (``load_xray_model(variant="shortcut")``) was trained on phantoms where
drains follow the label, as in a hospital whose pneumothorax films are mostly taken after
treatment. Three measurements, each returning one row per model, show what it learned:

- :func:`auc_collapse`: Pneumothorax ROC AUC on the hospital's confounded distribution and
  on the same patients untreated (no drain, so a pneumothorax is full size). A model that
  reads the drain loses AUC where there is no drain to read.
- :func:`drain_effect`: the mean Pneumothorax probability of the same healthy patients
  without and with a drain. A drain alone should not change it.
- :func:`drain_attention`: where GradCAM for Pneumothorax looks on treated patients: the
  share of its energy on the drain, and the pointing game against the drain mask and
  against the pneumothorax mask.

All phantoms come from ``phantoms.EVALUATION_SEED``, a stream no model was trained on.
Models are passed as a mapping ``{name: keras.Model}``; images are normalised with
:func:`medinterp.xray.preprocess`'s defaults, the mean and std both shipped models share.

    python -m medinterp.shortcut --output medinterp/assets   # record the figures
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from medinterp import phantoms
from medinterp.gradcam import GradCAM
from medinterp.labels import LABELS
from medinterp.localization import energy_in_mask, pointing_game

__all__ = [
    "auc_collapse",
    "drain_attention",
    "drain_effect",
    "hospital_drain_probability",
    "measure_shortcut",
    "treated_patients",
]

PNEUMOTHORAX = LABELS.index("Pneumothorax")


def hospital_drain_probability() -> tuple[float, float]:
    """The hospital the shortcut model was trained in: ``(p_if_pneumothorax, p_otherwise)``,
    as its metadata records it."""
    from medinterp.xray import model_metadata

    p_if_pneumothorax, p_otherwise = model_metadata(variant="shortcut")["training"][
        "drain_probability"
    ]
    return p_if_pneumothorax, p_otherwise


def _check_models(models) -> dict:
    if not isinstance(models, Mapping) or not models:
        raise TypeError(
            "models must be a non-empty mapping {name: keras.Model}, e.g. "
            f"{{'standard': load_xray_model()}}, got {type(models).__name__}"
        )
    for name, model in models.items():
        if not hasattr(model, "predict_on_batch"):
            raise TypeError(f"models[{name!r}] must be a Keras model, got {type(model).__name__}")
    return dict(models)


def _check_count(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _pneumothorax_scores(model, images, batch_size) -> np.ndarray:
    from medinterp.xray import preprocess

    size = model.inputs[0].shape[1]
    return np.concatenate(
        [
            model.predict_on_batch(preprocess(images[k : k + batch_size], size=size))[
                :, PNEUMOTHORAX
            ]
            for k in range(0, len(images), batch_size)
        ]
    )


def auc_collapse(
    models,
    n_patients: int = 1000,
    seed: int = phantoms.EVALUATION_SEED,
    drain_probability=None,
    batch_size: int = 64,
    progress: bool = False,
) -> pd.DataFrame:
    """Pneumothorax AUC on the confounded distribution and on the same patients untreated.

    Parameters
    ----------
    models : mapping of str to keras.Model
    n_patients : int, default=1000
        Patients ``0 .. n_patients-1`` of stream ``seed``.
    seed : int, default=phantoms.EVALUATION_SEED
    drain_probability : (float, float), optional
        The hospital's ``(p_if_pneumothorax, p_otherwise)``; by default the one the
        shortcut model was trained with (:func:`hospital_drain_probability`).
    batch_size : int, default=64
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame indexed by model name
        ``positives`` (patients with a pneumothorax), ``treated`` (of those, with a
        drain), ``auc_confounded``, ``auc_untreated`` and ``collapse`` (confounded minus
        untreated).
    """
    models = _check_models(models)
    _check_count("n_patients", n_patients, 2)
    _check_count("batch_size", batch_size)
    if drain_probability is None:
        drain_probability = hospital_drain_probability()
    confounded, labels, _, drains = phantoms.generate(
        n_patients, seed=seed, drain_probability=drain_probability, return_drains=True
    )
    untreated, untreated_labels, _ = phantoms.generate(
        n_patients, seed=seed, drain_probability=None
    )
    truth = labels[:, PNEUMOTHORAX]
    if not 0 < truth.sum() < n_patients:
        raise ValueError(
            f"n_patients={n_patients} patients hold no positive or no negative case; use more"
        )
    rows = {}
    for name, model in tqdm(models.items(), desc="AUC collapse", disable=not progress):
        on_confounded = roc_auc_score(truth, _pneumothorax_scores(model, confounded, batch_size))
        on_untreated = roc_auc_score(
            untreated_labels[:, PNEUMOTHORAX],
            _pneumothorax_scores(model, untreated, batch_size),
        )
        rows[name] = {
            "positives": int(truth.sum()),
            "treated": int((drains.any(axis=(1, 2)) & (truth == 1)).sum()),
            "auc_confounded": on_confounded,
            "auc_untreated": on_untreated,
            "collapse": on_confounded - on_untreated,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def drain_effect(
    models,
    n_patients: int = 200,
    seed: int = phantoms.EVALUATION_SEED,
    batch_size: int = 64,
    progress: bool = False,
) -> pd.DataFrame:
    """Mean Pneumothorax probability of ``n_patients`` healthy patients without and with a drain.

    Patient ``i`` of stream ``seed`` is rendered with no finding (``findings=[]``), once
    without and once with a chest drain; nothing else about the image changes.

    Returns
    -------
    pandas.DataFrame indexed by model name
        ``patients``, ``probability_without``, ``probability_with`` and ``rise`` (the mean
        of the per-patient differences).
    """
    models = _check_models(models)
    _check_count("n_patients", n_patients)
    _check_count("batch_size", batch_size)
    without = np.stack([phantoms.render(seed, i, findings=[])[0] for i in range(n_patients)])
    with_drain = np.stack(
        [
            phantoms.render(seed, i, findings=[], drain_probability=(1, 1))[0]
            for i in range(n_patients)
        ]
    )
    rows = {}
    for name, model in tqdm(models.items(), desc="Drain effect", disable=not progress):
        before = _pneumothorax_scores(model, without, batch_size)
        after = _pneumothorax_scores(model, with_drain, batch_size)
        rows[name] = {
            "patients": n_patients,
            "probability_without": float(before.mean()),
            "probability_with": float(after.mean()),
            "rise": float((after - before).mean()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def treated_patients(n_patients: int, seed: int = phantoms.EVALUATION_SEED) -> list[int]:
    """The first ``n_patients`` patients of stream ``seed`` with a pneumothorax."""
    _check_count("n_patients", n_patients)
    found, index = [], 0
    while len(found) < n_patients:
        if phantoms.sample_labels(seed, index)[PNEUMOTHORAX]:
            found.append(index)
        index += 1
    return found


def drain_attention(
    models,
    n_patients: int = 64,
    seed: int = phantoms.EVALUATION_SEED,
    layer_name: str | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> pd.DataFrame:
    """Where GradCAM for Pneumothorax looks on ``n_patients`` treated pneumothorax patients.

    The first ``n_patients`` patients of stream ``seed`` with a pneumothorax are rendered with their
    drain. Each model's Pneumothorax GradCAM (at ``layer_name``, by default the last
    convolutional layer) is upsampled to the masks' resolution and scored.

    Returns
    -------
    pandas.DataFrame indexed by model name
        ``cases``; ``energy_in_drain``: mean share of GradCAM energy inside the drain mask;
        ``drain_area``: mean share of the image the drain covers (what a uniform map
        would get); ``pointing_drain`` and ``pointing_pneumothorax``: share of cases whose
        GradCAM maximum lies in the drain mask, in the pneumothorax mask.
    """
    from medinterp.xray import preprocess

    models = _check_models(models)
    _check_count("batch_size", batch_size)
    patients = treated_patients(n_patients, seed)
    rendered = [
        phantoms.render(seed, i, drain_probability=(1, 1), return_drain=True) for i in patients
    ]
    images = np.stack([r[0] for r in rendered])
    pneumothorax = np.stack([r[2][PNEUMOTHORAX] for r in rendered])
    drains = np.stack([r[3] for r in rendered])
    rows = {}
    for name, model in tqdm(models.items(), desc="GradCAM on drains", disable=not progress):
        engine = GradCAM.for_model(model, layer_name)
        size = model.inputs[0].shape[1]
        scores = []
        for start in range(0, n_patients, batch_size):
            batch = preprocess(images[start : start + batch_size], size=size)
            for k, cam in enumerate(engine(batch, [PNEUMOTHORAX])[:, 0]):
                drain, lesion = drains[start + k], pneumothorax[start + k]
                cam = cv2.resize(cam, drain.shape[::-1], interpolation=cv2.INTER_LINEAR)
                scores.append(
                    (
                        energy_in_mask(cam, drain),
                        float(drain.mean()),
                        pointing_game(cam, drain),
                        pointing_game(cam, lesion),
                    )
                )
        energy, area, on_drain, on_lesion = np.mean(scores, axis=0)
        rows[name] = {
            "cases": n_patients,
            "energy_in_drain": energy,
            "drain_area": area,
            "pointing_drain": on_drain,
            "pointing_pneumothorax": on_lesion,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def measure_shortcut(
    models=None,
    n_auc: int = 1000,
    n_effect: int = 200,
    n_attention: int = 64,
    seed: int = phantoms.EVALUATION_SEED,
    drain_probability=None,
    progress: bool = False,
) -> dict:
    """All three measurements and the figures the lesson quotes.

    ``models`` defaults to the two shipped models, ``{"standard": ..., "shortcut": ...}``;
    ``drain_probability`` to the hospital the shortcut model was trained in.

    Returns
    -------
    dict
        ``auc_collapse``, ``drain_effect``, ``drain_attention`` (the three DataFrames) and
        ``figures``: the shortcut model's ``collapse``, its ``rise`` and the standard
        model's, and ``energy_ratio`` (shortcut over standard energy in the drain mask).
    """
    if models is None:
        from medinterp.xray import load_xray_model

        models = {variant: load_xray_model(variant=variant) for variant in ("standard", "shortcut")}
    models = _check_models(models)
    missing = {"standard", "shortcut"} - set(models)
    if missing:
        raise ValueError(
            f"models must include 'standard' and 'shortcut'; missing {sorted(missing)}"
        )
    collapse = auc_collapse(models, n_auc, seed, drain_probability, progress=progress)
    effect = drain_effect(models, n_effect, seed, progress=progress)
    attention = drain_attention(models, n_attention, seed, progress=progress)
    figures = {
        "auc_confounded": float(collapse.loc["shortcut", "auc_confounded"]),
        "auc_untreated": float(collapse.loc["shortcut", "auc_untreated"]),
        "collapse": float(collapse.loc["shortcut", "collapse"]),
        "standard_collapse": float(collapse.loc["standard", "collapse"]),
        "rise": float(effect.loc["shortcut", "rise"]),
        "standard_rise": float(effect.loc["standard", "rise"]),
        "energy_in_drain": float(attention.loc["shortcut", "energy_in_drain"]),
        "standard_energy_in_drain": float(attention.loc["standard", "energy_in_drain"]),
        "energy_ratio": float(
            attention.loc["shortcut", "energy_in_drain"]
            / attention.loc["standard", "energy_in_drain"]
        ),
        "pointing_drain": float(attention.loc["shortcut", "pointing_drain"]),
        "pointing_pneumothorax": float(attention.loc["shortcut", "pointing_pneumothorax"]),
        "standard_pointing_drain": float(attention.loc["standard", "pointing_drain"]),
        "standard_pointing_pneumothorax": float(attention.loc["standard", "pointing_pneumothorax"]),
    }
    return {
        "auc_collapse": collapse,
        "drain_effect": effect,
        "drain_attention": attention,
        "figures": figures,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Measure the shortcut model and record the figures in its metadata."
    )
    parser.add_argument(
        "--output",
        required=True,
        help="folder holding xray_densenet_shortcut.json (medinterp/assets for the shipped one)",
    )
    parser.add_argument("--n-auc", type=int, default=1000)
    parser.add_argument("--n-effect", type=int, default=200)
    parser.add_argument("--n-attention", type=int, default=64)
    args = parser.parse_args(argv)
    from medinterp.xray import load_xray_model, metadata_path, weights_file

    folder = Path(args.output)
    models = {
        variant: load_xray_model(folder / weights_file(variant), variant=variant)
        for variant in ("standard", "shortcut")
    }
    path = metadata_path(folder / weights_file("shortcut"))
    metadata = json.loads(path.read_text())
    hospital = metadata["training"]["drain_probability"]
    result = measure_shortcut(models, args.n_auc, args.n_effect, args.n_attention,
                              drain_probability=hospital, progress=True)  # fmt: skip
    for key in ("auc_collapse", "drain_effect", "drain_attention"):
        print(result[key].round(3).to_string(), end="\n\n")
    metadata["measurements"] = {
        "seed": phantoms.EVALUATION_SEED,
        "confounded_drain_probability": hospital,
        "n_auc": args.n_auc,
        "n_effect": args.n_effect,
        "n_attention": args.n_attention,
        **{key: round(value, 4) for key, value in result["figures"].items()},
    }
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"Recorded the figures in {path}")


if __name__ == "__main__":
    main()
