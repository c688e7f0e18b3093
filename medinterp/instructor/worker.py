"""The worker: inside a sandbox, runs the answer cells and calls the student's functions.

``python -I -m medinterp.instructor.worker READ_FD WRITE_FD``, started by
:func:`medinterp.instructor.remote.open_worker`. It runs the cells it is sent (each under a
time limit), then answers calls of the student's functions with plain data
(:mod:`medinterp.instructor.plaindata`); the grader's objects it is given are
:class:`TrustedProxy` stand-ins whose calls go back to the trusted side. The grading
package is not in the worker's file system: the graders and their references run on the
trusted side only.

Before the first cell runs, the package's own answers to the exercises being graded
(``medinterp.importance.permutation_importance`` for notebook 05's exercise) are replaced,
wherever the package binds them, by versions that first tell the trusted side they were
called: an answer that calls one while its exercise is graded scores 0.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import ExitStack

import numpy as np

from medinterp.global_swap import replaced_global, reported_calls
from medinterp.instructor.plaindata import (
    MODELS,
    TRUSTED_ONLY,
    Encoder,
    ProtocolError,
    array_blob,
    decode,
    error_message,
    random_state_blob,
    rebuild_error,
    receive,
    send,
    set_random_state,
)

__all__ = ["Channel", "TrustedProxy"]


class TrustedProxy:
    """Worker-side stand-in for a trusted object: calls and public attributes go back."""

    def __init__(self, channel, handle: int):
        self._channel, self._handle = channel, handle

    def __call__(self, *args, **kwargs):
        return self._channel.callback(self._handle, None, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._channel.callback(self._handle, name, (), {})

    def __repr__(self):
        return "<object of the grader>"


class Channel:
    """The worker's end: the answers' namespace, the objects it handed out, the calls."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.namespace: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
        self.objects: list = []
        self.encoder = Encoder(self._handle)
        self.calls = 0  # calls of the trusted side in progress

    def _handle(self, value, blobs):
        if isinstance(value, TrustedProxy):
            return {"t": "handle", "side": "trusted", "id": value._handle}
        if hasattr(value, "__array__") or (hasattr(value, "numpy") and hasattr(value, "dtype")):
            try:  # tensors and other array-likes cross as arrays
                array = np.asarray(value)
            except Exception:  # noqa: BLE001 - then it crosses as what it is
                array = None
            if array is not None and array.dtype.kind in "biufcmMUS":
                return {"t": "array", "i": array_blob(array, blobs)}
        if callable(value):
            classes = []
            keras = sys.modules.get("keras")
            if keras is not None and isinstance(value, keras.Model):
                classes.append("keras.Model")
            self.objects.append(value)
            return {"t": "handle", "side": "worker", "id": len(self.objects) - 1,
                    "classes": classes}  # fmt: skip
        try:
            text = repr(value)[:200]
        except Exception:  # noqa: BLE001
            text = "?"
        return {"t": "opaque", "type": type(value).__name__, "text": text}

    def _resolve(self, data):
        kind = data.get("t")
        if kind == "handle" and data.get("side") == "trusted":
            return TrustedProxy(self, int(data["id"]))
        if kind == "handle" and data.get("side") == "worker":
            return self.objects[int(data["id"])]
        if kind == "model":
            module, function = MODELS[str(data["name"])]
            return getattr(__import__(module, fromlist=[function]), function)()
        if kind == "function":
            module = str(data["module"])
            if not module.startswith("medinterp.") or module.startswith(TRUSTED_ONLY):
                raise ProtocolError("only the library's functions")
            return getattr(importlib.import_module(module), str(data["name"]))
        raise ProtocolError(f"unexpected value {kind}")

    def callback(self, handle, attribute, args, kwargs):
        blobs: list[bytes] = []
        header = {"op": "callback", "id": handle, "attribute": attribute,
                  "args": [self.encoder.encode(a, blobs) for a in args],
                  "kwargs": {str(k): self.encoder.encode(v, blobs) for k, v in kwargs.items()},
                  "random": random_state_blob(blobs)}  # fmt: skip
        send(self.write_fd, header, blobs)
        reply, blobs = receive(self.read_fd)
        if "random" in reply:  # a reference drew from NumPy's global generator over there
            set_random_state(reply["random"], blobs)
        if reply.get("op") == "raise":
            raise rebuild_error(reply)
        return decode(reply["value"], blobs, self._resolve)

    def _report(self, name: str) -> None:
        if self.calls:  # a package function called by the answer the trusted side graded
            send(self.write_fd, {"op": "used", "name": name}, [])

    def setup(self, cells: list[str], seconds: list[float]) -> dict:
        import signal

        def stop(signum, frame):
            raise TimeoutError("the cell ran past its time limit")

        signal.signal(signal.SIGALRM, stop)
        errors = []
        for number, (cell, limit) in enumerate(zip(cells, seconds, strict=True)):
            signal.alarm(max(1, int(limit)))
            try:
                exec(compile(cell, f"<cell {number}>", "exec"), self.namespace)  # noqa: S102
            except BaseException as error:  # noqa: BLE001 - a cell's error is the student's
                errors.append(f"cell {number}: {type(error).__name__}: {error}")
            finally:
                signal.alarm(0)
        functions = sorted(k for k, v in self.namespace.items() if callable(v))
        return {"op": "ready", "functions": functions[:1000], "errors": errors[:50]}

    def call(self, header: dict, blobs: list[bytes]):
        target = header["target"]
        if "function" in target:
            function = self.namespace.get(str(target["function"]))
            if function is None:
                raise NameError(f"name {target['function']!r} is not defined")
        else:
            function = self.objects[int(target["handle"])]
        args = [decode(a, blobs, self._resolve) for a in header["args"]]
        kwargs = {k: decode(v, blobs, self._resolve) for k, v in header["kwargs"].items()}
        set_random_state(header["random"], blobs)
        replacements = {k: decode(v, blobs, self._resolve) for k, v in header["globals"].items()}
        with ExitStack() as stack:
            for name, replacement in replacements.items():
                stack.enter_context(replaced_global(function, name, replacement))
            self.calls += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.calls -= 1

    def serve(self) -> None:
        while True:
            try:
                header, blobs = receive(self.read_fd)
            except EOFError:
                return
            if header.get("op") == "setup":
                reported_calls(header.get("watched", []), self._report)
                send(
                    self.write_fd,
                    self.setup(header["cells"], [float(n) for n in header["seconds"]]),
                    [],
                )
                continue
            out: list[bytes] = []
            try:
                value = self.call(header, blobs)
                reply = {"op": "return", "value": self.encoder.encode(value, out)}
            except Exception as error:  # noqa: BLE001 - the student's error, sent back
                reply, out = error_message(error), []
            reply["random"] = random_state_blob(out)
            send(self.write_fd, reply, out)


if __name__ == "__main__":
    Channel(int(sys.argv[1]), int(sys.argv[2])).serve()
