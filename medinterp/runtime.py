"""A quiet start for TensorFlow in a notebook.

TensorFlow's native code writes to the process's stderr when it loads and when it first looks
for a GPU: "oneDNN custom operations are on", "Could not find cuda drivers", and on a machine
without a GPU a harmless ``failed call to cuInit: ... UNKNOWN ERROR (303)``. In a notebook
they look like failures, and they change from one machine to the next. ``TF_CPP_MIN_LOG_LEVEL``
hides only some of them (the first lines are written before TensorFlow reads it), so the
start-up itself runs with stderr pointed at the null device; Python's own warnings and every
error raised still reach the student.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

__all__ = ["quiet_tensorflow"]


@contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 (where C++ code writes) at the null device for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Load TensorFlow and its devices without their start-up log.

    Call it before anything imports TensorFlow (``import keras`` does): once TensorFlow is
    loaded its start-up messages have been written. Calling it again does nothing more.
    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` (TensorFlow's C++ errors are start-up noise here) and
    TensorFlow's Python logger to errors only.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    with _native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # the device search, where cuInit complains
    tf.get_logger().setLevel("ERROR")
