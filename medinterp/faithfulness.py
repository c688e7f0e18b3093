"""Does a map follow the model? Deletion and insertion curves, and the randomisation check.

- :func:`deletion_insertion`: remove the pixels a map ranks highest first (replace them by
  the blurred image) and follow the class probability down; or insert them first into the
  blurred image and follow it up (Petsiuk et al. 2018, RISE; the default blurred fill is ROAD's
  answer to "removed pixels are out of distribution", Rong et al. 2022). The areas under
  the curves: deletion low and insertion high mean a faithful ranking.
- :func:`randomisation_check`: every method's map before and after cascading
  randomisation of the weights (:func:`medinterp.sanity.randomized_in_place`), compared by
  Spearman (:func:`medinterp.sanity.cam_similarity`) and SSIM
  (:func:`medinterp.saliency_metrics.map_ssim`) (Adebayo et al. 2018).

These need the model's predictions; the numbers come back as arrays and DataFrames.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from medinterp.saliency import saliency_maps
from medinterp.saliency_metrics import map_ssim
from medinterp.sanity import THRESHOLD, cam_similarity, randomized_in_place

__all__ = ["deletion_insertion", "randomisation_check", "FILL_SIGMA_SHARE"]

#: The fill for removed pixels: the image blurred with this sigma (share of its height).
FILL_SIGMA_SHARE = 0.08
FILLS = ("blur", "mean")
_BATCH = 32


def _blurred(image):
    sigma = FILL_SIGMA_SHARE * image.shape[0]
    return cv2.GaussianBlur(image, (0, 0), sigma).reshape(image.shape)


def deletion_insertion(
    model, image, class_index: int, saliency, n_steps: int = 16, fill: str = "blur"
) -> Bunch:
    """Deletion and insertion curves of one map for one image and class.

    Parameters
    ----------
    model : keras.Model
    image : float array (H, W, C), preprocessed
    class_index : int
    saliency : array (H, W) or (m, H, W)
        One map, or m maps of the same image and class (scored in one batch).
    n_steps : int
        The curves' points are 0, 1/n_steps, ..., 1 of the pixels removed or inserted.
    fill : {"blur", "mean"}
        What a removed pixel becomes: the blurred image's pixel (default, ROAD's advice), or
        the training mean (0 after normalisation; mean imputation).

    Returns
    -------
    sklearn.utils.Bunch
        ``fractions`` (n_steps + 1,); ``deletion`` and ``insertion`` (m, n_steps + 1), the
        class probability along each curve; ``deletion_auc`` and ``insertion_auc`` (m,),
        trapezoid areas (a single map gives shape (1,)).
    """
    image = np.asarray(image, dtype=np.float32)
    maps = np.asarray(saliency, dtype=np.float64)
    maps = maps[None] if maps.ndim == 2 else maps
    if image.ndim != 3 or maps.ndim != 3 or maps.shape[1:] != image.shape[:2]:
        raise ValueError(
            f"image must be (H, W, C) and saliency (H, W) or (m, H, W) at its size, got "
            f"{image.shape} and {np.shape(saliency)}"
        )
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if fill not in FILLS:
        raise ValueError(f"Unknown fill {fill!r}. Valid fills: {list(FILLS)}")
    fill = _blurred(image) if fill == "blur" else np.zeros_like(image)
    n_pixels = image.shape[0] * image.shape[1]
    counts = np.round(np.linspace(0, n_pixels, n_steps + 1)).astype(int)
    # Every curve starts and ends at the image or the fill, whatever the map: those two go
    # through the model once, each map's inner points once per curve.
    inputs = [image, fill]
    for saliency_map in maps:
        # Ties broken by position, so a constant map gives a fixed, arbitrary order.
        ranks = np.empty(n_pixels, int)
        ranks[np.argsort(-saliency_map.ravel(), kind="stable")] = np.arange(n_pixels)
        for count in counts[1:-1]:
            chosen = (ranks < count).reshape(image.shape[:2])[..., None]
            inputs += [np.where(chosen, fill, image), np.where(chosen, image, fill)]
    inputs = np.stack(inputs)
    # In chunks: a few dozen images at a time keep the kernel's memory low.
    outputs = np.concatenate(
        [
            model.predict_on_batch(inputs[start : start + _BATCH])
            for start in range(0, len(inputs), _BATCH)
        ]
    )[:, class_index]
    kept, removed = np.full((len(maps), 1), outputs[0]), np.full((len(maps), 1), outputs[1])
    inner = outputs[2:].reshape(len(maps), n_steps - 1, 2)
    probabilities = np.stack(
        [
            np.concatenate([kept, inner[..., 0], removed], axis=1),
            np.concatenate([removed, inner[..., 1], kept], axis=1),
        ]
    )
    fractions = counts / n_pixels
    return Bunch(
        fractions=fractions,
        deletion=probabilities[0],
        insertion=probabilities[1],
        deletion_auc=np.trapezoid(probabilities[0], fractions, axis=1),
        insertion_auc=np.trapezoid(probabilities[1], fractions, axis=1),
    )


def randomisation_check(
    model,
    images,
    class_indices,
    methods,
    from_layer: str = "conv3_block1_0_bn",
    random_state: int = 0,
    threshold: float = THRESHOLD,
    **options,
) -> pd.DataFrame:
    """Each method's maps before and after randomising the weights from ``from_layer`` up.

    Parameters
    ----------
    model : keras.Model
    images : float array (n, H, W, C)
    class_indices : int or sequence of int
    methods : sequence of str
        Names :func:`medinterp.saliency.saliency_maps` accepts.
    from_layer : str
        Cascading randomisation from this layer to the output (default: the second dense
        block of the shipped model onward, most of the network).
    random_state : int
        Seeds the new weights and the methods' noise.
    threshold : float
        A method passes when its median Spearman similarity is below this.
    **options
        ``{method: {option: value}}`` passed on per method, e.g.
        ``smoothgrad={"n_samples": 8}``.

    Returns
    -------
    pandas.DataFrame indexed by method
        ``spearman`` and ``ssim`` (medians over images and classes), ``passed``.

    ``model``'s own weights are randomised during the call and restored before it returns
    (:func:`medinterp.sanity.randomized_in_place`), so the compiled gradient steps are reused.
    """
    if isinstance(methods, str):
        methods = [methods]

    def maps(of):
        return {method: saliency_maps(of, images, class_indices, method,
                                      random_state=random_state, **options.get(method, {}))
                for method in methods}  # fmt: skip

    # The randomised maps first: a wrong from_layer fails before any map is computed.
    with randomized_in_place(model, from_layer, random_state=random_state) as randomized:
        after = maps(randomized)
    before = maps(model)
    rows = []
    for method in methods:
        pairs = list(zip(before[method].reshape(-1, *before[method].shape[2:]),
                         after[method].reshape(-1, *after[method].shape[2:]), strict=True))  # fmt: skip
        spearman = float(np.median([cam_similarity(a, b) for a, b in pairs]))
        ssim = float(np.median([map_ssim(a, b) for a, b in pairs]))
        rows.append({"method": method, "spearman": spearman, "ssim": ssim,
                     "passed": spearman < threshold})  # fmt: skip
    return pd.DataFrame(rows).set_index("method")
