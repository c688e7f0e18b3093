"""The 14 findings: which ones a patient has, and how each is drawn.

:data:`RENDERERS` maps every label of :data:`medinterp.LABELS` to the function that draws
it on a :class:`~medinterp.phantoms.anatomy.Canvas` and records its mask in
``canvas.masks``. Each draws with ``canvas.rng``, the findings' own stream, so adding a
finding changes nothing else about the patient.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from medinterp.labels import LABELS
from medinterp.phantoms.anatomy import AIR, DENSE, SIZE, Canvas

__all__ = [
    "CO_OCCURRENCE",
    "FINDING_WEIGHTS",
    "LABEL_INDEX",
    "NORMAL_FRACTION",
    "RENDERERS",
    "draw_findings",
    "pleural_space",
    "sample_findings",
    "validate_findings",
]

NORMAL_FRACTION = 0.3
# Relative frequency of each label among abnormal images (before co-occurrence rules).
FINDING_WEIGHTS = np.array([1.0, 0.8, 1.1, 0.6, 1.0, 0.9, 1.0, 1.0, 0.8, 0.8, 1.0, 0.8, 0.9, 1.0])
FINDING_WEIGHTS.flags.writeable = False
# Findings that travel together: (if present, also add, probability).
CO_OCCURRENCE = (
    ("Edema", "Cardiomegaly", 0.5),
    ("Edema", "Effusion", 0.4),
    ("Cardiomegaly", "Effusion", 0.2),
    ("Atelectasis", "Effusion", 0.25),
    ("Pneumonia", "Effusion", 0.15),
    ("Emphysema", "Pneumothorax", 0.1),
)
LABEL_INDEX = {label: i for i, label in enumerate(LABELS)}


def validate_findings(findings) -> list[str]:
    """Known label names, deduplicated, in :data:`medinterp.LABELS` order."""
    unknown = [f for f in findings if f not in LABEL_INDEX]
    if unknown:
        raise ValueError(f"Unknown finding(s) {unknown}. Valid labels: {list(LABELS)}")
    return sorted(set(findings), key=LABEL_INDEX.get)


def sample_findings(rng: np.random.Generator) -> list[str]:
    """A patient's findings: none for ``NORMAL_FRACTION`` of patients, else one to three
    plus the companions of :data:`CO_OCCURRENCE`."""
    if rng.random() < NORMAL_FRACTION:
        return []
    count = rng.choice([1, 2, 3], p=[0.5, 0.33, 0.17])
    weights = FINDING_WEIGHTS / FINDING_WEIGHTS.sum()
    chosen = {LABELS[i] for i in rng.choice(len(LABELS), count, replace=False, p=weights)}
    for present, companion, probability in CO_OCCURRENCE:
        if rng.random() < probability and present in chosen:
            chosen.add(companion)
    return sorted(chosen, key=LABEL_INDEX.get)


def draw_findings(canvas: Canvas, findings) -> None:
    """Draw ``findings`` (label names) in order on ``canvas``."""
    for name in findings:
        RENDERERS[name](canvas)


def draw_cardiomegaly(canvas: Canvas):
    canvas.masks["Cardiomegaly"] = canvas.heart.copy()


def draw_emphysema(canvas: Canvas):
    # Drawn through the anatomy: hyperlucent, taller lungs with flat, low domes.
    canvas.masks["Emphysema"] = canvas.lung_right | canvas.lung_left


def draw_effusion(canvas: Canvas):
    rng = canvas.rng
    sides = ["right", "left"] if rng.random() < 0.25 else [canvas.random_side()]
    mask = np.zeros((SIZE, SIZE), bool)
    for side in sides:
        lung = canvas.lung(side)
        field = canvas.side_field(side) & ~canvas.heart
        lateral_fraction = np.clip((canvas.xx - lung.cx) * lung.lateral / lung.ax + 0.5, 0, 1)
        level = lung.dome_apex - rng.uniform(15, 50)
        meniscus = level - rng.uniform(8, 20) * lateral_fraction**2
        depth = np.clip((canvas.yy - meniscus) / 6, 0, 1)
        canvas.opacify(depth * field * rng.uniform(0.8, 1.0))
        mask |= field & (depth > 0.3)
    canvas.masks["Effusion"] = mask


def draw_hernia(canvas: Canvas):
    a, rng = canvas.anatomy, canvas.rng
    cx = 128 + a.mediastinum_shift + rng.uniform(-6, 14)
    cy = min(a.right.dome_apex, a.left.dome_apex) - rng.uniform(10, 24)
    radius = rng.uniform(13, 21)
    disc = canvas.ellipse(cx, cy, radius, radius * 0.9)
    strength = canvas.severity()
    if rng.random() < 0.6:
        fluid_level = cy + rng.uniform(-0.3, 0.3) * radius
        air = disc & (canvas.yy < fluid_level)
        canvas.image += canvas.blur(0.15 * (disc & ~air) - 0.22 * air, 0.8) * strength
    else:
        canvas.image += canvas.blur(0.15 * disc, 1.5) * strength
    rim = disc & ~canvas.ellipse(cx, cy, radius - 2, radius * 0.9 - 2)
    canvas.image += 0.05 * rim * strength
    canvas.masks["Hernia"] = disc


def draw_infiltration(canvas: Canvas):
    rng = canvas.rng
    patches = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(rng.integers(2, 6)):
        x, y = canvas.random_point(canvas.lungs)
        radius = rng.uniform(9, 20)
        blob = np.exp(-((canvas.xx - x) ** 2 + (canvas.yy - y) ** 2) / (2 * radius**2))
        patches = np.maximum(patches, blob)
    patches *= 0.45 + 0.55 * canvas.smooth_noise(3)
    patches *= canvas.lungs
    canvas.opacify(patches * 0.55 * canvas.severity())
    canvas.masks["Infiltration"] = patches > 0.3


def _round_lesion(canvas: Canvas, name, radius_range):
    rng = canvas.rng
    radius = rng.uniform(*radius_range)
    inside = canvas.distance_inside(canvas.lungs) > radius * 0.8
    x, y = canvas.random_point(inside)
    theta = np.arctan2(canvas.yy - y, canvas.xx - x)
    lobulation = 1 + 0.1 * np.sin(3 * theta + rng.uniform(0, 6)) * (radius > 9)
    shape = np.hypot(canvas.xx - x, canvas.yy - y) <= radius * lobulation
    canvas.opacify(canvas.blur(shape, 1.0) * rng.uniform(0.45, 0.9) * canvas.severity())
    canvas.masks[name] = shape


def draw_mass(canvas: Canvas):
    # Over 3 cm: a radius of at least 10 px is a diameter of 3.1 cm.
    _round_lesion(canvas, "Mass", (10, 17))


def draw_nodule(canvas: Canvas):
    # At most 3 cm: radius 3.5 to 9 px, 1.1 to 2.8 cm across.
    _round_lesion(canvas, "Nodule", (3.5, 9))


def draw_atelectasis(canvas: Canvas):
    rng = canvas.rng
    side = canvas.anatomy.collapsed_side
    lung = canvas.lung(side)
    field = canvas.side_field(side) & canvas.lungs
    shape = np.zeros((SIZE, SIZE), np.uint8)
    lower = field & (canvas.yy > lung.cy)
    x, y = canvas.random_point(lower)
    if rng.random() < 0.5:  # plate-like: a thick, nearly horizontal line
        half = rng.uniform(12, 24)
        tilt = rng.uniform(-0.35, 0.35)
        ends = np.array([(x - half, y - half * tilt), (x + half, y + half * tilt)])
        cv2.line(shape, *[tuple(np.round(e).astype(int)) for e in ends], 1,
                 int(rng.integers(4, 8)))  # fmt: skip
    else:  # wedge: base on the lateral pleura, apex towards the hilum
        wall_x = lung.cx + lung.lateral * lung.ax * 0.9
        hilum = (lung.cx - lung.lateral * 0.4 * lung.ax, lung.cy + 0.05 * lung.ay)
        spread = rng.uniform(10, 18)
        triangle = np.array([(wall_x, y - spread), (wall_x, y + spread), hilum], np.int32)
        cv2.fillPoly(shape, [triangle], 1)
    shape = shape.astype(bool) & field
    canvas.opacify(canvas.blur(shape, 1.0) * rng.uniform(0.6, 0.9) * canvas.severity())
    canvas.masks["Atelectasis"] = shape


def pleural_space(canvas: Canvas):
    """A random side, its lung, the field clear of heart and mediastinum, and the depth
    into it."""
    side = canvas.random_side()
    field = canvas.side_field(side) & ~canvas.heart & ~canvas.mediastinum
    return side, canvas.lung(side), field, canvas.distance_inside(field)


def draw_pneumothorax(canvas: Canvas):
    side, lung, field, distance = pleural_space(canvas)
    # A drain re-expands the lung: a treated pneumothorax is a thin rim of air, at least
    # 2 px (3 mm) wide so that it is still drawn. Untreated ones are 7 px or wider.
    width = max(canvas.rng.uniform(7, 20) * canvas.pneumothorax_scale, 2.0)
    canvas.pneumothorax_side = side
    taper = np.clip((lung.cy + 0.3 * lung.ay - canvas.yy) / 40, 0, 1)
    lateral = (canvas.xx - lung.cx) * lung.lateral > -0.2 * lung.ax
    apex = canvas.yy < lung.cy - 0.55 * lung.ay
    band = field & (distance < width * taper) & (lateral | apex)
    canvas.image[band] = AIR + 0.02  # no lung markings beyond the pleural line
    edge = band & ~cv2.erode(band.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    pleural_line = edge & (distance > 1.5)
    canvas.image += 0.22 * canvas.blur(pleural_line, 0.5)
    canvas.masks["Pneumothorax"] = band


def draw_pleural_thickening(canvas: Canvas):
    rng = canvas.rng
    _, lung, field, distance = pleural_space(canvas)
    thickness = rng.uniform(3, 7) * (0.7 + 0.6 * canvas.smooth_noise(4))
    if rng.random() < 0.5:  # apical cap
        region = canvas.yy < lung.cy - 0.5 * lung.ay
    else:  # a segment of the lateral chest wall
        y = rng.uniform(lung.cy - 0.4 * lung.ay, lung.cy + 0.4 * lung.ay)
        region = (np.abs(canvas.yy - y) < rng.uniform(15, 30)) & (
            (canvas.xx - lung.cx) * lung.lateral > 0
        )
    band = field & region & (distance < thickness)
    canvas.opacify(canvas.blur(band, 0.8) * rng.uniform(0.75, 1.0) * canvas.severity())
    canvas.masks["Pleural_Thickening"] = band


def _lobe(canvas: Canvas):
    rng = canvas.rng
    side = canvas.random_side()
    lung = canvas.lung(side)
    field = canvas.side_field(side) & canvas.lungs
    split = lung.cy - 0.1 * lung.ay + 0.3 * (canvas.xx - lung.cx) * lung.lateral
    lobe = field & ((canvas.yy < split) if rng.random() < 0.4 else (canvas.yy >= split))
    x, y = canvas.random_point(lobe)
    radius = rng.uniform(22, 38)
    return lobe & (np.hypot(canvas.xx - x, canvas.yy - y) < radius)


def draw_pneumonia(canvas: Canvas):
    rng = canvas.rng
    region = _lobe(canvas)
    patchy = 0.35 + 0.65 * canvas.smooth_noise(2.5)
    opacity = canvas.blur(region, 3.0) * patchy * rng.uniform(0.45, 0.7) * canvas.severity()
    canvas.opacify(opacity)
    # Air bronchograms: dark branching lines inside the opacity.
    bronchi = np.zeros((SIZE, SIZE), np.float32)
    x, y = canvas.random_point(region)
    for _ in range(3):
        angle = rng.uniform(0, 2 * np.pi)
        end = (int(x + 18 * np.cos(angle)), int(y + 18 * np.sin(angle)))
        cv2.line(bronchi, (int(x), int(y)), end, 1.0, 1)
    canvas.image -= 0.08 * bronchi * region
    canvas.masks["Pneumonia"] = region & (opacity > 0.1)


def draw_consolidation(canvas: Canvas):
    region = _lobe(canvas)
    canvas.opacify(canvas.blur(region, 0.8) * canvas.rng.uniform(0.8, 0.95), density=DENSE)
    canvas.masks["Consolidation"] = region


def draw_fibrosis(canvas: Canvas):
    a, rng = canvas.anatomy, canvas.rng
    lower = canvas.lungs & (canvas.yy > min(a.right.cy, a.left.cy) + 0.1 * a.right.ay)
    lines = np.zeros((SIZE, SIZE), np.uint8)
    strength = canvas.severity()
    for _ in range(int(rng.integers(90, 160))):
        x, y = canvas.random_point(lower)
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(3, 8)
        end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
        cv2.line(lines, (int(x), int(y)), end, 1, 1)
    lines = lines.astype(bool) & lower
    canvas.image += 0.2 * strength * canvas.blur(lines, 0.5)
    region = cv2.dilate(lines.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    canvas.masks["Fibrosis"] = region & lower


def draw_edema(canvas: Canvas):
    a, rng = canvas.anatomy, canvas.rng
    haze = np.zeros((SIZE, SIZE), np.float32)
    for lung in (a.right, a.left):
        hilum_x = lung.cx - lung.lateral * 0.35 * lung.ax
        sx, sy = 0.5 * lung.ax, 0.45 * lung.ay
        haze = np.maximum(
            haze,
            np.exp(-((canvas.xx - hilum_x) ** 2) / (2 * sx**2) - (canvas.yy - lung.cy) ** 2 / (2 * sy**2)),
        )  # fmt: skip
    haze *= canvas.lungs
    strength = canvas.severity()
    canvas.opacify(haze * rng.uniform(0.45, 0.65) * strength)
    septal = np.zeros((SIZE, SIZE), np.uint8)
    for lung in (a.right, a.left):
        for _ in range(int(rng.integers(4, 9))):
            y = int(rng.uniform(lung.dome_apex - 35, lung.dome_apex - 5))
            x = int(lung.cx + lung.lateral * lung.ax * rng.uniform(0.7, 0.95))
            cv2.line(septal, (x, y), (x - lung.lateral * int(rng.integers(5, 10)), y), 1, 1)
    septal = septal.astype(bool) & canvas.lungs
    canvas.image += 0.15 * strength * septal
    canvas.masks["Edema"] = (haze > 0.4) | cv2.dilate(
        septal.astype(np.uint8), np.ones((3, 3), np.uint8)
    ).astype(bool)


RENDERERS: dict[str, Callable[[Canvas], None]] = {
    "Cardiomegaly": draw_cardiomegaly,
    "Emphysema": draw_emphysema,
    "Effusion": draw_effusion,
    "Hernia": draw_hernia,
    "Infiltration": draw_infiltration,
    "Mass": draw_mass,
    "Nodule": draw_nodule,
    "Atelectasis": draw_atelectasis,
    "Pneumothorax": draw_pneumothorax,
    "Pleural_Thickening": draw_pleural_thickening,
    "Pneumonia": draw_pneumonia,
    "Fibrosis": draw_fibrosis,
    "Edema": draw_edema,
    "Consolidation": draw_consolidation,
}
