"""The 14 NIH ChestX-ray14 labels, in the course's order (the model's output order)."""

from __future__ import annotations

__all__ = ["LABELS", "label_index", "check_labels"]

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


def check_labels(labels, valid=LABELS, argument: str = "labels") -> list[str]:
    """``labels`` as a list of known names; a single string is one label, not its letters.

    Raises
    ------
    TypeError
        ``labels`` is not a string or a collection of strings.
    ValueError
        A name is not in ``valid`` (the message lists the valid ones).
    """
    if isinstance(labels, str):
        labels = [labels]
    try:
        labels = list(labels)
    except TypeError:
        raise TypeError(
            f"{argument} must be a label name or a list of them, got {type(labels).__name__}"
        ) from None
    unknown = [label for label in labels if not isinstance(label, str) or label not in valid]
    if unknown:
        raise ValueError(f"Unknown {argument} {unknown}. Valid labels: {list(valid)}")
    return labels
