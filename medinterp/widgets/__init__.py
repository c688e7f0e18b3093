"""Interactive explorers for the notebooks (ipywidgets 8, JupyterLab 4 and Binder).

- :class:`XrayExplorer`: pick a chest image, labels, a layer and a model, toggle a chest
  drain; see live GradCAM overlays (:mod:`medinterp.widgets.xray`).
- :class:`SaliencyExplorer`: pick an image, a label and a saliency method; see its map and
  pixel AUPRC against the mask (:mod:`medinterp.widgets.saliency`).
- :class:`ShapExplorer`: pick a feature, an interaction and a person; see SHAP plots.
- :class:`ImportanceExplorer`: choose a metric and a sample count; run permutation importance
  (both in :mod:`medinterp.widgets.tabular`).

Each explorer is displayed like a widget (its ``widget`` attribute is the ipywidgets tree)
and keeps what it shows in ``state``, so tests and curious students can inspect it. The
explorers only wire controls: the numbers come from :mod:`medinterp.gradcam`,
:mod:`medinterp.localization`, :mod:`medinterp.shapley` and :mod:`medinterp.importance`, the
figures from :mod:`medinterp.display`. An error inside a callback is shown in the explorer
instead of disappearing into the log (:mod:`medinterp.widgets.base`).
"""

from medinterp.widgets.saliency import SaliencyExplorer
from medinterp.widgets.tabular import ImportanceExplorer, ShapExplorer
from medinterp.widgets.xray import XrayExplorer

__all__ = ["XrayExplorer", "SaliencyExplorer", "ShapExplorer", "ImportanceExplorer"]
