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
:mod:`~medinterp.phantoms.findings` (the 14 findings, one renderer per label),
:mod:`~medinterp.phantoms.devices` (chest drains) and
:mod:`~medinterp.phantoms.acquisition` (positioning, exposure, noise).

Chest drains are off unless asked for. ``drain_probability=(p_if_pneumothorax,
p_otherwise)`` draws them as in a hospital, where most pneumothorax films are taken after
a drain was placed; the drain re-expands the lung, so a treated pneumothorax is smaller.
Drains come from their own random stream: ``generate(n, seed, drain_probability=(1, 1))``
and ``generate(n, seed, drain_probability=(0, 0))`` are the same patients with and without
a drain, and ``drain_probability=(0, 0)`` or ``None`` renders exactly the images of today.
"""

from __future__ import annotations

import numpy as np

from medinterp.labels import LABELS
from medinterp.phantoms.acquisition import acquire, warp_mask
from medinterp.phantoms.anatomy import MM_PER_PIXEL, SIZE, Canvas, sample_anatomy
from medinterp.phantoms.devices import draw_drain, sample_drain, validate_drain_probability
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
# Independent random streams of one patient, by position in SeedSequence.spawn. Children
# are stable by index, so a new stream is appended without changing the earlier ones.
_PATIENT, _CHOICE, _FINDING, _ACQUISITION, _NOISE, _DRAIN = range(6)
_N_STREAMS = 6


def generate(
    n: int,
    seed: int = 0,
    size: int = SIZE,
    start: int = 0,
    drain_probability: tuple[float, float] | None = None,
    return_drains: bool = False,
):
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
    drain_probability : (float, float) or None, default=None
        ``(p_if_pneumothorax, p_otherwise)``: how often a chest drain is drawn for patients
        with and without a pneumothorax. ``None`` draws none, and every pixel is as without
        drains. A drained pneumothorax is drawn smaller (the drain re-expands the lung).
    return_drains : bool, default=False
        Also return where the drains were drawn.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, size, size)
    labels : numpy.ndarray of int, shape (n, 14)
        0/1 in :data:`medinterp.LABELS` order.
    masks : numpy.ndarray of bool, shape (n, 14, size, size)
        Where each present finding was drawn; all False for absent findings.
    drains : numpy.ndarray of bool, shape (n, size, size)
        Only with ``return_drains=True``: where the drain tube was drawn; all False for
        images without a drain.
    """
    for name, value in (("n", n), ("seed", seed), ("size", size), ("start", start)):
        _check_integer(name, value)
    _check_seed(seed)
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be non-negative, got n={n}, start={start}")
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    if not isinstance(return_drains, (bool, np.bool_)):
        raise TypeError(f"return_drains must be True or False, got {return_drains!r}")
    drain_probability = validate_drain_probability(drain_probability)
    images = np.empty((n, size, size), np.uint8)
    labels = np.zeros((n, len(LABELS)), int)
    masks = np.zeros((n, len(LABELS), size, size), bool)
    drains = np.zeros((n, size, size), bool)
    for i in range(n):
        images[i], labels[i], masks[i], drains[i] = _render(
            seed, start + i, None, size, drain_probability
        )
    if return_drains:
        return images, labels, masks, drains
    return images, labels, masks


def _check_integer(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")


def _check_seed(seed):
    # numpy's SeedSequence takes non-negative integers only; say so in our words.
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer (0, 1, 2, ...), got {seed}")


def _streams(seed: int, index: int) -> list[np.random.Generator]:
    return [
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, index]).spawn(_N_STREAMS)
    ]


def render(
    seed: int,
    index: int,
    findings=None,
    size: int = SIZE,
    drain_probability: tuple[float, float] | None = None,
    return_drain: bool = False,
):
    """Render one phantom: image ``index`` of stream ``seed``.

    ``findings`` (a collection of label names) overrides the sampled findings while keeping
    the same patient, exposure and noise, so the same person can be seen with and without a
    finding. ``drain_probability`` is as in :func:`generate`: ``(1, 1)`` and ``(0, 0)``
    show the same person with and without a chest drain. With ``return_drain=True`` the
    drain's ``(size, size)`` mask is returned fourth.
    """
    for name, value in (("seed", seed), ("index", index), ("size", size)):
        _check_integer(name, value)
    _check_seed(seed)
    if index < 0 or size < 1:
        raise ValueError(f"index must be >= 0 and size >= 1, got index={index}, size={size}")
    if isinstance(findings, str):
        raise TypeError(
            f"findings must be a collection of label names, got the string {findings!r}"
        )
    if not isinstance(return_drain, (bool, np.bool_)):
        raise TypeError(f"return_drain must be True or False, got {return_drain!r}")
    result = _render(seed, index, findings, size, validate_drain_probability(drain_probability))
    return result if return_drain else result[:3]


def _render(seed, index, findings, size, drain_probability):
    # Separate streams, so that adding a finding or a drain changes nothing else.
    streams = _streams(seed, index)
    chosen = sample_findings(streams[_CHOICE]) if findings is None else validate_findings(findings)
    anatomy = sample_anatomy(streams[_PATIENT], chosen)
    canvas = Canvas(anatomy, streams[_FINDING])
    drain = None
    if drain_probability is not None:
        drain = sample_drain(streams[_DRAIN], "Pneumothorax" in chosen, drain_probability)
    if drain is not None:
        canvas.pneumothorax_scale = drain.residual
    canvas.draw_markings()
    draw_findings(canvas, chosen)
    canvas.draw_bones()
    if drain is not None:
        draw_drain(canvas, drain)
    image, labels, masks, matrix = acquire(canvas, streams[_ACQUISITION], streams[_NOISE], size)
    return image, labels, masks, warp_mask(canvas.device_mask, matrix, size)


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
