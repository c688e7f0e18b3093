"""Drawing GradCAM: overlays, mask outlines and the course's multi-label figure.

Computation is in :mod:`medinterp.gradcam`; nothing here computes a map.
"""

from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["overlay", "mask_contour", "show_gradcam"]


def _to_unit_rgb(image):
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., np.newaxis], 3, axis=2)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def overlay(image, cam, alpha: float = 0.5, cmap: str = "magma") -> np.ndarray:
    """Blend a heat map over an image.

    Parameters
    ----------
    image : array, (H, W), (H, W, 1) or (H, W, 3)
        Any value range (it is rescaled to 0..1 for display, so normalised inputs work).
    cam : array, (h, w) in [0, 1]
        Resized to the image when the sizes differ.
    alpha : float in [0, 1]
        Opacity of the heat map.
    cmap : str
        A matplotlib colormap name.

    Returns
    -------
    numpy.ndarray of uint8, shape (H, W, 3)
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = _to_unit_rgb(image)
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f"cam must be 2-D (H, W), got shape {cam.shape}")
    if cam.shape != base.shape[:2]:
        cam = cv2.resize(cam, base.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    try:
        colormap = plt.get_cmap(cmap)
    except ValueError:
        raise ValueError(f"Unknown colormap {cmap!r}; see matplotlib.colormaps") from None
    heat = colormap(np.clip(cam, 0, 1))[..., :3]
    return np.round(((1 - alpha) * base + alpha * heat) * 255).astype(np.uint8)


def mask_contour(rgb, mask, color=(0, 255, 0)):
    """A copy of an RGB image with the outline of a boolean mask drawn on it."""
    mask = np.asarray(mask, dtype=np.uint8)
    if mask.shape != rgb.shape[:2]:
        mask = cv2.resize(mask, rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outlined = np.ascontiguousarray(rgb).copy()
    cv2.drawContours(outlined, contours, -1, color, 1)
    return outlined


def _check_ground_truth(ground_truth, labels) -> list[bool]:
    """One 0/1 (or True/False) per label; anything else named before a figure is drawn."""
    if isinstance(ground_truth, str) or not hasattr(ground_truth, "__len__"):
        raise TypeError(
            f"ground_truth must be a sequence of 0/1, one per label, got {type(ground_truth).__name__}"
        )
    if len(ground_truth) != len(labels):
        raise ValueError(
            f"ground_truth must have one 0/1 per label: {len(labels)} labels "
            f"({', '.join(map(str, labels))}), got {len(ground_truth)} values"
        )
    values = []
    for label, value in zip(labels, ground_truth, strict=True):
        if np.ndim(value) != 0:
            raise ValueError(
                f"ground_truth must hold one 0/1 per label, got a {type(value).__name__} of "
                f"shape {np.shape(value)} for {label} (a one-row Series? take its value, "
                "e.g. with .iloc[0])"
            )
        if value not in (0, 1):
            raise ValueError(f"ground_truth must hold one 0/1 per label, got {value!r} for {label}")
        values.append(bool(value))
    return values


def show_gradcam(image, cams, probabilities, labels, ground_truth=None, masks=None, alpha=0.5):
    """The course's figure: the original, then one overlay per label.

    Every overlay is drawn with the same opacity ``alpha``, whatever the probability: a
    GradCAM map is normalised to its own maximum, so a map for an unlikely label looks as
    strong as one for a likely label, and the probability in its title says how much the
    model believes it. (The course faded each map to ``min(0.5, p)``, which left maps for
    p < 0.1 nearly invisible.)

    Parameters
    ----------
    image : array (H, W) or (H, W, 3)
    cams : array (k, H, W)
    probabilities : sequence of k floats
    labels : sequence of k label names
    ground_truth : sequence of k 0/1, optional
        Printed and shown in the titles.
    masks : array (k, H, W) of bool, optional
        Ground-truth outlines to draw (phantoms).
    alpha : float in [0, 1], default=0.5
        Opacity of every heat map.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cams = np.asarray(cams)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if len(cams) != len(probabilities) or len(cams) != len(labels):
        raise ValueError(
            f"cams, probabilities and labels must have the same length, got {len(cams)}, "
            f"{len(probabilities)} and {len(labels)}"
        )
    if ground_truth is not None:
        ground_truth = _check_ground_truth(ground_truth, labels)
        print(
            "Ground truth: "
            + (
                ", ".join(label for label, t in zip(labels, ground_truth, strict=True) if t)
                or "none of these"
            )
        )
    for label, probability in zip(labels, probabilities, strict=True):
        print(f"{label}: p = {probability:.3f}")
    figure, axes = plt.subplots(1, len(cams) + 1, figsize=(3.2 * (len(cams) + 1), 3.6))
    axes = np.atleast_1d(axes)
    axes[0].imshow(_to_unit_rgb(image))
    axes[0].set_title("Original")
    for i, (axis, cam, label, probability) in enumerate(
        zip(axes[1:], cams, labels, probabilities, strict=True)
    ):
        rgb = overlay(image, cam, alpha=alpha)
        if masks is not None and np.any(masks[i]):
            rgb = mask_contour(rgb, masks[i])
        title = f"{label}: p={probability:.3f}"
        if ground_truth is not None:
            title += "\n(present)" if ground_truth[i] else "\n(absent)"
        axis.imshow(rgb)
        axis.set_title(title)
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    plt.close(figure)
    return figure
