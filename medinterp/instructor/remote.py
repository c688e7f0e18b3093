"""The student's functions, called from the trusted grader, run in a sandbox.

The trusted process (:func:`open_worker`) starts a worker in a sandbox
(:mod:`medinterp.instructor.sandbox`) that runs the student's answer cells with the
released notebook's locked cells, then waits. A :class:`RemoteFunction` stands for one of
the student's functions: calling it sends the arguments to the worker, which calls the
student's function and sends back what it returned. Only plain data crosses
(:mod:`medinterp.instructor.plaindata`): JSON for the structure, ``.npy`` for arrays
(``allow_pickle=False``), nothing that can carry code. The worker's side is
:mod:`medinterp.instructor.worker`.

- Arrays, NumPy scalars, DataFrames, Series, numbers, text, paths, lists, tuples and dicts
  cross as data; a Keras model the graders use is named and the worker builds its own.
- Any other object of the trusted side (the grader's recording model and metric, the
  ``show_gradcam`` recorder) crosses as a *handle*: the worker gets a stand-in whose calls
  and public attributes come back to the trusted side, where the object lives and records
  what it was asked; so what the graders observe is observed outside the student's process.
- Anything else the student's code returns (a Keras model from ``get_hook``) stays in the
  worker as a handle the trusted side may call; a ``keras.Model`` stand-in passes
  ``isinstance(..., keras.Model)``.
- The student's exceptions come back as exceptions of the same built-in type (or a
  ``StudentError`` named after theirs), so the graders' ``StudentCrash`` path is unchanged.
- NumPy's legacy global random state travels with every call and callback and comes back,
  so a seeded grader draws the same permutations as it does in the notebook.
- The graders' references never enter the worker: the grading package is hidden from its
  file system, and a reference a grader swaps in for a student's helper is a handle called
  back here. Only the library's own functions cross by name.

A worker that dies, exits or runs past the time limit raises :class:`WorkerGone` (an
``Exception``: the grader reports a crash); the next exercise gets a fresh worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from medinterp.instructor.plaindata import (
    MODELS,
    TRUSTED_ONLY,
    Encoder,
    ProtocolError,
    decode,
    error_message,
    random_state_blob,
    rebuild_error,
    receive,
    send,
    set_random_state,
)

__all__ = ["RemoteFunction", "Worker", "WorkerGone", "WorkerProxy", "open_worker"]


class WorkerGone(Exception):  # noqa: N818 - reads as what happened
    """The worker died, exited, broke the protocol or ran past its time limit."""


def _known_model(value) -> str | None:
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(value, keras.Model):
        return None
    from importlib import import_module

    for name, (module, function) in MODELS.items():
        if value is getattr(import_module(module), function)():
            return name
    return None


class WorkerProxy:
    """Trusted-side stand-in for an object that lives in the worker (e.g. a hook model)."""

    def __init__(self, worker: Worker, handle: int, classes: list[str]):
        self._worker, self._handle, self._classes = worker, handle, classes

    @property
    def __class__(self):  # isinstance(proxy, keras.Model) for a model the student built
        if "keras.Model" in self._classes and "keras" in sys.modules:
            return sys.modules["keras"].Model
        return WorkerProxy

    def __call__(self, *args, **kwargs):
        return self._worker.call({"handle": self._handle}, args, kwargs)

    def __repr__(self):
        return f"<{'/'.join(self._classes) or 'object'} in the sandbox>"


class Worker:
    """The trusted side of one worker: sends calls, serves callbacks, keeps the handles."""

    def __init__(self, sandbox, to_worker: int, from_worker: int, timeout: float):
        self.sandbox, self._out, self._in, self.timeout = sandbox, to_worker, from_worker, timeout
        self._objects: list = []  # trusted objects the worker holds handles to
        self.gone: str = ""
        self.functions: list[str] = []
        self.cell_errors: list[str] = []
        self.used: set[str] = set()  # watched package functions the answers called
        self._encoder = Encoder(self._handle)

    def _handle(self, value, blobs):
        model = _known_model(value)
        if model is not None:
            return {"t": "model", "name": model}
        if isinstance(value, WorkerProxy):
            return {"t": "handle", "side": "worker", "id": value._handle}
        module = getattr(value, "__module__", None) or ""
        if (
            callable(value)
            and module.startswith("medinterp.")
            and not module.startswith(TRUSTED_ONLY)
            and (getattr(value, "__qualname__", "") == getattr(value, "__name__", None))
        ):
            # A module-level function of the library the grader swaps in (the course's
            # ``grad_cam``): the worker imports its own copy, so it runs next to the
            # student's code (under their gradient tape). The graders' own references
            # stay here and are called back.
            return {"t": "function", "module": module, "name": value.__name__}
        for index, known in enumerate(self._objects):
            if known is value:
                return {"t": "handle", "side": "trusted", "id": index}
        self._objects.append(value)
        return {"t": "handle", "side": "trusted", "id": len(self._objects) - 1}

    def _resolve(self, data):
        if data.get("t") == "handle" and data.get("side") == "trusted":
            index = data.get("id")
            if isinstance(index, int) and 0 <= index < len(self._objects):
                return self._objects[index]
        if data.get("t") == "handle" and data.get("side") == "worker":
            classes = [str(c) for c in data.get("classes", [])][:4]
            return WorkerProxy(self, int(data["id"]), classes)
        raise ProtocolError(f"unexpected value {str(data)[:80]}")

    def _fail(self, reason: str) -> WorkerGone:
        if not self.gone:
            self.gone = reason
            self.sandbox.kill()
        return WorkerGone(self.gone)

    def _read(self, timeout: float):
        if self.gone:
            raise WorkerGone(self.gone)
        try:
            return receive(self._in, time.monotonic() + timeout)
        except TimeoutError:
            raise self._fail(f"stopped after {timeout:g} s (the time limit)") from None
        except EOFError:
            self.sandbox.process.wait()
            raise self._fail(_ended(self.sandbox.process.returncode)) from None
        except (ProtocolError, ValueError, KeyError, TypeError) as error:
            raise self._fail(f"broke the protocol ({error})") from None

    def _write(self, header: dict, blobs: list[bytes]) -> None:
        try:
            send(self._out, header, blobs)
        except OSError:
            self.sandbox.process.wait()
            raise self._fail(_ended(self.sandbox.process.returncode)) from None

    def setup(self, cells: list[str], seconds: list[float], watched=()) -> None:
        """Run ``cells`` in the worker, each within its ``seconds``, after the package
        functions ``watched`` names are set to say when they are called."""
        message = {"op": "setup", "cells": cells, "seconds": seconds, "watched": list(watched)}
        self._write(message, [])
        header, _ = self._read(sum(seconds) + 2 * self.timeout)
        if header.get("op") != "ready":
            raise self._fail("broke the protocol (no ready message)")
        self.functions = [str(name) for name in header.get("functions", [])]
        self.cell_errors = [str(error)[:300] for error in header.get("errors", [])]

    def call(self, target: dict, args, kwargs, replaced: dict | None = None):
        """Call ``target`` in the worker; serve its callbacks until it answers."""
        blobs: list[bytes] = []
        message = {
            "op": "call", "target": target,
            "args": [self._encoder.encode(a, blobs) for a in args],
            "kwargs": {str(k): self._encoder.encode(v, blobs) for k, v in kwargs.items()},
            "globals": {str(k): self._encoder.encode(v, blobs) for k, v in (replaced or {}).items()},
            "random": random_state_blob(blobs),
        }  # fmt: skip
        self._write(message, blobs)
        while True:
            header, blobs = self._read(self.timeout)
            op = header.get("op")
            try:
                if op == "return":
                    set_random_state(header["random"], blobs)
                    return decode(header["value"], blobs, self._resolve)
                if op == "raise":
                    if "random" in header:
                        set_random_state(header["random"], blobs)
                    raise rebuild_error(header)
                if op == "used":
                    self.used.add(str(header.get("name"))[:200])
                    continue
                if op != "callback":
                    raise ProtocolError(f"unexpected message {str(op)[:40]}")
                reply = self._serve(header, blobs)
            except (ProtocolError, KeyError, TypeError, ValueError) as error:
                if op == "raise":
                    raise
                raise self._fail(f"broke the protocol ({error})") from None
            self._write(*reply)

    def _serve(self, header: dict, blobs: list[bytes]):
        """A callback: call a trusted object (or read a public attribute) for the worker."""
        target = self._resolve({"t": "handle", "side": "trusted", "id": header.get("id")})
        name = header.get("attribute")
        out: list[bytes] = []
        try:
            if name is not None:
                if not isinstance(name, str) or name.startswith("_"):
                    raise AttributeError(f"{name!r}: only public attributes cross")
                value = getattr(target, name)
                if callable(value) and getattr(value, "__self__", None) is not target:
                    raise AttributeError(f"{name!r} is not a method of the object")
            else:
                args = [decode(a, blobs, self._resolve) for a in header.get("args", [])]
                kwargs = {str(k): decode(v, blobs, self._resolve)
                          for k, v in header.get("kwargs", {}).items()}  # fmt: skip
                # NumPy's global generator is shared as in one process: a reference that
                # shuffles here draws what it would have drawn next to the student's code.
                set_random_state(header["random"], blobs)
                value = target(*args, **kwargs)
            reply = {"op": "return", "value": self._encoder.encode(value, out)}
        except (ProtocolError, RecursionError):
            raise
        except Exception as error:  # noqa: BLE001 - the worker's caller sees the error
            reply, out = error_message(error), []
        if name is None:
            reply["random"] = random_state_blob(out)
        return reply, out

    def close(self) -> None:
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sandbox.close()


def _ended(returncode) -> str:
    from medinterp.instructor.sandbox import exit_reason

    if returncode is None:
        return "stopped"
    if returncode == 0:
        return "exited while being graded"
    return exit_reason(returncode)


class RemoteFunction:
    """A student's function in the worker, callable from a trusted grader.

    ``__wrapped__`` is an inert function compiled (never run) from the student's cell, so
    the graders read its source (an untouched template is "not attempted") as in the
    notebook.
    """

    def __init__(self, worker: Worker, name: str, source_function=None):
        self._worker, self.__name__, self._replaced = worker, name, {}
        if source_function is not None:
            self.__wrapped__ = source_function

    @contextmanager
    def replaced_global(self, name: str, replacement):
        """Swap a global the student's function calls, in the worker, for every call made
        inside this block (see :func:`medinterp.grading.feedback.replaced_global`)."""
        self._replaced[name] = replacement
        try:
            yield
        finally:
            self._replaced.pop(name, None)

    def __call__(self, *args, **kwargs):
        return self._worker.call({"function": self.__name__}, args, kwargs, dict(self._replaced))

    def package_calls(self) -> set[str]:
        """The watched package functions the worker's code called (see :func:`open_worker`)."""
        return set(self._worker.used)

    def __repr__(self):
        return f"<function {self.__name__} in the sandbox>"


def open_worker(cells: list[str], timeout: float, limits=None, seconds=None,
                watched=()) -> Worker:  # fmt: skip
    """Start a worker in a new sandbox and run ``cells`` (code) in it.

    ``timeout`` bounds each call (seconds), and each cell unless ``seconds`` gives each
    cell's own limit; a worker that does not answer in time is killed
    (:class:`WorkerGone` from then on). The package functions ``watched`` names report
    their calls (:attr:`Worker.used`). The sandbox's file system has no grading package.
    """
    import medinterp.grading
    from medinterp.instructor import sandbox

    to_worker_read, to_worker = os.pipe()
    from_worker, from_worker_write = os.pipe()
    argv = [sys.executable, "-I", "-m", "medinterp.instructor.worker",
            str(to_worker_read), str(from_worker_write)]  # fmt: skip
    box = sandbox.start(
        argv, limits=limits, pass_fds=(to_worker_read, from_worker_write),
        hidden=[str(Path(medinterp.grading.__file__).resolve().parent)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(to_worker_read)
    os.close(from_worker_write)
    worker = Worker(box, to_worker, from_worker, timeout)
    try:
        worker.setup(
            cells, list(seconds) if seconds is not None else [timeout] * len(cells), watched
        )
    except WorkerGone:
        pass  # every call says why
    return worker
