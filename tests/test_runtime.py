"""quiet_tensorflow: TensorFlow starts without its C++ log, and nothing else is hidden."""

import os
import subprocess
import sys

import pytest

SCRIPT = """
from medinterp import quiet_tensorflow

quiet_tensorflow()
import sys

import keras
import numpy as np

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model(np.zeros((1, 4), "float32"))
print("a student's error", file=sys.stderr)
raise SystemExit(3)
"""


@pytest.mark.slow
def test_tensorflow_starts_quietly_and_stderr_still_works():
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 3
    assert run.stderr.strip() == "a student's error", run.stderr
