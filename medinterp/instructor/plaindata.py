"""Plain data between the trusted grader and a sandboxed worker: nothing that carries code.

A message is a length-framed JSON header and a list of binary parts, each an ``.npy`` file
written and read with ``allow_pickle=False``. :class:`Encoder` turns values into that:
arrays, NumPy scalars, DataFrames, Series, Index, numbers, text, paths, lists, tuples and
dicts; anything else goes to the side's ``handle`` function (a handle the other side can
only call, or a model named in :data:`MODELS`). :func:`decode` reads it back and refuses
anything else (:class:`ProtocolError`). NumPy's legacy random state and exceptions (by
built-in type name) cross the same way.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import select
import struct
import time
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

__all__ = [
    "MODELS", "TRUSTED_ONLY", "Encoder", "Opaque", "ProtocolError", "StudentError", "array_blob", "decode",
    "error_message", "load_array", "random_state_blob", "rebuild_error", "receive", "send",
    "set_random_state",
]  # fmt: skip

# Modules whose functions never cross by name: the worker cannot import them (the grading
# package is not in its file system) and must not run them next to a student's code.
TRUSTED_ONLY = ("medinterp.grading", "medinterp.instructor")
_HEADER = struct.Struct("!II")  # JSON length, number of binary parts
MAX_MESSAGE = 256 * 1024 * 1024  # bytes one message may carry
_MAX_DEPTH = 32
_MAX_ITEMS = 100_000


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


def send(fd: int, header: dict, blobs: list[bytes]) -> None:
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


def receive(fd: int, deadline: float | None = None) -> tuple[dict, list[bytes]]:
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


def array_blob(array: np.ndarray, blobs: list[bytes]) -> int:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    blobs.append(buffer.getvalue())
    return len(blobs) - 1


def load_array(blobs: list[bytes], index) -> np.ndarray:
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
            return {"t": "scalar", "i": array_blob(np.asarray(value), blobs)}
        if isinstance(value, float):
            return {"t": "float", "v": repr(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biufcmMUS":
                return {"t": "array", "i": array_blob(value, blobs)}
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
        return load_array(blobs, data.get("i"))[()]
    if kind == "array":
        return load_array(blobs, data.get("i"))
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


def random_state_blob(blobs: list[bytes]) -> dict:
    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {"kind": kind, "keys": array_blob(keys, blobs), "position": int(position),
            "has_gauss": int(has_gauss), "cached": float(cached)}  # fmt: skip


def set_random_state(state: dict, blobs: list[bytes]) -> None:
    keys = load_array(blobs, state["keys"])
    np.random.set_state(  # noqa: NPY002 - the graders seed the legacy generator
        (str(state["kind"]), keys, int(state["position"]), int(state["has_gauss"]),
         float(state["cached"]))
    )  # fmt: skip


def error_message(error: BaseException) -> dict:
    text = str(error)
    return {"op": "raise", "type": type(error).__name__[:80], "message": text[:2000]}


def rebuild_error(header: dict) -> Exception:
    name, message = str(header.get("type", "Exception")), str(header.get("message", ""))
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            return builtin(message)
        except Exception:  # noqa: BLE001 - an exception type with other arguments
            pass
    return type(name if name.isidentifier() else "StudentError", (StudentError,), {})(message)


# Keras models the graders pass: built again by name in the worker.
MODELS = {
    "shipped": ("medinterp.exercise_models", "shipped_model"),
    "nonsquare": ("medinterp.exercise_models", "nonsquare_model"),
}
