"""Synthetic frontal chest radiographs with ground-truth masks for the 14 course labels.

These are **synthetic teaching images, not patients**. Each phantom is drawn from simple
shapes: body soft tissue, two lung fields cut by the diaphragm domes, heart and
mediastinum, ribs, clavicles, spine and vessel markings, varied per patient in size,
position, rotation, exposure and noise. Findings are drawn with their textbook appearance,
and every finding comes with the mask of where it was drawn, so an explanation method can
be checked against the truth.

Image ``i`` of ``generate(n, seed)`` depends only on ``(seed, i)``: ``generate(10, 0)[0][:5]``
equals ``generate(5, 0)[0]``, and ``start`` streams later images without the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from medinterp.labels import LABELS

SIZE = 256
# The canonical frame spans about 40 cm, so one pixel is about 1.6 mm: a 3 cm lesion is
# 19 px across.
MM_PER_PIXEL = 400 / SIZE
NORMAL_FRACTION = 0.3
# Disjoint patient streams: training never sees an evaluation or example patient.
TRAIN_SEED, VALIDATION_SEED, EVALUATION_SEED, EXAMPLE_SEED = 1, 2, 3, 0

# Relative frequency of each label among abnormal images (before co-occurrence rules).
_FINDING_WEIGHTS = np.array([1.0, 0.8, 1.1, 0.6, 1.0, 0.9, 1.0, 1.0, 0.8, 0.8, 1.0, 0.8, 0.9, 1.0])
# Findings that travel together: (if present, also add, probability).
_CO_OCCURRENCE = (
    ("Edema", "Cardiomegaly", 0.5),
    ("Edema", "Effusion", 0.4),
    ("Cardiomegaly", "Effusion", 0.2),
    ("Atelectasis", "Effusion", 0.25),
    ("Pneumonia", "Effusion", 0.15),
    ("Emphysema", "Pneumothorax", 0.1),
)

_AIR, _LUNG, _SOFT, _DENSE = 0.05, 0.17, 0.55, 0.62
_INDEX = {label: i for i, label in enumerate(LABELS)}
_SUBPIXEL_BITS = 4
_GRID_Y, _GRID_X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
_GRID_Y.flags.writeable = _GRID_X.flags.writeable = False


@dataclass(frozen=True)
class _Lung:
    cx: float
    cy: float
    ax: float
    ay: float
    dome_apex: float  # y of the diaphragm dome's top under this lung
    dome_height: float  # how far the dome falls towards the costophrenic angle
    lateral: int  # -1: lateral is towards smaller x (patient's right, image left)


@dataclass(frozen=True)
class _Anatomy:
    right: _Lung
    left: _Lung
    heart_cx: float
    heart_cy: float
    heart_ax: float
    heart_ay: float
    heart_angle: float
    mediastinum_shift: float
    collapsed_side: str | None
    lung_density: float
    markings: int

    def thoracic_width(self) -> float:
        return (self.left.cx + self.left.ax) - (self.right.cx - self.right.ax)

    def heart_width(self) -> float:
        theta = np.deg2rad(self.heart_angle)
        return 2 * np.hypot(self.heart_ax * np.cos(theta), self.heart_ay * np.sin(theta))

    def cardiothoracic_ratio(self) -> float:
        return self.heart_width() / self.thoracic_width()


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


def render(seed: int, index: int, findings=None, size: int = SIZE):
    """Render one phantom: image ``index`` of stream ``seed``.

    ``findings`` (a collection of label names) overrides the sampled findings while keeping
    the same patient, exposure and noise, so the same person can be seen with and without a
    finding.
    """
    # Separate streams, so that adding a finding changes nothing else about the patient.
    streams = np.random.SeedSequence([seed, index]).spawn(5)
    patient_rng, choice_rng, finding_rng, acquisition_rng, noise_rng = (
        np.random.default_rng(s) for s in streams
    )
    chosen = _sample_findings(choice_rng) if findings is None else _validate_findings(findings)
    anatomy = _sample_anatomy(patient_rng, chosen)
    canvas = _Canvas(anatomy, finding_rng)
    canvas.draw(chosen)
    return canvas.finish(acquisition_rng, noise_rng, size)


def sample_labels(seed: int, index: int) -> np.ndarray:
    """The 0/1 labels image ``index`` of stream ``seed`` will have, without rendering it."""
    choice_stream = np.random.SeedSequence([seed, index]).spawn(5)[1]
    labels = np.zeros(len(LABELS), int)
    for name in _sample_findings(np.random.default_rng(choice_stream)):
        labels[_INDEX[name]] = 1
    return labels


def label_frequencies(n: int = 10_000, seed: int = TRAIN_SEED) -> np.ndarray:
    """Share of positives per label among ``n`` patients of a stream, without rendering."""
    return np.mean([sample_labels(seed, index) for index in range(n)], axis=0)


def _validate_findings(findings):
    unknown = [f for f in findings if f not in _INDEX]
    if unknown:
        raise ValueError(f"Unknown finding(s) {unknown}. Valid labels: {list(LABELS)}")
    return sorted(set(findings), key=_INDEX.get)


def _sample_findings(rng):
    if rng.random() < NORMAL_FRACTION:
        return []
    count = rng.choice([1, 2, 3], p=[0.5, 0.33, 0.17])
    weights = _FINDING_WEIGHTS / _FINDING_WEIGHTS.sum()
    chosen = {LABELS[i] for i in rng.choice(len(LABELS), count, replace=False, p=weights)}
    for present, companion, probability in _CO_OCCURRENCE:
        if rng.random() < probability and present in chosen:
            chosen.add(companion)
    return sorted(chosen, key=_INDEX.get)


def _sample_anatomy(rng, findings) -> _Anatomy:
    width, height = rng.uniform(0.9, 1.07), rng.uniform(0.9, 1.07)
    dome_apex = 166 * height + rng.uniform(-5, 5)
    emphysema = "Emphysema" in findings
    tall = 1.1 if emphysema else 1.0
    dome_drop = 14 if emphysema else 0
    dome_height = rng.uniform(3, 7) if emphysema else rng.uniform(17, 26)
    right = _Lung(
        cx=128 - 52 * width,
        cy=118 * height + (tall - 1) * 82 * height,
        ax=38 * width * (1.04 if emphysema else 1.0),
        ay=82 * height * tall,
        dome_apex=dome_apex + dome_drop,
        dome_height=dome_height,
        lateral=-1,
    )
    left = replace(
        right,
        cx=128 + 52 * width,
        ax=right.ax * 0.96,
        dome_apex=right.dome_apex + rng.uniform(3, 9),
        lateral=+1,
    )
    # Drawn whether used or not, so the rest of the patient is the same either way.
    collapse_right, dome_rise, shift_size = (
        rng.random() < 0.5,
        rng.uniform(8, 15),
        rng.uniform(2, 6),
    )
    shift, collapsed_side = 0.0, None
    if "Atelectasis" in findings:
        # Volume loss: the hemidiaphragm rises and the mediastinum moves towards that side.
        collapsed_side = "right" if collapse_right else "left"
        if collapse_right:
            right = replace(right, dome_apex=right.dome_apex - dome_rise)
            shift = -shift_size
        else:
            left = replace(left, dome_apex=left.dome_apex - dome_rise)
            shift = shift_size
    heart_ay = 36 * height * rng.uniform(0.92, 1.08)
    angle = rng.uniform(-28, -18)
    thoracic = (left.cx + left.ax) - (right.cx - right.ax)
    ratio = rng.uniform(0.55, 0.66) if "Cardiomegaly" in findings else rng.uniform(0.38, 0.47)
    theta = np.deg2rad(angle)
    half = ratio * thoracic / 2
    heart_ax = np.sqrt(max(half**2 - (heart_ay * np.sin(theta)) ** 2, 1.0)) / np.cos(theta)
    return _Anatomy(
        right=right,
        left=left,
        heart_cx=128 + 0.22 * half + shift,
        heart_cy=min(right.dome_apex, left.dome_apex) + 2 - 0.1 * heart_ay,
        heart_ax=heart_ax,
        heart_ay=heart_ay,
        heart_angle=angle,
        mediastinum_shift=shift,
        collapsed_side=collapsed_side,
        lung_density=rng.uniform(0.07, 0.1) if emphysema else rng.uniform(0.15, 0.19),
        markings=int(rng.integers(4, 7) if emphysema else rng.integers(9, 14)),
    )


class _Canvas:
    """One phantom in the canonical frame: an attenuation image and the finding masks."""

    def __init__(self, anatomy: _Anatomy, rng):
        self.anatomy, self.rng = anatomy, rng
        self.yy, self.xx = _GRID_Y, _GRID_X
        self.masks: dict[str, np.ndarray] = {}
        self.lung_right = self._lung_field(anatomy.right)
        self.lung_left = self._lung_field(anatomy.left)
        self.heart = self._ellipse(
            anatomy.heart_cx, anatomy.heart_cy, anatomy.heart_ax, anatomy.heart_ay,
            anatomy.heart_angle,
        )  # fmt: skip
        self.mediastinum = self._mediastinum()
        self.lungs = (self.lung_right | self.lung_left) & ~self.heart & ~self.mediastinum
        self.image = self._soft_tissue_and_air()
        self.bone = np.zeros_like(self.image)

    # --- geometry helpers -------------------------------------------------------------
    def _ellipse(self, cx, cy, ax, ay, angle=0.0):
        filled = np.zeros((SIZE, SIZE), np.uint8)
        scale = 1 << _SUBPIXEL_BITS
        center = (round(cx * scale), round(cy * scale))
        axes = (max(round(ax * scale), 1), max(round(ay * scale), 1))
        cv2.ellipse(filled, center, axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SUBPIXEL_BITS)
        return filled.astype(bool)

    def _lung_field(self, lung: _Lung):
        dome = lung.dome_apex + lung.dome_height * ((self.xx - lung.cx) / lung.ax) ** 2
        return self._ellipse(lung.cx, lung.cy, lung.ax, lung.ay) & (self.yy < dome)

    def _mediastinum(self):
        a = self.anatomy
        center = 128 + a.mediastinum_shift
        half_width = 15 + 9 * np.clip((self.yy - 40) / 70, 0, 1)
        upper = (np.abs(self.xx - center) < half_width) & (self.yy < a.heart_cy)
        aortic_knob = self._ellipse(center + 17, a.heart_cy - a.heart_ay - 22, 11, 10)
        return upper | aortic_knob

    def _side(self, side):
        return self.lung_right if side == "right" else self.lung_left

    def _lung(self, side) -> _Lung:
        return self.anatomy.right if side == "right" else self.anatomy.left

    def _random_side(self):
        return "right" if self.rng.random() < 0.5 else "left"

    def _distance_inside(self, region):
        return cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)

    def _random_point(self, region):
        candidates = np.flatnonzero(region)
        if candidates.size == 0:
            candidates = np.flatnonzero(self.lungs)
        flat = candidates[self.rng.integers(candidates.size)]
        return float(flat % SIZE), float(flat // SIZE)

    def _smooth_noise(self, sigma):
        noise = self.rng.standard_normal((SIZE, SIZE)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), sigma)
        return (noise - noise.min()) / (np.ptp(noise) + 1e-6)

    def _blur(self, array, sigma):
        return cv2.GaussianBlur(array.astype(np.float32), (0, 0), sigma)

    def _opacify(self, opacity, density=_SOFT):
        """Blend towards fluid density where ``opacity`` (0..1) is high."""
        self.image += (density - self.image) * np.clip(opacity, 0, 1)

    def _severity(self):
        # Some findings are subtle: a third of them are drawn at under 60 % strength.
        return self.rng.uniform(0.35, 1.0)

    # --- anatomy ----------------------------------------------------------------------
    def _soft_tissue_and_air(self):
        a = self.anatomy
        image = np.full((SIZE, SIZE), _AIR, np.float32)
        body = self._ellipse(128, 150, 118 * (a.thoracic_width() / 176), 175)
        image[body] = _SOFT - 0.06 * np.clip((self.yy[body] - 60) / 200, 0, 1)
        lungs = self.lung_right | self.lung_left
        # Lungs are darker towards the bases, where less soft tissue overlies them.
        gradient = a.lung_density + 0.06 * np.clip((120 - self.yy) / 100, 0, 1)
        image[lungs] = gradient[lungs]
        image[self.heart | self.mediastinum] = _SOFT + 0.03
        dome = min(a.left.dome_apex, SIZE - 20)
        bubble = self._ellipse(a.left.cx + 4, dome + 16, 13, 8)
        image[bubble & ~lungs] -= 0.22
        return image

    def _markings(self):
        a = self.anatomy
        layer = np.zeros((SIZE, SIZE), np.float32)
        for lung in (a.right, a.left):
            hilum = (lung.cx - lung.lateral * 0.45 * lung.ax, lung.cy + 0.05 * lung.ay)
            for _ in range(a.markings):
                angle = self.rng.uniform(-np.pi, np.pi)
                length = self.rng.uniform(0.5, 1.0) * lung.ax * 1.6
                points = [hilum]
                for step in range(1, 5):
                    angle += self.rng.normal(0, 0.25)
                    r = length * step / 4
                    points.append((hilum[0] + r * np.cos(angle), hilum[1] + r * np.sin(angle)))
                polyline = np.round(np.array(points)).astype(np.int32)
                cv2.polylines(layer, [polyline], False, 0.06, 1, cv2.LINE_AA)
        self.image += self._blur(layer, 0.7) * self.lungs

    def _bones(self):
        a = self.anatomy
        center = 128 + a.mediastinum_shift
        spine = (np.abs(self.xx - center) < 11) & ((self.yy.astype(int) % 14) < 11)
        self.bone += 0.13 * spine
        for lung in (a.right, a.left):
            medial_x = center - lung.lateral * 12
            lateral_x = lung.cx + lung.lateral * lung.ax * 1.12
            spacing = (lung.ay * 2) / 11
            for k in range(10):
                t = np.linspace(0, 1, 24)
                y0 = lung.cy - lung.ay + 6 + k * spacing
                posterior = np.stack(
                    [medial_x + (lateral_x - medial_x) * t, y0 - 9 * np.sin(np.pi * t) + 14 * t**2],
                    axis=1,
                )
                anterior = np.stack(
                    [lateral_x + (medial_x - lateral_x) * 0.7 * t, y0 + 5 + 26 * t], axis=1
                )
                cv2.polylines(self.bone, [np.round(posterior).astype(np.int32)], False, 0.09, 4)
                cv2.polylines(self.bone, [np.round(anterior).astype(np.int32)], False, 0.04, 3)
            clavicle = np.array(
                [
                    (center - lung.lateral * 14, 58),
                    (center + lung.lateral * 50, 46),
                    (center + lung.lateral * 100, 36),
                ],
                np.int32,
            )
            cv2.polylines(self.bone, [clavicle], False, 0.16, 7, cv2.LINE_AA)
        self.image += self._blur(self.bone, 1.0)

    # --- findings ---------------------------------------------------------------------
    def draw(self, findings):
        self._markings()
        for name in findings:
            getattr(self, "_draw_" + name.lower())()
        self._bones()

    def _draw_cardiomegaly(self):
        self.masks["Cardiomegaly"] = self.heart.copy()

    def _draw_emphysema(self):
        # Drawn through the anatomy: hyperlucent, taller lungs with flat, low domes.
        self.masks["Emphysema"] = self.lung_right | self.lung_left

    def _draw_effusion(self):
        sides = ["right", "left"] if self.rng.random() < 0.25 else [self._random_side()]
        mask = np.zeros((SIZE, SIZE), bool)
        for side in sides:
            lung = self._lung(side)
            field = self._side(side) & ~self.heart
            lateral_fraction = np.clip((self.xx - lung.cx) * lung.lateral / lung.ax + 0.5, 0, 1)
            level = lung.dome_apex - self.rng.uniform(15, 50)
            meniscus = level - self.rng.uniform(8, 20) * lateral_fraction**2
            depth = np.clip((self.yy - meniscus) / 6, 0, 1)
            self._opacify(depth * field * self.rng.uniform(0.8, 1.0))
            mask |= field & (depth > 0.3)
        self.masks["Effusion"] = mask

    def _draw_hernia(self):
        a = self.anatomy
        cx = 128 + a.mediastinum_shift + self.rng.uniform(-6, 14)
        cy = min(a.right.dome_apex, a.left.dome_apex) - self.rng.uniform(10, 24)
        radius = self.rng.uniform(13, 21)
        disc = self._ellipse(cx, cy, radius, radius * 0.9)
        strength = self._severity()
        if self.rng.random() < 0.6:
            fluid_level = cy + self.rng.uniform(-0.3, 0.3) * radius
            air = disc & (self.yy < fluid_level)
            self.image += self._blur(0.15 * (disc & ~air) - 0.22 * air, 0.8) * strength
        else:
            self.image += self._blur(0.15 * disc, 1.5) * strength
        rim = disc & ~self._ellipse(cx, cy, radius - 2, radius * 0.9 - 2)
        self.image += 0.05 * rim * strength
        self.masks["Hernia"] = disc

    def _draw_infiltration(self):
        patches = np.zeros((SIZE, SIZE), np.float32)
        for _ in range(self.rng.integers(2, 6)):
            x, y = self._random_point(self.lungs)
            radius = self.rng.uniform(9, 20)
            blob = np.exp(-((self.xx - x) ** 2 + (self.yy - y) ** 2) / (2 * radius**2))
            patches = np.maximum(patches, blob)
        patches *= 0.45 + 0.55 * self._smooth_noise(3)
        patches *= self.lungs
        self._opacify(patches * 0.55 * self._severity())
        self.masks["Infiltration"] = patches > 0.3

    def _round_lesion(self, name, radius_range):
        radius = self.rng.uniform(*radius_range)
        inside = self._distance_inside(self.lungs) > radius * 0.8
        x, y = self._random_point(inside)
        theta = np.arctan2(self.yy - y, self.xx - x)
        lobulation = 1 + 0.1 * np.sin(3 * theta + self.rng.uniform(0, 6)) * (radius > 9)
        shape = np.hypot(self.xx - x, self.yy - y) <= radius * lobulation
        self._opacify(self._blur(shape, 1.0) * self.rng.uniform(0.45, 0.9) * self._severity())
        self.masks[name] = shape

    def _draw_mass(self):
        # Over 3 cm: a radius of at least 10 px is a diameter of 3.1 cm.
        self._round_lesion("Mass", (10, 17))

    def _draw_nodule(self):
        # At most 3 cm: radius 3.5 to 9 px, 1.1 to 2.8 cm across.
        self._round_lesion("Nodule", (3.5, 9))

    def _draw_atelectasis(self):
        side = self.anatomy.collapsed_side
        lung = self._lung(side)
        field = self._side(side) & self.lungs
        shape = np.zeros((SIZE, SIZE), np.uint8)
        lower = field & (self.yy > lung.cy)
        x, y = self._random_point(lower)
        if self.rng.random() < 0.5:  # plate-like: a thick, nearly horizontal line
            half = self.rng.uniform(12, 24)
            tilt = self.rng.uniform(-0.35, 0.35)
            ends = np.array([(x - half, y - half * tilt), (x + half, y + half * tilt)])
            cv2.line(shape, *[tuple(np.round(e).astype(int)) for e in ends], 1,
                     int(self.rng.integers(4, 8)))  # fmt: skip
        else:  # wedge: base on the lateral pleura, apex towards the hilum
            wall_x = lung.cx + lung.lateral * lung.ax * 0.9
            hilum = (lung.cx - lung.lateral * 0.4 * lung.ax, lung.cy + 0.05 * lung.ay)
            spread = self.rng.uniform(10, 18)
            triangle = np.array([(wall_x, y - spread), (wall_x, y + spread), hilum], np.int32)
            cv2.fillPoly(shape, [triangle], 1)
        shape = shape.astype(bool) & field
        self._opacify(self._blur(shape, 1.0) * self.rng.uniform(0.6, 0.9) * self._severity())
        self.masks["Atelectasis"] = shape

    def _pleural_space(self):
        """A random lung, its field clear of heart and mediastinum, and the depth into it."""
        side = self._random_side()
        field = self._side(side) & ~self.heart & ~self.mediastinum
        return self._lung(side), field, self._distance_inside(field)

    def _draw_pneumothorax(self):
        lung, field, distance = self._pleural_space()
        width = self.rng.uniform(7, 20)
        taper = np.clip((lung.cy + 0.3 * lung.ay - self.yy) / 40, 0, 1)
        lateral = (self.xx - lung.cx) * lung.lateral > -0.2 * lung.ax
        apex = self.yy < lung.cy - 0.55 * lung.ay
        band = field & (distance < width * taper) & (lateral | apex)
        self.image[band] = _AIR + 0.02  # no lung markings beyond the pleural line
        edge = band & ~cv2.erode(band.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        pleural_line = edge & (distance > 1.5)
        self.image += 0.22 * self._blur(pleural_line, 0.5)
        self.masks["Pneumothorax"] = band

    def _draw_pleural_thickening(self):
        lung, field, distance = self._pleural_space()
        thickness = self.rng.uniform(3, 7) * (0.7 + 0.6 * self._smooth_noise(4))
        if self.rng.random() < 0.5:  # apical cap
            region = self.yy < lung.cy - 0.5 * lung.ay
        else:  # a segment of the lateral chest wall
            y = self.rng.uniform(lung.cy - 0.4 * lung.ay, lung.cy + 0.4 * lung.ay)
            region = (np.abs(self.yy - y) < self.rng.uniform(15, 30)) & (
                (self.xx - lung.cx) * lung.lateral > 0
            )
        band = field & region & (distance < thickness)
        self._opacify(self._blur(band, 0.8) * self.rng.uniform(0.75, 1.0) * self._severity())
        self.masks["Pleural_Thickening"] = band

    def _lobe(self):
        side = self._random_side()
        lung = self._lung(side)
        field = self._side(side) & self.lungs
        split = lung.cy - 0.1 * lung.ay + 0.3 * (self.xx - lung.cx) * lung.lateral
        lobe = field & ((self.yy < split) if self.rng.random() < 0.4 else (self.yy >= split))
        x, y = self._random_point(lobe)
        radius = self.rng.uniform(22, 38)
        return lobe & (np.hypot(self.xx - x, self.yy - y) < radius)

    def _draw_pneumonia(self):
        region = self._lobe()
        patchy = 0.35 + 0.65 * self._smooth_noise(2.5)
        opacity = self._blur(region, 3.0) * patchy * self.rng.uniform(0.45, 0.7) * self._severity()
        self._opacify(opacity)
        # Air bronchograms: dark branching lines inside the opacity.
        bronchi = np.zeros((SIZE, SIZE), np.float32)
        x, y = self._random_point(region)
        for _ in range(3):
            angle = self.rng.uniform(0, 2 * np.pi)
            end = (int(x + 18 * np.cos(angle)), int(y + 18 * np.sin(angle)))
            cv2.line(bronchi, (int(x), int(y)), end, 1.0, 1)
        self.image -= 0.08 * bronchi * region
        self.masks["Pneumonia"] = region & (opacity > 0.1)

    def _draw_consolidation(self):
        region = self._lobe()
        self._opacify(self._blur(region, 0.8) * self.rng.uniform(0.8, 0.95), density=_DENSE)
        self.masks["Consolidation"] = region

    def _draw_fibrosis(self):
        a = self.anatomy
        lower = self.lungs & (self.yy > min(a.right.cy, a.left.cy) + 0.1 * a.right.ay)
        lines = np.zeros((SIZE, SIZE), np.uint8)
        strength = self._severity()
        for _ in range(int(self.rng.integers(90, 160))):
            x, y = self._random_point(lower)
            angle = self.rng.uniform(0, np.pi)
            length = self.rng.uniform(3, 8)
            end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
            cv2.line(lines, (int(x), int(y)), end, 1, 1)
        lines = lines.astype(bool) & lower
        self.image += 0.2 * strength * self._blur(lines, 0.5)
        region = cv2.dilate(lines.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        self.masks["Fibrosis"] = region & lower

    def _draw_edema(self):
        a = self.anatomy
        haze = np.zeros((SIZE, SIZE), np.float32)
        for lung in (a.right, a.left):
            hilum_x = lung.cx - lung.lateral * 0.35 * lung.ax
            sx, sy = 0.5 * lung.ax, 0.45 * lung.ay
            haze = np.maximum(
                haze,
                np.exp(-((self.xx - hilum_x) ** 2) / (2 * sx**2) - (self.yy - lung.cy) ** 2 / (2 * sy**2)),
            )  # fmt: skip
        haze *= self.lungs
        strength = self._severity()
        self._opacify(haze * self.rng.uniform(0.45, 0.65) * strength)
        septal = np.zeros((SIZE, SIZE), np.uint8)
        for lung in (a.right, a.left):
            for _ in range(int(self.rng.integers(4, 9))):
                y = int(self.rng.uniform(lung.dome_apex - 35, lung.dome_apex - 5))
                x = int(lung.cx + lung.lateral * lung.ax * self.rng.uniform(0.7, 0.95))
                cv2.line(
                    septal, (x, y), (x - lung.lateral * int(self.rng.integers(5, 10)), y), 1, 1
                )
        septal = septal.astype(bool) & self.lungs
        self.image += 0.15 * strength * septal
        self.masks["Edema"] = (haze > 0.4) | cv2.dilate(
            septal.astype(np.uint8), np.ones((3, 3), np.uint8)
        ).astype(bool)

    # --- acquisition --------------------------------------------------------------------
    def finish(self, acquisition_rng, noise_rng, size):
        angle = acquisition_rng.uniform(-5, 5)
        scale = acquisition_rng.uniform(0.92, 1.05)
        matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), angle, scale)
        matrix[:, 2] += acquisition_rng.uniform(-8, 8, 2)
        matrix *= size / SIZE
        image = cv2.warpAffine(
            self.image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=_AIR
        )
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
        for name, mask in self.masks.items():
            if not mask.any():
                continue
            labels[_INDEX[name]] = 1
            warped = cv2.warpAffine(
                mask.astype(np.uint8), matrix, (size, size), flags=cv2.INTER_NEAREST
            )
            masks[_INDEX[name]] = warped.astype(bool)
        return image, labels, masks
