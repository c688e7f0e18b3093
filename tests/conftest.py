import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")


def _require_dir(path: Path | None, what: str) -> Path:
    if path is not None and path.is_dir():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{what} not found at {path}; CI must provide it")
    pytest.skip(f"{what} not available ({path})")


@pytest.fixture(scope="session")
def nhanes_dir() -> Path:
    value = os.environ.get("MEDINTERP_DATA_DIR")
    return _require_dir(Path(value) if value else None, "NHANES data (MEDINTERP_DATA_DIR)")


@pytest.fixture(scope="session")
def cxr_samples_dir() -> Path:
    value = os.environ.get("MEDINTERP_CXR_SAMPLES_DIR")
    if value:
        path = Path(value)
    elif os.environ.get("MEDINTERP_DATA_DIR"):
        path = Path(os.environ["MEDINTERP_DATA_DIR"]).parent / "cxr_samples"
    else:
        path = None
    return _require_dir(path, "NIH ChestX-ray14 samples (MEDINTERP_CXR_SAMPLES_DIR)")


@pytest.fixture(scope="session")
def nhanes_split(nhanes_dir):
    from medinterp.data import load_nhanes

    return load_nhanes()


@pytest.fixture(scope="session")
def nhanes_model(nhanes_split):
    from medinterp.models import nhanes_forest

    X_dev, _, y_dev, _ = nhanes_split
    return nhanes_forest(X_dev, y_dev)


@pytest.fixture(scope="session")
def nhanes_shap(nhanes_split, nhanes_model):
    """200 NHANES test rows and their class-1 SHAP values."""
    from medinterp.shapley import tree_shap_values

    X_test = nhanes_split[1].iloc[:200]
    return X_test, tree_shap_values(nhanes_model, X_test)


QUADRANT_SIZE = 16  # the quadrant model's input height and width


@pytest.fixture(scope="session")
def quadrant_model():
    """A linear model whose only class score is the sum of the top-left quadrant's pixels
    (times 3 channels' weights of 1): every method's right answer is known exactly."""
    import keras

    inputs = keras.Input((QUADRANT_SIZE, QUADRANT_SIZE, 3))
    x = keras.layers.Conv2D(3, 1, use_bias=False, name="conv")(inputs)
    x = keras.layers.Cropping2D(((0, QUADRANT_SIZE // 2), (0, QUADRANT_SIZE // 2)), name="crop")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(2, activation="sigmoid", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv").set_weights([np.eye(3, dtype="float32")[None, None]])
    kernel = np.zeros((QUADRANT_SIZE**2 // 4 * 3, 2), np.float32)
    kernel[:, 0] = 1.0 / 64  # class 0: the quadrant's mean over its 64 pixels
    kernel[:, 1] = -1.0 / 64  # class 1: minus that
    model.get_layer("predictions").set_weights([kernel, np.zeros(2, np.float32)])
    return model
