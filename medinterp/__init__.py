"""medinterp: teaching how to interpret medical machine-learning models.

Part 1 explains a 14-label chest X-ray CNN with GradCAM; Part 2 explains a NHANES I
mortality forest with permutation importance and SHAP.
"""

__version__ = "0.1.0"

from medinterp.labels import LABELS
from medinterp.runtime import quiet_tensorflow


def __getattr__(name):
    # TensorFlow takes seconds to import: load it only when the X-ray model is asked for.
    if name == "load_xray_model":
        from medinterp.xray import load_xray_model

        return load_xray_model
    raise AttributeError(f"module 'medinterp' has no attribute {name!r}")


__all__ = ["LABELS", "load_xray_model", "quiet_tensorflow", "__version__"]
