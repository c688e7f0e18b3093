"""Synthetic frontal chest radiographs with ground-truth masks for the 14 course labels.

These are **synthetic teaching images, not patients**. Each phantom is drawn from simple
shapes: body soft tissue, two lung fields cut by the diaphragm domes, heart and
mediastinum, ribs, clavicles, spine and vessel markings, varied per patient in size,
position, rotation, exposure and noise. Findings are drawn with their textbook appearance,
and every finding comes with the mask of where it was drawn, so an explanation method can
be checked against the truth.

Image ``i`` of ``generate(n, seed)`` depends only on ``(seed, i)``: ``generate(10, 0)[0][:5]``
equals ``generate(5, 0)[0]``, and ``start`` streams later images without the earlier ones.

The renderer is split by concern: :mod:`~medinterp.phantoms.anatomy` (the patient),
:mod:`~medinterp.phantoms.findings` (the 14 findings, one renderer per label) and
:mod:`~medinterp.phantoms.acquisition` (positioning, exposure, noise).
"""

from __future__ import annotations

import numpy as np

from medinterp import LABELS
from medinterp.phantoms.acquisition import acquire
from medinterp.phantoms.anatomy import MM_PER_PIXEL, SIZE, Canvas, sample_anatomy
from medinterp.phantoms.findings import (
    LABEL_INDEX,
    NORMAL_FRACTION,
    draw_findings,
    sample_findings,
    validate_findings,
)

__all__ = [
    "EVALUATION_SEED",
    "EXAMPLE_SEED",
    "MM_PER_PIXEL",
    "NORMAL_FRACTION",
    "SIZE",
    "TRAIN_SEED",
    "VALIDATION_SEED",
    "generate",
    "label_frequencies",
    "render",
    "sample_labels",
]

# Disjoint patient streams: training never sees an evaluation or example patient.
TRAIN_SEED, VALIDATION_SEED, EVALUATION_SEED, EXAMPLE_SEED = 1, 2, 3, 0
# Independent random streams of one patient, by position in SeedSequence.spawn.
_PATIENT, _CHOICE, _FINDING, _ACQUISITION, _NOISE = range(5)
_N_STREAMS = 5


def generate(n: int, seed: int = 0, size: int = SIZE, start: int = 0):
    """Render ``n`` phantoms.

    Parameters
    ----------
    n : int
        Number of images.
    seed : int, default=0
        Stream of patients. Image ``start + i`` depends only on ``(seed, start + i)``.
    size : int, default=256
        Output height and width in pixels.
    start : int, default=0
        Index of the first image in the stream.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, size, size)
    labels : numpy.ndarray of int, shape (n, 14)
        0/1 in :data:`medinterp.LABELS` order.
    masks : numpy.ndarray of bool, shape (n, 14, size, size)
        Where each present finding was drawn; all False for absent findings.
    """
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be non-negative, got n={n}, start={start}")
    images = np.empty((n, size, size), np.uint8)
    labels = np.zeros((n, len(LABELS)), int)
    masks = np.zeros((n, len(LABELS), size, size), bool)
    for i in range(n):
        images[i], labels[i], masks[i] = render(seed, start + i, size=size)
    return images, labels, masks


def _streams(seed: int, index: int) -> list[np.random.Generator]:
    return [
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, index]).spawn(_N_STREAMS)
    ]


def render(seed: int, index: int, findings=None, size: int = SIZE):
    """Render one phantom: image ``index`` of stream ``seed``.

    ``findings`` (a collection of label names) overrides the sampled findings while keeping
    the same patient, exposure and noise, so the same person can be seen with and without a
    finding.
    """
    # Separate streams, so that adding a finding changes nothing else about the patient.
    streams = _streams(seed, index)
    chosen = sample_findings(streams[_CHOICE]) if findings is None else validate_findings(findings)
    anatomy = sample_anatomy(streams[_PATIENT], chosen)
    canvas = Canvas(anatomy, streams[_FINDING])
    canvas.draw_markings()
    draw_findings(canvas, chosen)
    canvas.draw_bones()
    image, labels, masks, _ = acquire(canvas, streams[_ACQUISITION], streams[_NOISE], size)
    return image, labels, masks


def sample_labels(seed: int, index: int) -> np.ndarray:
    """The 0/1 labels image ``index`` of stream ``seed`` will have, without rendering it."""
    choice_stream = np.random.SeedSequence([seed, index]).spawn(_N_STREAMS)[_CHOICE]
    labels = np.zeros(len(LABELS), int)
    for name in sample_findings(np.random.default_rng(choice_stream)):
        labels[LABEL_INDEX[name]] = 1
    return labels


def label_frequencies(n: int = 10_000, seed: int = TRAIN_SEED) -> np.ndarray:
    """Share of positives per label among ``n`` patients of a stream, without rendering."""
    return np.mean([sample_labels(seed, index) for index in range(n)], axis=0)
