"""Evaluate the shipped X-ray model on fresh phantoms and write its model card.

    python -m medinterp.evaluate_xray --output medinterp/assets/MODEL_CARD.md   # make evaluate
    python -m medinterp.evaluate_xray --help

:func:`evaluate_auc` (classification) and :func:`evaluate_localization` (does GradCAM point
at the finding?) read the same phantom batches through one loop. The phantoms come from
``phantoms.EVALUATION_SEED``, a stream training never saw. The card is
``assets/model_card_template.md`` filled with the measured figures, followed by
``assets/model_card_history.md``, the record of what was tried.
"""

from __future__ import annotations

import argparse
import string
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from medinterp import phantoms
from medinterp.gradcam import GradCAM
from medinterp.labels import LABELS
from medinterp.localization import (
    center_pointing_game,
    energy_in_mask,
    peak_distance,
    pointing_ceiling,
    pointing_game,
)
from medinterp.xray import model_metadata, preprocess

__all__ = ["evaluate_auc", "evaluate_localization", "model_card", "shortcut_section", "main"]

# The project's localization goal: the 15 px pointing game at least 0.70, and at least 0.25
# above the centre-point baseline (the strict 0.80 goal was retired: see the card's history).
POINTING_TOLERANCE = 15
POINTING_GOAL = 0.70
BASELINE_MARGIN = 0.25
# Issue 16's goals for the shortcut model.
SHORTCUT_COLLAPSE_GOAL = 0.10
SHORTCUT_RISE_GOAL = 0.30
# Re-based on the evidence of eight retrainings (model card): the maximum on the drain, and
# twice the standard model's energy there (the first goal, 3, was out of reach of a 16x16 map).
SHORTCUT_ENERGY_RATIO_GOAL = 2.0
SHORTCUT_POINTING_DRAIN_GOAL = 0.30
STANDARD_POINTING_DRAIN_LIMIT = 0.05


def _check_count(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _phantom_batches(model, n_images, seed, batch_size, progress, description):
    """Fresh phantoms ``(images, labels, masks, model input)``, ``batch_size`` at a time."""
    n_images = _check_count(n_images, "n_images")
    batch_size = _check_count(batch_size, "batch_size")
    seed = phantoms.EVALUATION_SEED if seed is None else seed
    metadata = model_metadata()
    size = model.inputs[0].shape[1]
    starts = range(0, n_images, batch_size)
    for start in tqdm(starts, desc=description, disable=not progress):
        images, labels, masks = phantoms.generate(
            min(batch_size, n_images - start), seed=seed, start=start
        )
        yield images, labels, masks, preprocess(images, metadata["mean"], metadata["std"], size)


def evaluate_auc(
    model,
    n_images: int = 1000,
    seed: int | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> pd.DataFrame:
    """Per-label ROC AUC of ``model`` on ``n_images`` fresh phantoms.

    Returns
    -------
    pandas.DataFrame indexed by label
        ``positives`` and ``auc``, plus a ``mean`` row.
    """
    truth, scores = [], []
    for _, labels, _, batch in _phantom_batches(
        model, n_images, seed, batch_size, progress, "Predicting"
    ):
        scores.append(model.predict_on_batch(batch))
        truth.append(labels)
    truth, scores = np.concatenate(truth), np.concatenate(scores)
    single_class = [LABELS[j] for j in range(len(LABELS)) if len(set(truth[:, j])) < 2]
    if single_class:
        raise ValueError(
            f"{n_images} phantoms are too few: no positive or no negative case for "
            f"{single_class}, so their AUC is undefined. Use more images."
        )
    table = pd.DataFrame(
        {
            "positives": truth.sum(axis=0),
            "auc": [roc_auc_score(truth[:, j], scores[:, j]) for j in range(len(LABELS))],
        },
        index=list(LABELS),
    )
    mean = pd.DataFrame({"positives": [truth.sum()], "auc": [table["auc"].mean()]}, index=["mean"])
    return pd.concat([table, mean])


def evaluate_localization(
    model,
    n_images: int = 500,
    seed: int | None = None,
    layer_name: str | None = None,
    batch_size: int = 32,
    progress: bool = False,
    tolerance: float = POINTING_TOLERANCE,
) -> pd.DataFrame:
    """Score GradCAM against phantom ground truth, per label.

    For every present finding in ``n_images`` fresh phantoms, the label's GradCAM is
    upsampled to the mask's resolution and scored.

    Returns
    -------
    pandas.DataFrame indexed by label
        ``cases``; ``pointing_game``: share of cases whose cam maximum is in the mask;
        ``pointing_game_{tolerance}px``: share whose maximum is within ``tolerance`` pixels of
        it, and ``center_{tolerance}px`` the same for the image centre (the baseline);
        ``ceiling``: share that any map at the layer's resolution could hit
        (:func:`~medinterp.localization.pointing_ceiling`); ``within_one_cell``: share whose
        maximum is in the mask or less than one layer cell away from it; ``energy_in_mask``:
        mean share of cam mass in the mask; ``mask_area``: mean share of the image the mask
        covers (the energy a uniform map would get). A last row, ``overall``, pools all cases.
    """
    engine = GradCAM.for_model(model, layer_name)
    input_shape = tuple(model.inputs[0].shape[1:3])
    grid_shape = tuple(engine.hook.outputs[0].shape[1:3])
    cell = max(phantoms.SIZE / grid_shape[0], phantoms.SIZE / grid_shape[1])  # in mask pixels
    tolerant, centre = f"pointing_game_{tolerance:g}px", f"center_{tolerance:g}px"
    rows = []
    for _, labels, masks, batch in _phantom_batches(
        model, n_images, seed, batch_size, progress, "Scoring GradCAM"
    ):
        present = sorted(set(np.flatnonzero(labels.any(axis=0))))
        if not present:
            continue
        cams = engine(batch, present)
        for i, j in zip(*np.nonzero(labels[:, present]), strict=True):
            label, mask = present[j], masks[i, present[j]]
            cam = cv2.resize(cams[i, j], mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
            rows.append(
                {
                    "label": LABELS[label],
                    "pointing_game": pointing_game(cam, mask),
                    tolerant: pointing_game(cam, mask, tolerance),
                    centre: center_pointing_game(mask, tolerance),
                    "ceiling": pointing_ceiling(mask, grid_shape, input_shape),
                    "within_one_cell": peak_distance(cam, mask) <= cell,
                    "energy_in_mask": energy_in_mask(cam, mask),
                    "mask_area": float(mask.mean()),
                }
            )
    if not rows:
        raise ValueError(f"{n_images} phantoms hold no finding to localize. Use more images.")
    scores = pd.DataFrame(rows)
    measures = [column for column in scores.columns if column != "label"]
    table = scores.groupby("label")[measures].mean()
    table.insert(0, "cases", scores.groupby("label").size())
    table = table.reindex([label for label in LABELS if label in table.index])
    overall = scores[measures].mean().to_frame("overall").T
    overall.insert(0, "cases", len(scores))
    return pd.concat([table, overall])


def _markdown(table: pd.DataFrame, formats: dict) -> str:
    header = "| label | " + " | ".join(table.columns) + " |"
    rule = "| --- |" + " ---: |" * len(table.columns)
    lines = [header, rule]
    for label, row in table.iterrows():
        cells = [formats.get(c, "{:.2f}").format(row[c]) for c in table.columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _listing(values: pd.Series) -> str:
    return ", ".join(f"{label} ({value:.2f})" for label, value in values.items()) or "none"


def _asset_text(name: str) -> str:
    return (resources.files("medinterp") / "assets" / name).read_text()


def _met(passed: bool) -> str:
    return "met" if passed else "**not met**"


def shortcut_section(metadata: dict) -> str:
    """The model card's section on the shortcut model, from its metadata (training settings
    and the figures ``python -m medinterp.shortcut`` recorded)."""
    training, measured = metadata["training"], metadata["measurements"]
    p_treated, p_other = training["drain_probability"]
    figures = {
        "sha256": metadata["weights_sha256"],
        "reinitialize_from": training["reinitialize_from"],
        "images_seen": f"{training['images_seen']:,}",
        "p_treated": f"{p_treated:.0%}",
        "p_other": f"{p_other:.0%}",
        "minutes": training["minutes"],
        "seed": measured["seed"],
        "n_auc": f"{measured['n_auc']:,}",
        "n_effect": measured["n_effect"],
        "n_attention": measured["n_attention"],
        "collapse_verdict": _met(measured["collapse"] >= SHORTCUT_COLLAPSE_GOAL),
        "rise_verdict": _met(
            measured["rise"] >= SHORTCUT_RISE_GOAL
            and measured["standard_rise"] < measured["rise"] / 3
        ),
        "energy": f"{measured['energy_in_drain']:.3f}",
        "standard_energy": f"{measured['standard_energy_in_drain']:.3f}",
        "energy_ratio": f"{measured['energy_ratio']:.2f}",
        "energy_verdict": _met(measured["energy_ratio"] >= SHORTCUT_ENERGY_RATIO_GOAL),
        "pointing_verdict": _met(
            measured["pointing_drain"] >= SHORTCUT_POINTING_DRAIN_GOAL
            and measured["standard_pointing_drain"] <= STANDARD_POINTING_DRAIN_LIMIT
        ),
    }
    for key in ("auc_confounded", "auc_untreated", "collapse", "standard_collapse"):
        figures[key] = f"{measured[key]:.3f}"
    for key in ("rise", "standard_rise"):
        figures[key] = f"{measured[key]:+.3f}"
    for key in (
        "pointing_drain", "pointing_pneumothorax", "standard_pointing_drain",
        "standard_pointing_pneumothorax",
    ):  # fmt: skip
        figures[key] = f"{measured[key]:.2f}"
    return string.Template(_asset_text("model_card_shortcut.md")).substitute(figures).rstrip()


def model_card(
    auc: pd.DataFrame, localization: pd.DataFrame, metadata: dict, shortcut: dict | None = None
) -> str:
    """The model card's Markdown text: the template filled with the measured figures, and
    the shortcut model's section when its metadata (with measurements) is given."""
    training = metadata["training"]
    tolerance = f"{metadata.get('pointing_tolerance', POINTING_TOLERANCE):g}"
    overall = localization.loc["overall"]
    tolerant = overall[f"pointing_game_{tolerance}px"]
    baseline = overall[f"center_{tolerance}px"]
    met = tolerant >= POINTING_GOAL and tolerant >= baseline + BASELINE_MARGIN
    per_label = localization.drop(index="overall")["pointing_game"].sort_values()
    ceilings = localization.drop(index="overall")["ceiling"].sort_values()
    grid = metadata["localization_grid"]
    figures = {
        "input_size": metadata["input_size"],
        "grid": grid,
        "labels": ", ".join(metadata["labels"]),
        "mean": f"{metadata['mean']:.2f}",
        "std": f"{metadata['std']:.2f}",
        "weights_sha256": metadata["weights_sha256"],
        "epochs": training["epochs"],
        "steps_per_epoch": training["steps_per_epoch"],
        "batch_size": training["batch_size"],
        "images_seen": f"{training['images_seen']:,}",
        "train_seed": training["train_seed"],
        "seed": training["seed"],
        "minutes": training["minutes"],
        "evaluation_n": f"{metadata['evaluation_n']:,}",
        "evaluation_seed": phantoms.EVALUATION_SEED,
        "auc_table": _markdown(auc, {"positives": "{:.0f}", "auc": "{:.3f}"}),
        "localization_n": f"{metadata['localization_n']:,}",
        "localization_layer": metadata["localization_layer"],
        "image_size": metadata["image_size"],
        "tolerance": tolerance,
        "cell": f"{metadata['image_size'] / grid:.0f}",
        "localization_table": _markdown(localization, {"cases": "{:.0f}", "mask_area": "{:.3f}"}),
        "tolerant": f"{tolerant:.0%}",
        "baseline": f"{baseline:.0%}",
        "tolerant_goal": f"{POINTING_GOAL:.2f}",
        "margin_goal": f"{BASELINE_MARGIN:.2f}",
        "verdict": "it is met" if met else "it is not met",
        "strict": f"{overall['pointing_game']:.0%}",
        "best": _listing(per_label[::-1][:3]),
        "worst": _listing(per_label[:3]),
        "ceiling": f"{overall['ceiling']:.0%}",
        "low_ceilings": _listing(ceilings[ceilings < 0.95]),
        "within_one_cell": f"{overall['within_one_cell']:.0%}",
        "energy_ratio": f"{overall['energy_in_mask'] / overall['mask_area']:.1f}",
        "history": _asset_text("model_card_history.md").rstrip(),
    }
    card = string.Template(_asset_text("model_card_template.md")).substitute(figures)
    # The saliency section is measured by its own, slower command (python -m
    # medinterp.saliency_evaluation), so make evaluate keeps the one it last wrote.
    card = card.rstrip() + "\n\n" + _asset_text("model_card_saliency.md").rstrip() + "\n"
    return card if shortcut is None else card.rstrip() + "\n\n" + shortcut_section(shortcut) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="where to write the model card")
    parser.add_argument("--n-images", type=int, default=1000, help="phantoms for AUC")
    parser.add_argument("--localization-n-images", type=int, default=500)
    args = parser.parse_args(argv)

    from medinterp.gradcam import last_conv_layer
    from medinterp.xray import load_xray_model

    started = time.perf_counter()
    model = load_xray_model()
    auc = evaluate_auc(model, n_images=args.n_images, progress=True)
    layer = last_conv_layer(model)
    localization = evaluate_localization(
        model, n_images=args.localization_n_images, layer_name=layer, progress=True
    )
    metadata = dict(
        model_metadata(),
        evaluation_n=args.n_images,
        localization_n=args.localization_n_images,
        localization_layer=layer,
        localization_grid=int(model.get_layer(layer).output.shape[1]),
        image_size=phantoms.SIZE,
        pointing_tolerance=POINTING_TOLERANCE,
    )
    output = Path(args.output)
    output.write_text(model_card(auc, localization, metadata, model_metadata(variant="shortcut")))
    print(auc.round(3).to_string())
    print(localization.round(3).to_string())
    print(f"Wrote {output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
