"""start_tensorflow: TensorFlow starts without writing its C++ start-up log to stderr."""

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_start_tensorflow_writes_nothing_to_stderr():
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    script = (
        "import sys\n"
        "from medinterp.tensorflow_runtime import start_tensorflow\n"
        "tf = start_tensorflow()\n"
        "print(tf.constant(2.0).numpy() * 2)\n"
        "print('python still writes here', file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "4.0"
    assert run.stderr.strip() == "python still writes here", run.stderr
