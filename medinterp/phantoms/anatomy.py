"""The patient: body outline, lungs, heart, mediastinum, vessel markings and bones.

:func:`sample_anatomy` draws a patient's geometry; :class:`Canvas` holds one phantom in the
canonical ``SIZE`` x ``SIZE`` frame (an attenuation image on the 0..1 scale plus the masks
of what was drawn) and the geometry helpers that findings and devices draw with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

__all__ = [
    "AIR",
    "DENSE",
    "LUNG",
    "MM_PER_PIXEL",
    "SIZE",
    "SOFT",
    "Anatomy",
    "Canvas",
    "Lung",
    "sample_anatomy",
]

SIZE = 256
# The canonical frame spans about 40 cm, so one pixel is about 1.6 mm: a 3 cm lesion is
# 19 px across.
MM_PER_PIXEL = 400 / SIZE
# Attenuation on the image's 0..1 scale.
AIR, LUNG, SOFT, DENSE = 0.05, 0.17, 0.55, 0.62
_SUBPIXEL_BITS = 4
_GRID_Y, _GRID_X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
_GRID_Y.flags.writeable = _GRID_X.flags.writeable = False


@dataclass(frozen=True)
class Lung:
    cx: float
    cy: float
    ax: float
    ay: float
    dome_apex: float  # y of the diaphragm dome's top under this lung
    dome_height: float  # how far the dome falls towards the costophrenic angle
    lateral: int  # -1: lateral is towards smaller x (patient's right, image left)


@dataclass(frozen=True)
class Anatomy:
    right: Lung
    left: Lung
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


def sample_anatomy(rng: np.random.Generator, findings) -> Anatomy:
    """A patient's geometry; Emphysema, Atelectasis and Cardiomegaly change it."""
    width, height = rng.uniform(0.9, 1.07), rng.uniform(0.9, 1.07)
    dome_apex = 166 * height + rng.uniform(-5, 5)
    emphysema = "Emphysema" in findings
    tall = 1.1 if emphysema else 1.0
    dome_drop = 14 if emphysema else 0
    dome_height = rng.uniform(3, 7) if emphysema else rng.uniform(17, 26)
    right = Lung(
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
    return Anatomy(
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


class Canvas:
    """One phantom in the canonical frame: an attenuation image and the masks drawn on it.

    ``rng`` is the findings' stream. ``masks`` maps a label to where it was drawn;
    ``device_mask`` is where devices (chest drains) were drawn. ``pneumothorax_scale``
    shrinks a pneumothorax (a drain re-expands the lung), and ``pneumothorax_side`` is the
    side a pneumothorax was drawn on.
    """

    def __init__(self, anatomy: Anatomy, rng: np.random.Generator):
        self.anatomy, self.rng = anatomy, rng
        self.yy, self.xx = _GRID_Y, _GRID_X
        self.masks: dict[str, np.ndarray] = {}
        self.device_mask = np.zeros((SIZE, SIZE), bool)
        self.pneumothorax_scale = 1.0
        self.pneumothorax_side: str | None = None
        self.lung_right = self.lung_field(anatomy.right)
        self.lung_left = self.lung_field(anatomy.left)
        self.heart = self.ellipse(
            anatomy.heart_cx, anatomy.heart_cy, anatomy.heart_ax, anatomy.heart_ay,
            anatomy.heart_angle,
        )  # fmt: skip
        self.mediastinum = self._mediastinum()
        self.lungs = (self.lung_right | self.lung_left) & ~self.heart & ~self.mediastinum
        self.image = self._soft_tissue_and_air()
        self.bone = np.zeros_like(self.image)

    # --- geometry helpers -------------------------------------------------------------
    def ellipse(self, cx, cy, ax, ay, angle=0.0) -> np.ndarray:
        filled = np.zeros((SIZE, SIZE), np.uint8)
        scale = 1 << _SUBPIXEL_BITS
        center = (round(cx * scale), round(cy * scale))
        axes = (max(round(ax * scale), 1), max(round(ay * scale), 1))
        cv2.ellipse(filled, center, axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SUBPIXEL_BITS)
        return filled.astype(bool)

    def lung_field(self, lung: Lung) -> np.ndarray:
        dome = lung.dome_apex + lung.dome_height * ((self.xx - lung.cx) / lung.ax) ** 2
        return self.ellipse(lung.cx, lung.cy, lung.ax, lung.ay) & (self.yy < dome)

    def _mediastinum(self):
        a = self.anatomy
        center = 128 + a.mediastinum_shift
        half_width = 15 + 9 * np.clip((self.yy - 40) / 70, 0, 1)
        upper = (np.abs(self.xx - center) < half_width) & (self.yy < a.heart_cy)
        aortic_knob = self.ellipse(center + 17, a.heart_cy - a.heart_ay - 22, 11, 10)
        return upper | aortic_knob

    def side_field(self, side: str) -> np.ndarray:
        """The whole lung field of ``side`` ("right" or "left")."""
        return self.lung_right if side == "right" else self.lung_left

    def lung(self, side: str) -> Lung:
        return self.anatomy.right if side == "right" else self.anatomy.left

    def random_side(self) -> str:
        return "right" if self.rng.random() < 0.5 else "left"

    def distance_inside(self, region) -> np.ndarray:
        return cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)

    def random_point(self, region) -> tuple[float, float]:
        candidates = np.flatnonzero(region)
        if candidates.size == 0:
            candidates = np.flatnonzero(self.lungs)
        flat = candidates[self.rng.integers(candidates.size)]
        return float(flat % SIZE), float(flat // SIZE)

    def smooth_noise(self, sigma) -> np.ndarray:
        noise = self.rng.standard_normal((SIZE, SIZE)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), sigma)
        return (noise - noise.min()) / (np.ptp(noise) + 1e-6)

    def blur(self, array, sigma) -> np.ndarray:
        return cv2.GaussianBlur(array.astype(np.float32), (0, 0), sigma)

    def opacify(self, opacity, density=SOFT):
        """Blend towards fluid density where ``opacity`` (0..1) is high."""
        self.image += (density - self.image) * np.clip(opacity, 0, 1)

    def severity(self) -> float:
        # Some findings are subtle: a third of them are drawn at under 60 % strength.
        return self.rng.uniform(0.35, 1.0)

    # --- anatomy ----------------------------------------------------------------------
    def _soft_tissue_and_air(self):
        a = self.anatomy
        image = np.full((SIZE, SIZE), AIR, np.float32)
        body = self.ellipse(128, 150, 118 * (a.thoracic_width() / 176), 175)
        image[body] = SOFT - 0.06 * np.clip((self.yy[body] - 60) / 200, 0, 1)
        lungs = self.lung_right | self.lung_left
        # Lungs are darker towards the bases, where less soft tissue overlies them.
        gradient = a.lung_density + 0.06 * np.clip((120 - self.yy) / 100, 0, 1)
        image[lungs] = gradient[lungs]
        image[self.heart | self.mediastinum] = SOFT + 0.03
        dome = min(a.left.dome_apex, SIZE - 20)
        bubble = self.ellipse(a.left.cx + 4, dome + 16, 13, 8)
        image[bubble & ~lungs] -= 0.22
        return image

    def draw_markings(self):
        """Vessel markings fanning out from each hilum (before findings cover them)."""
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
        self.image += self.blur(layer, 0.7) * self.lungs

    def draw_bones(self):
        """Spine, ribs and clavicles (after findings, which lie behind them)."""
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
        self.image += self.blur(self.bone, 1.0)
