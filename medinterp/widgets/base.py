"""What every explorer shares: display as its widget tree, errors shown inside the widget,
and pictures as PNG bytes for ``ipywidgets.Image``."""

from __future__ import annotations

import html
import io
import traceback

import cv2
import ipywidgets as w
import numpy as np

__all__ = [
    "Explorer",
    "png",
    "figure_png",
    "error_html",
    "image_picker",
    "opacity_slider",
    "gray_rgb",
    "tile",
]


def png(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, whatever matplotlib backend the kernel uses."""
    buffer = io.BytesIO()
    # No bbox_inches="tight": it draws the figure twice, the slowest part of an update.
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def error_html(error: Exception) -> str:
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return f"<div style='color:#b00020'><b>Something went wrong:</b> {html.escape(last)}</div>"


class Explorer:
    """Shared plumbing: display as the widget, and show callback errors in the widget."""

    widget: w.Widget

    def __init__(self):
        self.state: dict = {"error": None}
        self.message = w.HTML()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _guarded(self, callback):
        def run(*_):
            try:
                self.state["error"] = None
                self.message.value = ""
                callback()
            except Exception as error:  # noqa: BLE001 - shown to the user, not swallowed
                self.state["error"] = error
                self.message.value = error_html(error)

        return run


# --- controls and tiles every X-ray explorer shows alike -------------------------------------


def image_picker(dataset) -> w.Dropdown:
    """A dropdown of the dataset's images, each named with its findings ("normal" if none)."""
    options = [
        (f"{name}: {', '.join(dataset.labels(i)) or 'normal'}", i)
        for i, name in enumerate(dataset.df["Image"])
    ]
    return w.Dropdown(options=options, value=0, description="Image")


def opacity_slider() -> w.FloatSlider:
    """The heat map's opacity, updated on release (each update redraws)."""
    return w.FloatSlider(
        value=0.5, min=0.0, max=1.0, step=0.05, description="Opacity", continuous_update=False
    )


def gray_rgb(image) -> np.ndarray:
    """A grayscale image as three equal channels (an RGB image unchanged)."""
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def tile(rgb, caption: str) -> w.VBox:
    """A picture with a bold caption under it."""
    picture = w.Image(value=png(rgb), format="png", layout=w.Layout(width="200px"))
    picture.add_class("medinterp-tile")
    return w.VBox([picture, w.HTML(f"<b>{html.escape(caption)}</b>")])
