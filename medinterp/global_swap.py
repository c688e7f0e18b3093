"""Swap what a name a function calls is bound to.

The graders isolate one exercise from another this way (``compute_gradcam`` is graded with
the course's ``grad_cam``, not the student's own: :func:`replaced_global`), and notice an
answer that calls the package's own answer to its exercise (:func:`reported_calls`), in
the notebook and in the autograder's worker. It lives outside :mod:`medinterp.grading`
because the worker, which runs the students' answers, never sees the grading package.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["package_object", "replaced_global", "reported_calls"]


@contextmanager
def replaced_global(fn, name: str, replacement) -> Iterator[None]:
    """Swap the global ``name`` that ``fn`` calls (only if it uses it), then restore it."""
    if hasattr(fn, "replaced_global"):  # a function that runs elsewhere swaps it there
        with fn.replaced_global(name, replacement):
            yield
        return
    code = getattr(fn, "__code__", None)
    namespace = getattr(fn, "__globals__", None)
    if code is None or namespace is None or name not in _global_names(code):
        yield
        return
    missing = object()
    original = namespace.get(name, missing)
    namespace[name] = replacement
    try:
        yield
    finally:
        if original is missing:
            del namespace[name]
        else:
            namespace[name] = original


def _global_names(code) -> set[str]:
    """Names ``code`` looks up, its comprehensions' and lambdas' included (each is a code
    object of its own, in ``co_consts``, until Python 3.12 inlines comprehensions)."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _global_names(constant)
    return names


def reported_calls(names, report: Callable[[str], None], namespaces=()) -> Callable[[], None]:
    """Make the package functions ``names`` (dotted; for a class, its ``__init__``) call
    ``report(name)`` before they run, wherever a module of the package or one of
    ``namespaces`` binds them. Returns the function that puts the originals back.

    Only names bound at the time are reached: a reference kept in a closure escapes.
    """
    undo = []
    for dotted in names:
        original = package_object(dotted)
        if original is None:
            continue
        if isinstance(original, type):
            init = original.__dict__.get("__init__")
            if init is not None:
                original.__init__ = _reporting(dotted, init, report)
                undo.append((original, "__init__", init))
            continue
        reporting = _reporting(dotted, original, report)
        modules = [vars(m) for n, m in list(sys.modules.items())
                   if m is not None and n.partition(".")[0] == "medinterp"]  # fmt: skip
        for namespace in [*modules, *namespaces]:
            for key, value in list(namespace.items()):
                if value is original:
                    namespace[key] = reporting
                    undo.append((namespace, key, original))

    def restore() -> None:
        for place, key, original in reversed(undo):
            if isinstance(place, dict):
                place[key] = original
            else:
                setattr(place, key, original)

    return restore


def package_object(dotted: str):
    """The package's object ``dotted`` names (``"medinterp.importance.permute_feature"``),
    imported if need be; None when there is no such object."""
    module_name, _, attribute = str(dotted).rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return None


def _reporting(dotted: str, function, report):
    def reporting(*args, **kwargs):
        report(dotted)
        return function(*args, **kwargs)

    functools.update_wrapper(reporting, function)
    del reporting.__wrapped__  # help() and the name stay; the original is not handed out
    return reporting
