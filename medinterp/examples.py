"""The example phantoms the notebooks and widgets use, shipped with the package.

Phantoms from ``phantoms.EXAMPLE_SEED``, picked in stream order so that every label appears
at least twice and a few images are normal, as PNG files, a ``labels.csv`` with an ``Image``
column and the 14 label columns (the course's layout), and one mask PNG per present finding.
The files are committed, so notebook outputs never drift; ``python -m medinterp.examples
medinterp/assets/examples`` (``make examples``)
re-renders them and a test checks that the shipped copy matches the generator.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from medinterp import phantoms
from medinterp.data import assets_dir
from medinterp.labels import LABELS

__all__ = ["ExampleSet", "examples_dir", "load_example_set", "select_examples", "write_example_set"]

EXAMPLES_PER_LABEL = 2
NORMAL_EXAMPLES = 4


def examples_dir() -> Path:
    """Folder of the shipped example set."""
    return assets_dir() / "examples"


def _image_name(index: int) -> str:
    return f"phantom_{index:03d}.png"


def _mask_name(image_name: str, label: str) -> str:
    return f"{Path(image_name).stem}_{label}.png"


def select_examples(seed: int = phantoms.EXAMPLE_SEED) -> list[int]:
    """Stream indices of the examples: each taken when it adds a label that has fewer than
    ``EXAMPLES_PER_LABEL`` examples, or a normal image while there are fewer than
    ``NORMAL_EXAMPLES``, until both quotas are met."""
    counts, normals, chosen, index = np.zeros(len(LABELS), int), 0, [], 0
    while counts.min() < EXAMPLES_PER_LABEL or normals < NORMAL_EXAMPLES:
        labels = phantoms.sample_labels(seed, index)
        if (labels.sum() == 0 and normals < NORMAL_EXAMPLES) or (
            labels.astype(bool) & (counts < EXAMPLES_PER_LABEL)
        ).any():
            chosen.append(index)
            counts += labels
            normals += labels.sum() == 0
        index += 1
    return chosen


def write_example_set(directory, seed: int = phantoms.EXAMPLE_SEED):
    """Render the example phantoms into ``directory`` (images, ``labels.csv``, ``masks/``)."""
    directory = Path(directory)
    (directory / "masks").mkdir(parents=True, exist_ok=True)
    indices = select_examples(seed)
    names = [_image_name(i) for i in indices]
    all_labels = []
    for name, index in zip(names, indices, strict=True):
        image, labels, masks = phantoms.render(seed, index)
        all_labels.append(labels)
        cv2.imwrite(str(directory / name), image)
        for label, mask, present in zip(LABELS, masks, labels, strict=True):
            if present:
                cv2.imwrite(
                    str(directory / "masks" / _mask_name(name, label)), mask * np.uint8(255)
                )
    table = pd.DataFrame(np.array(all_labels), columns=list(LABELS))
    table.insert(0, "Image", names)
    table.to_csv(directory / "labels.csv", index=False, lineterminator="\n")
    return directory


@dataclass(frozen=True)
class ExampleSet:
    """Phantoms on disk: ``directory``, the label table ``df`` and, loaded on demand,
    ``images`` ``(n, H, W)`` uint8 and ``masks`` ``(n, 14, H, W)`` bool."""

    directory: Path
    df: pd.DataFrame

    def __len__(self):
        return len(self.df)

    @cached_property
    def images(self) -> np.ndarray:
        return np.stack([self._read(self.directory / name) for name in self.df["Image"]])

    @cached_property
    def masks(self) -> np.ndarray:
        masks = np.zeros((len(self), len(LABELS), *self.images.shape[1:]), bool)
        for i, row in self.df.iterrows():
            for j, label in enumerate(LABELS):
                if row[label]:
                    path = self.directory / "masks" / _mask_name(row["Image"], label)
                    masks[i, j] = self._read(path) > 0
        return masks

    def stream_index(self, index: int) -> int:
        """Where image ``index`` sits in its phantom stream (``phantom_014.png``: 14), so that
        :func:`medinterp.phantoms.render` can draw the same patient again."""
        name = self.df["Image"].iloc[index]
        match = re.fullmatch(r"phantom_(\d+)\.png", name)
        if match is None:
            raise ValueError(f"{name!r} is not named like a rendered phantom (phantom_NNN.png)")
        return int(match.group(1))

    def labels(self, index: int) -> list[str]:
        """Names of the findings present in image ``index``."""
        row = self.df.iloc[index]
        return [label for label in LABELS if row[label]]

    @staticmethod
    def _read(path):
        pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if pixels is None:
            raise FileNotFoundError(f"Missing or unreadable example file {path}")
        return pixels


def load_example_set(directory=None) -> ExampleSet:
    """The shipped example set (or one written by :func:`write_example_set`)."""
    directory = Path(directory) if directory else examples_dir()
    labels_file = directory / "labels.csv"
    if not labels_file.is_file():
        raise FileNotFoundError(f"No labels.csv in folder {directory}")
    return ExampleSet(directory, pd.read_csv(labels_file))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python -m medinterp.examples FOLDER  "
            "(the repository's copy is medinterp/assets/examples)"
        )
    print(write_example_set(sys.argv[1]))
