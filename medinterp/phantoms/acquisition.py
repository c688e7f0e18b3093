"""Acquisition: positioning, exposure and detector noise, and the masks that follow them.

:func:`acquire` turns a :class:`~medinterp.phantoms.anatomy.Canvas` in the canonical frame
into the final uint8 radiograph at the requested size, moving every mask with the image.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from medinterp.labels import LABELS
from medinterp.phantoms.anatomy import AIR, SIZE, Canvas

__all__ = ["acquire", "warp_mask"]


def acquire(
    canvas: Canvas,
    acquisition_rng: np.random.Generator,
    noise_rng: np.random.Generator,
    size: int,
):
    """Rotate, scale and shift the patient, set exposure and add noise.

    Returns
    -------
    image : numpy.ndarray of uint8, shape (size, size)
    labels : numpy.ndarray of int, shape (14,)
        1 for every finding whose mask is not empty.
    masks : numpy.ndarray of bool, shape (14, size, size)
    matrix : numpy.ndarray, shape (2, 3)
        The affine map from the canonical frame to the output image, for further masks.
    """
    angle = acquisition_rng.uniform(-5, 5)
    scale = acquisition_rng.uniform(0.92, 1.05)
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), angle, scale)
    matrix[:, 2] += acquisition_rng.uniform(-8, 8, 2)
    matrix *= size / SIZE
    image = _warp(canvas.image, matrix, size, order=1, outside=AIR)
    contrast = acquisition_rng.uniform(0.85, 1.15)
    brightness = acquisition_rng.uniform(-0.05, 0.05)
    gamma = acquisition_rng.uniform(0.8, 1.25)
    image = np.clip(image * contrast + brightness, 0, 1) ** gamma
    grain = cv2.GaussianBlur(
        noise_rng.standard_normal((size, size)).astype(np.float32), (0, 0), 0.8
    )
    image += grain * noise_rng.uniform(0.015, 0.04) + noise_rng.normal(0, 0.01, (size, size))
    image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    labels = np.zeros(len(LABELS), int)
    masks = np.zeros((len(LABELS), size, size), bool)
    for name, mask in canvas.masks.items():
        if not mask.any():
            continue
        index = LABELS.index(name)
        labels[index] = 1
        masks[index] = warp_mask(mask, matrix, size)
    return image, labels, masks, matrix


def warp_mask(mask: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Move a canonical-frame mask with the image (nearest neighbour, so it stays binary)."""
    return _warp(mask.astype(np.uint8), matrix, size, order=0, outside=0).astype(bool)


def _warp(array: np.ndarray, matrix: np.ndarray, size: int, order: int, outside) -> np.ndarray:
    """``cv2.warpAffine(array, matrix, (size, size))`` with OpenCV 5's exact interpolation.

    OpenCV 4 quantises sample positions to 1/32 pixel in warpAffine (and rounds nearest
    neighbours from those positions), OpenCV 5 does not: the same phantom differed by up to 5
    grey levels and 8 mask pixels between the two. scipy samples at exact positions, which
    agrees with OpenCV 5 to float32 rounding (bilinear) and exactly (nearest), whatever
    OpenCV is installed. ``order`` 1 is bilinear, 0 nearest; ``outside`` fills beyond the
    edge and is blended with edge pixels, as OpenCV's constant border is.
    """
    inverse = cv2.invertAffineTransform(matrix)  # output (x, y) -> input (x, y)
    return ndimage.affine_transform(
        array,
        inverse[::-1, 1::-1],  # scipy indexes (row, column) = (y, x)
        offset=inverse[::-1, 2],
        output_shape=(size, size),
        order=order,
        mode="grid-constant",
        cval=outside,
        prefilter=False,
    )
