"""Scoring a saliency map against a mask, and one map against another: numbers only.

- :func:`pixel_auprc`: average precision of the map's pixels as a detector of the mask's
  pixels (Arun et al. 2021). A map that knows nothing scores the mask's area share.
- :func:`threshold_iou`: the map min-max normalised, thresholded by Otsu's method, and the
  intersection over union with the mask (CheXlocalize's mIoU, Saporta et al. 2022, averages
  it over cases).
- :func:`map_ssim`: the structural similarity of two maps (Wang et al. 2004), used with
  :func:`medinterp.sanity.cam_similarity` (Spearman) by the randomisation check.

Like :mod:`medinterp.localization`, everything here takes 2-D arrays and returns numbers.
"""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.metrics import average_precision_score

from medinterp.localization import energy_in_mask

__all__ = ["pixel_auprc", "otsu_mask", "threshold_iou", "map_ssim"]

# SSIM's constants for maps in [0, 1] (Wang et al. 2004: K1 = 0.01, K2 = 0.03, L = 1) and
# its Gaussian window.
_C1, _C2, _SSIM_SIGMA = 0.01**2, 0.03**2, 1.5


def _check_pair(saliency, mask):
    # energy_in_mask validates a (map, mask) pair with the package's messages.
    energy_in_mask(saliency, mask)
    return np.asarray(saliency, dtype=np.float64), np.asarray(mask).astype(bool)


def pixel_auprc(saliency, mask) -> float:
    """Average precision of ``saliency`` ranking the ``mask``'s pixels first.

    1 when every mask pixel outranks every other pixel; about ``mask.mean()`` for a map
    unrelated to the mask (a random ranking's precision is the positives' share).

    Raises
    ------
    ValueError
        Shapes differ, non-finite values, or an empty mask (no positives to rank).
    """
    saliency, mask = _check_pair(saliency, mask)
    if not mask.any():
        raise ValueError("mask is empty: AUPRC needs at least one pixel of the finding")
    return float(average_precision_score(mask.ravel(), saliency.ravel()))


def otsu_mask(saliency) -> np.ndarray:
    """The map min-max normalised to 0..255 and cut at Otsu's threshold: a boolean mask.

    A constant map has nothing to cut: its mask is empty.
    """
    saliency = np.asarray(saliency, dtype=np.float64)
    low, high = saliency.min(), saliency.max()
    if high <= low:
        return np.zeros(saliency.shape, bool)
    scaled = np.round((saliency - low) / (high - low) * 255).astype(np.uint8)
    _, binary = cv2.threshold(scaled, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary.astype(bool)


def threshold_iou(saliency, mask) -> float:
    """Intersection over union of the map's Otsu mask (:func:`otsu_mask`) with ``mask``."""
    saliency, mask = _check_pair(saliency, mask)
    predicted = otsu_mask(saliency)
    union = np.logical_or(predicted, mask).sum()
    return float(np.logical_and(predicted, mask).sum() / union) if union else 0.0


def map_ssim(map_a, map_b) -> float:
    """Mean structural similarity of two maps in [0, 1] (Gaussian window, sigma 1.5).

    1 for identical maps; near 0 for unrelated ones.
    """
    a, b = np.asarray(map_a, dtype=np.float64), np.asarray(map_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"maps must be 2-D and of one shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("maps must be finite")

    def blur(x):
        return cv2.GaussianBlur(x, (0, 0), _SSIM_SIGMA)

    mean_a, mean_b = blur(a), blur(b)
    var_a = blur(a * a) - mean_a**2
    var_b = blur(b * b) - mean_b**2
    covariance = blur(a * b) - mean_a * mean_b
    numerator = (2 * mean_a * mean_b + _C1) * (2 * covariance + _C2)
    denominator = (mean_a**2 + mean_b**2 + _C1) * (var_a + var_b + _C2)
    return float((numerator / denominator).mean())
