"""The 14 NIH ChestX-ray14 labels, in the course's order (the model's output order)."""

from __future__ import annotations

__all__ = ["LABELS", "label_index"]

LABELS: tuple[str, ...] = (
    "Cardiomegaly",
    "Emphysema",
    "Effusion",
    "Hernia",
    "Infiltration",
    "Mass",
    "Nodule",
    "Atelectasis",
    "Pneumothorax",
    "Pleural_Thickening",
    "Pneumonia",
    "Fibrosis",
    "Edema",
    "Consolidation",
)


def label_index(label: str) -> int:
    """Position of ``label`` in :data:`LABELS`, with an error that lists them."""
    if not isinstance(label, str) or label not in LABELS:
        raise ValueError(f"Unknown label {label!r}. Valid labels: {list(LABELS)}")
    return LABELS.index(label)
