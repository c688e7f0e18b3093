"""The student's functions, called from the trusted grader, run in a sandbox.

The trusted process (:func:`open_worker`) starts a worker in a sandbox
(:mod:`medinterp.instructor.sandbox`) that runs the student's answer cells with the
released notebook's locked cells, then waits. A :class:`RemoteFunction` stands for one of
the student's functions: calling it sends the arguments to the worker, which calls the
student's function and sends back what it returned. Only plain data crosses: JSON for the
structure, ``.npy`` for arrays (``allow_pickle=False``), nothing that can carry code.

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
- NumPy's legacy global random state travels with every call and comes back, so a seeded
  grader draws the same permutations as it does in the notebook.

A worker that dies, exits or runs past the time limit raises :class:`WorkerGone` (an
``Exception``: the grader reports a crash); the next exercise gets a fresh worker.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import select
import struct
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

__all__ = ["RemoteFunction", "Worker", "WorkerGone", "StudentError", "open_worker"]

_HEADER = struct.Struct("!II")  # JSON length, number of binary parts
MAX_MESSAGE = 256 * 1024 * 1024  # bytes one message may carry
_MAX_DEPTH = 32
_MAX_ITEMS = 100_000


class WorkerGone(Exception):  # noqa: N818 - reads as what happened
    """The worker died, exited, broke the protocol or ran past its time limit."""


class StudentError(Exception):
    """An exception the student's code raised in the worker, of a type not built in."""


class ProtocolError(Exception):
    """A message that is not plain data of the expected form."""


class Opaque:
    """Something the student's code returned that is not data (shown by type and text)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text


# --- framing ---------------------------------------------------------------------------


def _send(fd: int, header: dict, blobs: list[bytes]) -> None:
    text = json.dumps(header, allow_nan=False).encode()
    data = b"".join(
        [_HEADER.pack(len(text), len(blobs)), text]
        + [struct.pack("!Q", len(blob)) + blob for blob in blobs]
    )
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    parts, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _receive(fd: int, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    length, count = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if length > MAX_MESSAGE or count > _MAX_ITEMS:
        raise ProtocolError("message too large")
    header = json.loads(_read_exactly(fd, length, deadline))
    blobs, total = [], length
    for _ in range(count):
        (size,) = struct.unpack("!Q", _read_exactly(fd, 8, deadline))
        total += size
        if total > MAX_MESSAGE:
            raise ProtocolError("message too large")
        blobs.append(_read_exactly(fd, size, deadline))
    if not isinstance(header, dict):
        raise ProtocolError("a message is a JSON object")
    return header, blobs


# --- plain data ------------------------------------------------------------------------


def _array_blob(array: np.ndarray, blobs: list[bytes]) -> int:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    blobs.append(buffer.getvalue())
    return len(blobs) - 1


def _load_array(blobs: list[bytes], index) -> np.ndarray:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise ProtocolError("bad array reference")
    try:
        return np.load(io.BytesIO(blobs[index]), allow_pickle=False)
    except ValueError as error:
        raise ProtocolError(f"bad array: {error}") from None


class Encoder:
    """Turns values into plain data; ``handle`` decides what stays behind as a handle."""

    def __init__(self, handle):
        self.handle = handle

    def encode(self, value, blobs: list[bytes], depth: int = 0):
        if depth > _MAX_DEPTH:
            return {"t": "opaque", "type": type(value).__name__, "text": "(nested too deep)"}
        if value is None or isinstance(value, (bool, str)):
            return {"t": "json", "v": value}
        if isinstance(value, int) and not isinstance(value, bool):
            return (
                {"t": "int", "v": str(value)} if abs(value) > 2**53 else {"t": "json", "v": value}
            )
        if isinstance(value, np.generic) and value.dtype.kind in "biufcmMUS":
            return {"t": "scalar", "i": _array_blob(np.asarray(value), blobs)}
        if isinstance(value, float):
            return {"t": "float", "v": repr(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biufcmMUS":
                return {"t": "array", "i": _array_blob(value, blobs)}
            if value.dtype.kind == "O" and value.size <= _MAX_ITEMS:
                items = [self.encode(v, blobs, depth + 1) for v in value.ravel().tolist()]
                return {"t": "objects", "shape": list(value.shape), "items": items}
        if isinstance(value, pd.DataFrame) and not isinstance(value.columns, pd.MultiIndex):
            columns = [self.encode(value.iloc[:, j].to_numpy(), blobs, depth + 1)
                       for j in range(value.shape[1])]  # fmt: skip
            return {"t": "frame", "columns": self.encode(value.columns, blobs, depth + 1),
                    "index": self.encode(value.index, blobs, depth + 1), "data": columns}  # fmt: skip
        if isinstance(value, pd.Series):
            return {"t": "series", "values": self.encode(value.to_numpy(), blobs, depth + 1),
                    "index": self.encode(value.index, blobs, depth + 1),
                    "name": self.encode(value.name, blobs, depth + 1)}  # fmt: skip
        if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
            return {"t": "index", "values": self.encode(value.to_numpy(), blobs, depth + 1),
                    "name": self.encode(value.name, blobs, depth + 1)}  # fmt: skip
        if isinstance(value, PurePath):
            return {"t": "path", "v": str(value)}
        if isinstance(value, (list, tuple)) and len(value) <= _MAX_ITEMS:
            return {"t": type(value).__name__ if type(value) in (list, tuple) else "list",
                    "items": [self.encode(v, blobs, depth + 1) for v in value]}  # fmt: skip
        if isinstance(value, dict) and len(value) <= _MAX_ITEMS:
            return {"t": "dict", "items": [[self.encode(k, blobs, depth + 1),
                                            self.encode(v, blobs, depth + 1)]
                                           for k, v in value.items()]}  # fmt: skip
        return self.handle(value, blobs)


def decode(data, blobs: list[bytes], resolve, depth: int = 0):
    """The value ``data`` describes; ``resolve(data)`` turns a handle or model into one."""
    if depth > _MAX_DEPTH or not isinstance(data, dict):
        raise ProtocolError("bad value")
    kind = data.get("t")
    if kind == "json":
        value = data.get("v")
        if value is not None and not isinstance(value, (bool, str, int, float)):
            raise ProtocolError("bad json value")
        return value
    if kind == "int":
        return int(str(data["v"]))
    if kind == "float":
        return float(str(data["v"]))
    if kind == "scalar":
        return _load_array(blobs, data.get("i"))[()]
    if kind == "array":
        return _load_array(blobs, data.get("i"))
    if kind == "objects":
        items = [decode(item, blobs, resolve, depth + 1) for item in data["items"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape([int(n) for n in data["shape"]])
    if kind == "frame":
        columns = decode(data["columns"], blobs, resolve, depth + 1)
        index = decode(data["index"], blobs, resolve, depth + 1)
        values = [decode(column, blobs, resolve, depth + 1) for column in data["data"]]
        frame = pd.DataFrame(dict(enumerate(values)), index=index)
        frame.columns = columns
        return frame
    if kind == "series":
        return pd.Series(decode(data["values"], blobs, resolve, depth + 1),
                         index=decode(data["index"], blobs, resolve, depth + 1),
                         name=decode(data["name"], blobs, resolve, depth + 1))  # fmt: skip
    if kind == "index":
        return pd.Index(decode(data["values"], blobs, resolve, depth + 1),
                        name=decode(data["name"], blobs, resolve, depth + 1))  # fmt: skip
    if kind == "path":
        return Path(str(data["v"]))
    if kind in ("list", "tuple"):
        items = [decode(item, blobs, resolve, depth + 1) for item in data["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {decode(k, blobs, resolve, depth + 1): decode(v, blobs, resolve, depth + 1)
                for k, v in data["items"]}  # fmt: skip
    if kind == "opaque":
        named = type(str(data.get("type", "object"))[:60], (Opaque,), {})
        return named(str(data.get("text", ""))[:200])
    return resolve(data)


def _random_state_blob(blobs: list[bytes]) -> dict:
    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {"kind": kind, "keys": _array_blob(keys, blobs), "position": int(position),
            "has_gauss": int(has_gauss), "cached": float(cached)}  # fmt: skip


def _set_random_state(state: dict, blobs: list[bytes]) -> None:
    keys = _load_array(blobs, state["keys"])
    np.random.set_state(  # noqa: NPY002 - the graders seed the legacy generator
        (str(state["kind"]), keys, int(state["position"]), int(state["has_gauss"]),
         float(state["cached"]))
    )  # fmt: skip


def _error_message(error: BaseException) -> dict:
    text = str(error)
    return {"op": "raise", "type": type(error).__name__[:80], "message": text[:2000]}


def _rebuild_error(header: dict) -> Exception:
    name, message = str(header.get("type", "Exception")), str(header.get("message", ""))
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            return builtin(message)
        except Exception:  # noqa: BLE001 - an exception type with other arguments
            pass
    return type(name if name.isidentifier() else "StudentError", (StudentError,), {})(message)


# --- the trusted side ------------------------------------------------------------------

# Keras models the graders pass: built again by name in the worker.
_MODELS = {
    "shipped": ("medinterp.grading.xray_cases", "shipped_model"),
    "nonsquare": ("medinterp.grading.xray_cases", "nonsquare_model"),
}


def _known_model(value) -> str | None:
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(value, keras.Model):
        return None
    from importlib import import_module

    for name, (module, function) in _MODELS.items():
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
        self._encoder = Encoder(self._handle)

    def _handle(self, value, blobs):
        model = _known_model(value)
        if model is not None:
            return {"t": "model", "name": model}
        if isinstance(value, WorkerProxy):
            return {"t": "handle", "side": "worker", "id": value._handle}
        if (
            callable(value)
            and getattr(value, "__module__", "").startswith("medinterp.")
            and (getattr(value, "__qualname__", "") == getattr(value, "__name__", None))
        ):
            # A module-level function of the package (a reference the grader swaps in):
            # the worker imports its own copy, so it runs next to the student's code.
            return {"t": "function", "module": value.__module__, "name": value.__name__}
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
            return _receive(self._in, time.monotonic() + timeout)
        except TimeoutError:
            raise self._fail(f"stopped after {timeout:g} s (the time limit)") from None
        except EOFError:
            self.sandbox.process.wait()
            raise self._fail(_ended(self.sandbox.process.returncode)) from None
        except (ProtocolError, ValueError, KeyError, TypeError) as error:
            raise self._fail(f"broke the protocol ({error})") from None

    def _write(self, header: dict, blobs: list[bytes]) -> None:
        try:
            _send(self._out, header, blobs)
        except OSError:
            self.sandbox.process.wait()
            raise self._fail(_ended(self.sandbox.process.returncode)) from None

    def setup(self, cells: list[str], timeout: float) -> None:
        self._write({"op": "setup", "cells": cells, "timeout": self.timeout}, [])
        header, _ = self._read(timeout)
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
            "random": _random_state_blob(blobs),
        }  # fmt: skip
        self._write(message, blobs)
        while True:
            header, blobs = self._read(self.timeout)
            op = header.get("op")
            try:
                if op == "return":
                    _set_random_state(header["random"], blobs)
                    return decode(header["value"], blobs, self._resolve)
                if op == "raise":
                    if "random" in header:
                        _set_random_state(header["random"], blobs)
                    raise _rebuild_error(header)
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
                value = target(*args, **kwargs)
            return {"op": "return", "value": self._encoder.encode(value, out)}, out
        except (ProtocolError, RecursionError):
            raise
        except Exception as error:  # noqa: BLE001 - the worker's caller sees the error
            return _error_message(error), []

    def close(self) -> None:
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sandbox.close()


def _ended(returncode) -> str:
    from medinterp.instructor.sandbox import _exit_reason

    if returncode is None:
        return "stopped"
    if returncode == 0:
        return "exited while being graded"
    return _exit_reason(returncode)


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

    def __repr__(self):
        return f"<function {self.__name__} in the sandbox>"


def open_worker(cells: list[str], timeout: float, limits=None) -> Worker:
    """Start a worker in a new sandbox and run ``cells`` (code) in it.

    ``timeout`` bounds each cell and each call (seconds); a worker that does not answer in
    time is killed (:class:`WorkerGone` from then on).
    """
    from medinterp.instructor import sandbox

    to_worker_read, to_worker = os.pipe()
    from_worker, from_worker_write = os.pipe()
    argv = [sys.executable, "-I", "-m", "medinterp.instructor.remote",
            str(to_worker_read), str(from_worker_write)]  # fmt: skip
    box = sandbox.start(
        argv, limits=limits, pass_fds=(to_worker_read, from_worker_write),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(to_worker_read)
    os.close(from_worker_write)
    worker = Worker(box, to_worker, from_worker, timeout)
    try:
        worker.setup(cells, timeout * (len(cells) + 2))
    except WorkerGone:
        pass  # every call says why
    return worker


# --- the worker (inside the sandbox) -----------------------------------------------------


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


class _Channel:
    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.namespace: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
        self.objects: list = []
        self.encoder = Encoder(self._handle)

    def _handle(self, value, blobs):
        if isinstance(value, TrustedProxy):
            return {"t": "handle", "side": "trusted", "id": value._handle}
        if hasattr(value, "__array__") or (hasattr(value, "numpy") and hasattr(value, "dtype")):
            try:  # tensors and other array-likes cross as arrays
                array = np.asarray(value)
            except Exception:  # noqa: BLE001 - then it crosses as what it is
                array = None
            if array is not None and array.dtype.kind in "biufcmMUS":
                return {"t": "array", "i": _array_blob(array, blobs)}
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
            module, function = _MODELS[str(data["name"])]
            return getattr(__import__(module, fromlist=[function]), function)()
        if kind == "function":
            module = str(data["module"])
            if not module.startswith("medinterp."):
                raise ProtocolError("only the package's functions")
            return getattr(__import__(module, fromlist=["_"]), str(data["name"]))
        raise ProtocolError(f"unexpected value {kind}")

    def callback(self, handle, attribute, args, kwargs):
        blobs: list[bytes] = []
        header = {"op": "callback", "id": handle, "attribute": attribute,
                  "args": [self.encoder.encode(a, blobs) for a in args],
                  "kwargs": {str(k): self.encoder.encode(v, blobs) for k, v in kwargs.items()}}  # fmt: skip
        _send(self.write_fd, header, blobs)
        reply, blobs = _receive(self.read_fd)
        if reply.get("op") == "raise":
            raise _rebuild_error(reply)
        return decode(reply["value"], blobs, self._resolve)

    def setup(self, cells: list[str], timeout: float) -> dict:
        import signal

        def stop(signum, frame):
            raise TimeoutError(f"the cell ran longer than {timeout:g} s")

        signal.signal(signal.SIGALRM, stop)
        errors = []
        for number, cell in enumerate(cells):
            signal.alarm(max(1, int(timeout)))
            try:
                exec(compile(cell, f"<cell {number}>", "exec"), self.namespace)  # noqa: S102
            except BaseException as error:  # noqa: BLE001 - a cell's error is the student's
                errors.append(f"cell {number}: {type(error).__name__}: {error}")
            finally:
                signal.alarm(0)
        functions = sorted(k for k, v in self.namespace.items() if callable(v))
        return {"op": "ready", "functions": functions[:1000], "errors": errors[:50]}

    def call(self, header: dict, blobs: list[bytes]):
        from medinterp.grading.feedback import replaced_global

        target = header["target"]
        if "function" in target:
            function = self.namespace.get(str(target["function"]))
            if function is None:
                raise NameError(f"name {target['function']!r} is not defined")
        else:
            function = self.objects[int(target["handle"])]
        args = [decode(a, blobs, self._resolve) for a in header["args"]]
        kwargs = {k: decode(v, blobs, self._resolve) for k, v in header["kwargs"].items()}
        _set_random_state(header["random"], blobs)
        replacements = {k: decode(v, blobs, self._resolve) for k, v in header["globals"].items()}
        from contextlib import ExitStack

        with ExitStack() as stack:
            for name, replacement in replacements.items():
                stack.enter_context(replaced_global(function, name, replacement))
            return function(*args, **kwargs)

    def serve(self) -> None:
        while True:
            try:
                header, blobs = _receive(self.read_fd)
            except EOFError:
                return
            if header.get("op") == "setup":
                _send(self.write_fd, self.setup(header["cells"], float(header["timeout"])), [])
                continue
            out: list[bytes] = []
            try:
                value = self.call(header, blobs)
                reply = {"op": "return", "value": self.encoder.encode(value, out)}
            except Exception as error:  # noqa: BLE001 - the student's error, sent back
                reply, out = _error_message(error), []
            reply["random"] = _random_state_blob(out)
            _send(self.write_fd, reply, out)


if __name__ == "__main__":
    _Channel(int(sys.argv[1]), int(sys.argv[2])).serve()
