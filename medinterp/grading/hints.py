"""Hints for the graded exercises, one more per call, read from ``hints.json``.

The policy: an exercise's hints go from the idea, to the API, to the key line. The first
says what the step is for; the middle ones name the functions and arguments; the last shows
the one or two key lines, or a skeleton with blanks (``___``), never the whole answer. Each
hint is printed with its place in that order; asked again after the last, ``hint`` repeats
the last one and says there are no more.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

__all__ = ["hint", "hint_level", "hints", "reset_hints"]

_shown: dict[str, int] = {}


@cache
def hints() -> dict[str, tuple[str, ...]]:
    """Every exercise's hints, in the order they are given."""
    text = resources.files("medinterp.grading").joinpath("hints.json").read_text("utf-8")
    return {name: tuple(items) for name, items in json.loads(text).items()}


def hint_level(number: int, total: int) -> str:
    """What hint ``number`` (1-based) of ``total`` gives: the idea, the API or the key line."""
    if number == total:
        return "the key line"
    return "the idea" if number == 1 else "the API"


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
    asked = _shown.get(exercise, 0)
    number = min(asked, len(items) - 1) + 1
    again = " again (there are no more: the rest is yours)" if asked >= len(items) else ""
    level = hint_level(number, len(items))
    print(f"Hint {number} of {len(items)}{again}, {level}:\n{items[number - 1]}")
    _shown[exercise] = asked + 1


def reset_hints() -> None:
    """Start every exercise's hints from the first again."""
    _shown.clear()
