"""What every explorer shares: display as its widget tree, errors shown inside the widget,
and pictures as PNG bytes for ``ipywidgets.Image``."""

from __future__ import annotations

import html
import io
import traceback

import cv2
import ipywidgets as w
import numpy as np

__all__ = ["Explorer", "png", "figure_png", "error_html"]


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
