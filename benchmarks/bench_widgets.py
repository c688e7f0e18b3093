"""Explorer update latency: what a student waits for after a click."""

from __future__ import annotations

import itertools

from benchmarks.common import Row, median_time


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    from medinterp.widgets import ShapExplorer, XrayExplorer

    repeats = 1 if smoke else repeats
    xray = XrayExplorer()
    images = itertools.cycle(range(1, len(xray.dataset)))

    def new_image():
        xray.image_picker.value = next(images)  # a cache miss: 14 maps for a new image

    xray_time = median_time(new_image, repeats=repeats, warmup=1)
    shap_explorer = ShapExplorer()
    features = itertools.cycle(["Systolic BP", "BMI", "Age", "Serum Albumin", "Poverty index"])

    def new_feature():
        shap_explorer.feature.value = next(features)

    shap_time = median_time(new_feature, repeats=repeats, warmup=1)
    return [
        Row("XrayExplorer update: new image, 3 labels", xray_time, None, "< 0.3 s",
            xray_time < 0.3),
        Row("ShapExplorer update: new feature (dependence plot)", shap_time, None, "< 0.3 s",
            shap_time < 0.3),
    ]  # fmt: skip
