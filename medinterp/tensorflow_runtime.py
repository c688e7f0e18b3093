"""Start TensorFlow without its start-up log in a notebook.

TensorFlow's C++ runtime writes its start-up to the process's stderr before any Python
setting can quiet it (``TF_CPP_MIN_LOG_LEVEL`` applies only after absl's logging starts):
oneDNN and CUDA notices, CPU features, and on a machine without a GPU a harmless
``failed call to cuInit`` error. A Jupyter kernel shows every such line under the cell, and
nbval would compare them. :func:`start_tensorflow` loads TensorFlow and Keras and looks for
devices once, with the file descriptor 2 pointed at ``os.devnull``; what Python itself
writes to ``sys.stderr`` (warnings, tracebacks) is not affected.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["start_tensorflow"]


@contextmanager
def _native_stderr_discarded() -> Iterator[None]:
    """Point file descriptor 2 at os.devnull, and back afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def start_tensorflow():
    """Import TensorFlow and Keras and initialise their devices, without the start-up log.

    Call it before anything else imports TensorFlow; later calls (and imports) cost nothing.

    Returns
    -------
    module
        ``tensorflow``.
    """
    with _native_stderr_discarded():
        import keras  # noqa: F401 - loads its TensorFlow backend's libraries now
        import tensorflow as tf

        tf.config.list_physical_devices()  # the cuInit attempt happens here
    return tf
