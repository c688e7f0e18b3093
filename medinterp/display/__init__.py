"""The display layer: figures and images made from numbers computed elsewhere.

- :mod:`medinterp.display.gradcam`: overlays, mask outlines, the course's GradCAM figure.
- :mod:`medinterp.display.shapley`: SHAP force, summary and dependence plots.
- :mod:`medinterp.display.importance`: the permutation-importance bar chart.

Nothing here computes a map, a SHAP value or an importance; only these modules and the
widgets import matplotlib.
"""
