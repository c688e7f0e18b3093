"""Devices on the film: chest drains.

A chest drain is a radio-opaque tube that enters through the lateral chest wall and runs
inside the pleural space, usually up towards the apex (air) and sometimes down towards the
base (fluid). Its wall is faintly dense; a radio-opaque stripe runs along it and is broken
by the side holes near the tip. Outside the chest the tube runs down and out of the body
towards its drainage bottle.

Whether a patient has a drain, and its course, come from the drain's own random stream
(:func:`sample_drain`), so the same patient can be rendered with and without one. A drain
goes on the side of a pneumothorax when there is one, and re-expands it
(:attr:`Drain.residual`).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import cv2
import numpy as np

from medinterp.phantoms.anatomy import SIZE, Canvas

__all__ = ["Drain", "draw_drain", "sample_drain", "validate_drain_probability"]

# Added attenuation on the image's 0..1 scale: the plastic wall is near soft tissue, the
# barium stripe near cortical bone.
_WALL_DENSITY, _STRIPE_DENSITY = 0.07, 0.3
_HOLE_LENGTH = 3.0  # px along the tube: a side hole is about 5 mm


@dataclass(frozen=True)
class Drain:
    """One chest drain's course, in fractions of the lung it enters.

    ``side`` is used when the patient has no pneumothorax; ``residual`` is the share of a
    pneumothorax's width left once the drain has re-expanded the lung.
    """

    side: str
    residual: float
    entry_height: float  # where it crosses the lateral wall, from the lung's centre down
    apical: bool  # tip towards the apex (air) or towards the base (fluid)
    tip_across: float  # tip position across the lung, from medial (-) to lateral (+)
    tip_height: float  # how far the tip is from the lung's centre, in half-heights
    bend: float  # sideways bow of the intrathoracic course, in px
    outside_drop: float  # how far the tube falls outside the chest, in px
    outside_reach: float  # how far it runs laterally outside the chest, in px
    width: int  # tube wall thickness in px (20-28 Fr is 7-9 mm, 4-6 px)
    n_holes: int
    hole_spacing: float  # px between side holes


def validate_drain_probability(drain_probability) -> tuple[float, float] | None:
    """``None`` or a pair ``(p_if_pneumothorax, p_otherwise)`` of probabilities."""
    if drain_probability is None:
        return None
    if isinstance(drain_probability, (str, bytes)) or not hasattr(drain_probability, "__len__"):
        raise TypeError(
            "drain_probability must be None or a pair (p_if_pneumothorax, p_otherwise), "
            f"got {drain_probability!r}"
        )
    if len(drain_probability) != 2:
        raise ValueError(
            "drain_probability must be a pair (p_if_pneumothorax, p_otherwise), "
            f"got {len(drain_probability)} values: {drain_probability!r}"
        )
    pair = []
    for name, value in zip(("p_if_pneumothorax", "p_otherwise"), drain_probability, strict=True):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"drain_probability {name} must be a number, got {value!r}")
        if not 0.0 <= float(value) <= 1.0:  # also rejects NaN
            raise ValueError(
                f"drain_probability {name} must be a probability in [0, 1], got {value!r}"
            )
        pair.append(float(value))
    return pair[0], pair[1]


def sample_drain(
    rng: np.random.Generator, has_pneumothorax: bool, drain_probability: tuple[float, float]
) -> Drain | None:
    """Whether this patient has a drain and, if so, its course.

    Every draw is made whatever the probabilities, so a patient's drain is the same for any
    ``drain_probability`` that gives them one.
    """
    presence = rng.random()
    drain = Drain(
        side="right" if rng.random() < 0.5 else "left",
        residual=rng.uniform(0.1, 0.3),
        entry_height=rng.uniform(0.0, 0.4),
        apical=bool(rng.random() < 0.75),
        tip_across=rng.uniform(-0.3, 0.5),
        tip_height=rng.uniform(0.45, 0.8),
        bend=rng.uniform(-15, 15),
        outside_drop=rng.uniform(25, 60),
        outside_reach=rng.uniform(15, 35),
        width=int(rng.integers(4, 7)),
        n_holes=int(rng.integers(3, 6)),
        hole_spacing=rng.uniform(6, 9),
    )
    probability = drain_probability[0] if has_pneumothorax else drain_probability[1]
    return drain if presence < probability else None


def _course(canvas: Canvas, drain: Drain, side: str):
    """Points along the tube, from outside the body to the tip, and where it enters."""
    lung = canvas.lung(side)
    entry = np.array(
        [lung.cx + lung.lateral * lung.ax * 0.98, lung.cy + drain.entry_height * lung.ay]
    )
    outside = entry + [lung.lateral * drain.outside_reach, drain.outside_drop]
    direction = -1 if drain.apical else 1
    tip_height = drain.tip_height if drain.apical else 0.25 + 0.3 * drain.tip_height
    tip = np.array(
        [
            lung.cx + lung.lateral * drain.tip_across * lung.ax,
            lung.cy + direction * tip_height * lung.ay,
        ]
    )
    # A quadratic Bezier from the entry to the tip, bowed sideways by ``bend``.
    middle = (entry + tip) / 2
    along = tip - entry
    normal = np.array([-along[1], along[0]]) / (np.hypot(*along) + 1e-6)
    control = middle + drain.bend * normal
    t = np.linspace(0, 1, 60)[:, np.newaxis]
    inside = (1 - t) ** 2 * entry + 2 * (1 - t) * t * control + t**2 * tip
    t_out = np.linspace(0, 1, 12, endpoint=False)[:, np.newaxis]
    external = outside + t_out * (entry - outside)
    return np.clip(np.vstack([external, inside]), 1, SIZE - 2), len(external)


def draw_drain(canvas: Canvas, drain: Drain) -> None:
    """Draw ``drain`` on ``canvas`` (after the bones: the tube lies on top) and record it in
    ``canvas.device_mask``."""
    side = canvas.pneumothorax_side or drain.side
    points, n_external = _course(canvas, drain, side)
    scale = 16  # subpixel precision for cv2.polylines
    fixed = np.round(points * scale).astype(np.int32)
    wall = np.zeros((SIZE, SIZE), np.uint8)
    cv2.polylines(wall, [fixed], False, 1, drain.width, cv2.LINE_8, 4)
    # The stripe is broken by the side holes, spaced back from the tip.
    steps = np.hypot(*np.diff(points, axis=0).T)
    from_tip = np.concatenate([[0.0], np.cumsum(steps[::-1])])[::-1]
    in_hole = np.zeros(len(points), bool)
    for k in range(drain.n_holes):
        start = 2 + k * drain.hole_spacing
        in_hole |= (from_tip >= start) & (from_tip < start + _HOLE_LENGTH)
    in_hole[:n_external] = False
    stripe = np.zeros((SIZE, SIZE), np.uint8)
    run_start = None
    for i, hole in enumerate([*in_hole, True]):
        if not hole and run_start is None:
            run_start = i
        elif hole and run_start is not None:
            if i - run_start >= 2:
                cv2.polylines(stripe, [fixed[run_start:i]], False, 1, 2, cv2.LINE_8, 4)
            run_start = None
    tube = _WALL_DENSITY * canvas.blur(wall, 0.6) + _STRIPE_DENSITY * canvas.blur(stripe, 0.5)
    canvas.image += tube
    canvas.device_mask |= wall.astype(bool) | stripe.astype(bool)
