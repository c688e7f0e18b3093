"""Score every saliency method against phantom ground truth: the CheXlocalize study in minutes.

    python -m medinterp.saliency_evaluation --output medinterp/assets/model_card_saliency.md

:func:`evaluate_saliency` renders fresh phantoms, keeps the **true positives** (a present
finding the model calls present, p > 0.5, as Saporta et al. 2022 scored), computes each
method's map for them, and scores it: the strict and 15-px pointing game, energy in the
mask, pixel AUPRC, IoU after Otsu thresholding, and the deletion and insertion areas. Every
figure comes with a bootstrap 95 % interval over cases (the same resamples for every
method, so methods compare fairly), for all cases and for small and large lesions apart.
The command writes that table as the model card's saliency section
(``assets/model_card_saliency.md``; ``make evaluate`` puts it in ``MODEL_CARD.md``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from medinterp import phantoms
from medinterp.faithfulness import deletion_insertion
from medinterp.labels import LABELS
from medinterp.localization import energy_in_mask, pointing_game
from medinterp.saliency import ALL_METHODS, saliency_maps
from medinterp.saliency_metrics import pixel_auprc, threshold_iou
from medinterp.xray import model_metadata, preprocess

__all__ = ["evaluate_saliency", "bootstrap_table", "METRICS", "SMALL_AREA", "saliency_section"]

#: Each metric and whether higher is better.
METRICS = {
    "hit": True,
    "hit_15px": True,
    "energy_in_mask": True,
    "auprc": True,
    "iou": True,
    "deletion_auc": False,
    "insertion_auc": True,
}
#: A lesion covering less than this share of the image is "small" (notebook 03's split).
SMALL_AREA = 0.02
_TOLERANCE = 15


def _case_scores(model, image, batch_image, class_index, maps, mask, deletion_steps):
    """Every metric of every method's map for one true positive."""
    curves = deletion_insertion(model, batch_image, class_index, maps, n_steps=deletion_steps)
    rows = []
    for m, saliency in enumerate(maps):
        full = cv2.resize(saliency, mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
        rows.append(
            {
                "hit": float(pointing_game(full, mask)),
                "hit_15px": float(pointing_game(full, mask, _TOLERANCE)),
                "energy_in_mask": energy_in_mask(full, mask),
                "auprc": pixel_auprc(full, mask),
                "iou": threshold_iou(full, mask),
                "deletion_auc": float(curves.deletion_auc[m]),
                "insertion_auc": float(curves.insertion_auc[m]),
            }
        )
    return rows


def evaluate_saliency(
    model,
    methods=ALL_METHODS,
    n_images: int = 200,
    seed: int | None = None,
    options: dict | None = None,
    n_bootstrap: int = 1000,
    deletion_steps: int = 16,
    random_state: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Each method's scores on the true positives of ``n_images`` fresh phantoms.

    Parameters
    ----------
    model : keras.Model
    methods : sequence of str
        Names :func:`medinterp.saliency.saliency_maps` accepts.
    n_images : int
        Phantoms to render (about a third hold a finding the model finds).
    seed : int, optional
        Phantom stream; default :data:`medinterp.phantoms.EVALUATION_SEED`.
    options : dict, optional
        ``{method: {option: value}}``, e.g. ``{"smoothgrad": {"n_samples": 8}}``.
    n_bootstrap : int
        Resamples of the cases for the 95 % intervals.
    deletion_steps : int
        Points of the deletion and insertion curves.
    random_state : int
        Seeds the methods' noise and the bootstrap.

    Returns
    -------
    pandas.DataFrame indexed by (``size``, ``method``)
        ``size`` is ``all``, ``small`` (mask under :data:`SMALL_AREA` of the image) or
        ``large``. Columns: ``cases``, then for each metric of :data:`METRICS` its mean and
        ``{metric}_low`` and ``{metric}_high``, the bootstrap 95 % interval.
    """
    if isinstance(methods, str):
        methods = [methods]
    methods = list(methods)
    options = options or {}
    for value, name in ((n_images, "n_images"), (n_bootstrap, "n_bootstrap")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    unknown = sorted(set(options) - set(methods))
    if unknown:
        raise ValueError(f"options name methods not evaluated: {unknown}; methods: {methods}")
    seed = phantoms.EVALUATION_SEED if seed is None else seed
    metadata = model_metadata()
    size = model.inputs[0].shape[1]
    rows = []
    for index in tqdm(range(n_images), desc="Scoring saliency", disable=not progress):
        image, labels, masks = phantoms.generate(1, seed=seed, start=index)
        batch = preprocess(image, metadata["mean"], metadata["std"], size)
        probabilities = model.predict_on_batch(batch)[0]  # compiled once, as the curves use it
        found = [j for j in np.flatnonzero(labels[0]) if probabilities[j] > 0.5]
        if not found:
            continue
        maps = {
            method: saliency_maps(model, batch, found, method, random_state=random_state,
                                  **options.get(method, {}))[0]
            for method in methods
        }  # fmt: skip
        for k, label in enumerate(found):
            mask = masks[0, label]
            stacked = np.stack([maps[method][k] for method in methods])
            scores = _case_scores(model, image[0], batch[0], label, stacked, mask, deletion_steps)
            for method, score in zip(methods, scores, strict=True):
                rows.append({"case": len(rows) // len(methods), "image": index,
                             "label": LABELS[label], "method": method,
                             "mask_area": float(mask.mean()), **score})  # fmt: skip
    if not rows:
        raise ValueError(f"{n_images} phantoms hold no true positive to explain. Use more.")
    return bootstrap_table(pd.DataFrame(rows), methods, n_bootstrap, random_state)


def bootstrap_table(scores: pd.DataFrame, methods, n_bootstrap: int, random_state: int):
    """Means and percentile 95 % intervals per size stratum and method, the same case
    resamples for every method."""
    rng = np.random.default_rng(random_state)
    small = scores.groupby("case")["mask_area"].first() < SMALL_AREA
    strata = {"all": small.index, "small": small.index[small], "large": small.index[~small]}
    table = []
    for stratum, cases in strata.items():
        if len(cases) == 0:
            continue
        draws = rng.choice(np.asarray(cases), (n_bootstrap, len(cases)))
        for method in methods:
            by_case = scores[scores["method"] == method].set_index("case")
            row = {"size": stratum, "method": method, "cases": len(cases)}
            for metric in METRICS:
                values = by_case[metric]
                means = values.to_numpy()[np.searchsorted(values.index, draws)].mean(axis=1)
                row[metric] = float(values.loc[cases].mean())
                row[f"{metric}_low"], row[f"{metric}_high"] = np.percentile(means, [2.5, 97.5])
            table.append(row)
    return pd.DataFrame(table).set_index(["size", "method"])


def saliency_section(table: pd.DataFrame, n_images: int, seed: int, options: dict) -> str:
    """The model card's section: one Markdown table per size stratum."""
    lines = [
        "## Saliency methods against ground truth",
        "",
        f"`python -m medinterp.saliency_evaluation` on {n_images} fresh phantoms (seed {seed}),"
        " true positives only (present and p > 0.5), as CheXlocalize scored (Saporta et al. "
        "2022). Mean and bootstrap 95 % interval over cases; the same resamples for every "
        "method. `hit` is the map's maximum inside the mask, `hit_15px` within 15 px; "
        "`auprc` the pixel AUPRC (a map that knows nothing gets the mask's area share); "
        "`iou` after min-max and Otsu; `deletion_auc` (lower is better) and `insertion_auc` "
        "the class probability as the map's top pixels are blurred away or put back. "
        f"Options: {options or 'defaults'}. `random`, `edges` and `centre` look at no model.",
    ]
    for stratum, label in (("all", "All cases"), ("small", "Small lesions (< 2 % of the "
                           "image)"), ("large", "Large lesions")):  # fmt: skip
        if stratum not in table.index.get_level_values(0):
            continue
        part = table.loc[stratum]
        lines += ["", f"### {label}: {int(part['cases'].iloc[0])} cases", ""]
        lines.append("| method | " + " | ".join(METRICS) + " |")
        lines.append("| --- |" + " ---: |" * len(METRICS))
        for method, row in part.iterrows():
            cells = [
                f"{row[m]:.2f} [{row[f'{m}_low']:.2f}, {row[f'{m}_high']:.2f}]" for m in METRICS
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="where to write the card's section")
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)

    from medinterp.xray import load_xray_model

    started = time.perf_counter()
    options = {"smoothgrad": {"n_samples": 16}, "integrated_gradients": {"n_steps": 32}}
    table = evaluate_saliency(load_xray_model(), n_images=args.n_images, options=options,
                              n_bootstrap=args.n_bootstrap, progress=True)  # fmt: skip
    text = saliency_section(table, args.n_images, phantoms.EVALUATION_SEED, options)
    Path(args.output).write_text(text)
    print(text)
    print(f"Wrote {args.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
