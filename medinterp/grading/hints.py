"""Hints for the graded exercises, one more per call, read from ``hints.json``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

__all__ = ["hint", "hints", "reset_hints"]

_shown: dict[str, int] = {}


@cache
def hints() -> dict[str, tuple[str, ...]]:
    """Every exercise's hints, in the order they are given."""
    text = resources.files("medinterp.grading").joinpath("hints.json").read_text("utf-8")
    return {name: tuple(items) for name, items in json.loads(text).items()}


def hint(exercise: str) -> None:
    """Print the next hint for ``exercise`` (call again for the next one).

    Raises
    ------
    TypeError
        ``exercise`` is not a string.
    ValueError
        No exercise has that name; the message lists those that do.
    """
    if not isinstance(exercise, str):
        raise TypeError(f"exercise must be an exercise name (str), got {exercise!r}")
    available = hints()
    if exercise not in available:
        raise ValueError(f"Unknown exercise {exercise!r}. Exercises with hints: {list(available)}")
    items = available[exercise]
    number = min(_shown.get(exercise, 0), len(items) - 1)
    print(f"Hint {number + 1} of {len(items)}: {items[number]}")
    _shown[exercise] = _shown.get(exercise, 0) + 1


def reset_hints() -> None:
    """Start every exercise's hints from the first again."""
    _shown.clear()
