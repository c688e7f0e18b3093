"""Scoring an explanation map against ground truth: does it point at the finding?

- :func:`pointing_game`: the map's maximum inside the mask (``tolerance=0``, CheXlocalize's
  "hit", Saporta et al. 2022), or within ``tolerance`` pixels of it (Zhang et al. 2016 and
  TorchRay use 15 px).
- :func:`center_pointing_game`: the same score for a map that always points at the image
  centre, the baseline a real map has to beat.
- :func:`pointing_ceiling` and :func:`reachable_peaks`: the best any map on a given grid can
  score, because an upsampled map's maximum can only land next to one of its grid nodes.
- :func:`peak_distance` and :func:`energy_in_mask`: how far a miss lands, and how much of the
  map's mass falls inside the mask.

Everything here takes 2-D arrays and returns numbers; nothing computes a map or draws one.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "pointing_game",
    "center_pointing_game",
    "reachable_peaks",
    "pointing_ceiling",
    "peak_distance",
    "energy_in_mask",
]

_peak_cache: dict[tuple, np.ndarray] = {}


def _check_mask(mask, name: str = "mask") -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{name} must be 2-D (height, width), got shape {mask.shape}")
    if mask.dtype != bool:
        if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1), got dtype {mask.dtype}")
        mask = mask.astype(bool)
    return mask


def _check_pair(cam, mask):
    cam = np.asarray(cam)
    if cam.ndim != 2:
        raise ValueError(f"cam must be 2-D (height, width), got shape {cam.shape}")
    if cam.dtype.kind not in "iuf":
        raise TypeError(f"cam must hold numbers, got dtype {cam.dtype}")
    if not np.isfinite(cam).all():
        raise ValueError(
            f"cam has {int((~np.isfinite(cam)).sum())} NaN or infinite value(s): a map with "
            "them has no meaningful maximum"
        )
    mask = _check_mask(mask)
    if cam.shape != mask.shape:
        raise ValueError(
            f"cam and mask must have the same shape, got {cam.shape} and {mask.shape} "
            "(resize the cam to the mask with cv2.resize(cam, (width, height), "
            "interpolation=cv2.INTER_LINEAR))"
        )
    return cam, mask


def _check_tolerance(tolerance) -> float:
    if isinstance(tolerance, (bool, np.bool_)) or not isinstance(
        tolerance, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"tolerance must be a number of pixels, got {tolerance!r}")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number of pixels >= 0, got {tolerance}")
    return float(tolerance)


def _distance_to_mask(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance in pixels from every pixel to the nearest mask pixel."""
    outside = (~mask).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def pointing_game(cam, mask, tolerance: float = 0) -> bool:
    """True when the cam's maximum lies inside the mask, or within ``tolerance`` pixels of it.

    Parameters
    ----------
    cam : array of shape (H, W)
        The explanation map, at the mask's resolution. A map of zeros points nowhere (a miss).
    mask : bool array of shape (H, W)
        Where the finding is.
    tolerance : float, default=0
        0 is the strict hit (CheXlocalize); 15 is the usual pointing game (Zhang et al. 2016,
        TorchRay), which forgives a maximum just beside the annotation.
    """
    cam, mask = _check_pair(cam, mask)
    tolerance = _check_tolerance(tolerance)
    if not np.any(cam > 0):
        return False
    peak = np.argmax(cam)
    if tolerance == 0:
        return bool(mask.flat[peak])
    return bool(mask.any() and _distance_to_mask(mask).flat[peak] <= tolerance)


def center_pointing_game(mask, tolerance: float = 0) -> bool:
    """The pointing game of a map that always points at the image centre (TorchRay's
    centre baseline): what an explanation scores without looking at the image."""
    mask = _check_mask(mask)
    tolerance = _check_tolerance(tolerance)
    centre = np.zeros(mask.shape, np.float32)
    centre[mask.shape[0] // 2, mask.shape[1] // 2] = 1.0
    return pointing_game(centre, mask, tolerance)


def reachable_peaks(grid_shape, input_shape, output_shape) -> np.ndarray:
    """Where the maximum of a ``grid_shape`` map can land after upsampling, as a bool image.

    A GradCAM map is computed on the layer's grid, resized (bilinear) to the input and then
    to ``output_shape``. Bilinear interpolation never exceeds the grid values around it, so
    the maximum of any map sits next to one grid node: one pixel per node. A finding whose
    mask holds none of those pixels cannot win the pointing game at that resolution.
    """
    shapes = {"grid_shape": grid_shape, "input_shape": input_shape, "output_shape": output_shape}
    for name, shape in shapes.items():
        if (
            len(shape) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in shape)
            or min(shape) < 1
        ):
            raise ValueError(f"{name} must be two positive integers (height, width), got {shape}")
    key = tuple(int(v) for v in (*grid_shape, *input_shape, *output_shape))
    if key not in _peak_cache:
        rows, columns = key[:2]
        (in_h, in_w), (out_h, out_w) = key[2:4], key[4:6]
        peaks = np.zeros((out_h, out_w), bool)
        for node in range(rows * columns):
            one_hot = np.zeros((rows, columns), np.float32)
            one_hot.flat[node] = 1.0
            at_input = cv2.resize(one_hot, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
            at_output = cv2.resize(at_input, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
            peaks.flat[np.argmax(at_output)] = True
        peaks.flags.writeable = False
        _peak_cache[key] = peaks
    return _peak_cache[key]


def pointing_ceiling(mask, grid_shape, input_shape) -> bool:
    """True when some map on ``grid_shape`` could point inside ``mask`` (see
    :func:`reachable_peaks`): the best any GradCAM at that layer's resolution can do."""
    mask = _check_mask(mask)
    return bool(np.any(mask & reachable_peaks(grid_shape, input_shape, mask.shape)))


def peak_distance(cam, mask) -> float:
    """Distance in pixels from the cam's maximum to the nearest mask pixel (0 for a hit).

    An all-zero cam points nowhere: its distance is infinite, as :func:`pointing_game` calls
    it a miss.
    """
    cam, mask = _check_pair(cam, mask)
    if not mask.any():
        raise ValueError("mask is empty: there is no finding to measure the distance to")
    if not np.any(cam > 0):
        return float("inf")
    return float(_distance_to_mask(mask).flat[np.argmax(cam)])


def energy_in_mask(cam, mask) -> float:
    """Share of the cam's positive mass that falls inside the mask (0 for an all-zero cam).

    A uniform map scores the mask's area share, ``mask.mean()``: compare against that.
    """
    cam, mask = _check_pair(cam, mask)
    positive = np.clip(cam, 0, None)
    total = float(positive.sum())
    return float(positive[mask].sum() / total) if total > 0 else 0.0
