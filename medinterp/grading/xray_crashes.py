"""The mistakes behind crashes of the X-ray exercises, named from the error and the source.

A student's GradCAM code crashes in a library (TensorFlow, NumPy, the package's checks) far
from the line that holds the mistake. These functions read the error's message, and for a
gradient of None the student's source, and return the hint that names the mistake, or ''
when it is not one they know.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

__all__ = [
    "compute_gradcam_crash_hint",
    "grad_cam_crash_hint",
    "shapes_in",
    "tape_crash_hint",
    "tape_mistake",
]

_SHAPE = re.compile(r"[(\[]\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*[)\]]")


def shapes_in(text: str) -> set[tuple[int, ...]]:
    """Array shapes quoted in an error message: ``(16,16,176)``, ``[16, 176]``."""
    return {tuple(int(n) for n in found.split(",")) for found in _SHAPE.findall(text)}


_UNRECORDED = (
    "tape.gradient gives None when the tape did not record how the score came from the "
    "activations: call the hook and compute the score inside the with block"
)


def _assigned_names(statements) -> set[str]:
    names = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def tape_mistake(fn) -> str:
    """What the tape missed, read from ``fn``'s source, when ``tape.gradient`` gave None:
    the hook called before the ``with`` block, or the score computed after it."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return _UNRECORDED
    tapes = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.With)
        and any("GradientTape" in ast.unparse(item.context_expr) for item in node.items)
    ]  # fmt: skip
    gradients = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "gradient" and len(node.args) >= 2
    ]  # fmt: skip
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and node.value]
    if not returns:
        return "your function returns None: end it with return and the gradient"
    if not tapes or len(gradients) != 1:
        return _UNRECORDED
    inside = _assigned_names(statement for tape in tapes for statement in tape.body)
    everywhere = (
        _assigned_names(tree.body[0].body) if isinstance(tree.body[0], ast.FunctionDef) else set()
    )
    target, source = gradients[0].args[:2]
    if isinstance(source, ast.Name) and source.id not in inside:
        if source.id not in everywhere:
            return (
                f"{source.id} was not computed in your function: take the gradient with "
                "respect to the activations the hook returns inside the with block"
            )
        return (
            f"{source.id} was computed before the with block, so the tape never saw it: "
            "call the hook inside the with block"
        )
    if not (isinstance(target, ast.Name) and target.id in inside):
        return (
            "the hook was called inside the tape but the score was taken after it: compute "
            "score = predictions[:, category_index] inside the with block too (indexing is an "
            "operation the tape must record)"
        )
    return _UNRECORDED


def tape_crash_hint(fn, error: BaseException) -> str:
    """The mistake behind a crash of a function that takes a gradient, when it is a known
    one: NumPy arrays given to the tape, or a gradient of None used as an array."""
    text = str(error)
    if isinstance(error, AttributeError) and "'numpy.ndarray'" in text and "_id" in text:
        return (
            "the tape got NumPy arrays, which it cannot differentiate: hook.predict(...) and "
            ".numpy() leave TensorFlow. Call the hook itself, hook(image), inside the with block"
        )
    if "'NoneType'" in text:
        return tape_mistake(fn)
    return ""


def grad_cam_crash_hint(fn, error: BaseException, grid: tuple[int, int, int]) -> str:
    """The mistake behind a crash of ``grad_cam``, when it is a known one; ``grid`` is the
    layer's ``(h, w, channels)``."""
    hint = tape_crash_hint(fn, error)
    text = str(error)
    if hint or not ("broadcast" in text or "Incompatible shapes" in text):
        return hint
    height, _, channels = grid
    shapes = shapes_in(text)
    if (height,) in shapes or (1, height) in shapes:
        return (
            f"your weights have one value per row of the grid ({height},): axis=(1, 2) of the "
            "(h, w, channels) gradient averages width and channels. Average over the positions, "
            "axis=(0, 1), for one weight per channel"
        )
    return (
        f"the weights must be one per channel, shape ({channels},): np.mean(gradients, "
        "axis=(0, 1)) on the (h, w, channels) gradient, after dropping the batch axis"
    )


def compute_gradcam_crash_hint(error: BaseException, image_name: str, size: int) -> str:
    """The mistake behind a crash of ``compute_gradcam``, when it is a known one."""
    text = str(error)
    if isinstance(error, TypeError) and "Path" in text and "+" in text:
        return (
            "data_dir is a pathlib.Path, and + joins only strings: use "
            "os.path.join(data_dir, img) or data_dir / img"
        )
    if isinstance(error, FileNotFoundError) and f"{image_name}'" in text:
        if f"'{image_name}'" not in text:
            return (
                "the path lost its separator (the folder's name is glued to the file's): use "
                "os.path.join(data_dir, img) or Path(data_dir) / img"
            )
    shapes = shapes_in(text)
    if any(len(shape) == 4 and shape[1:3] != (size, size) for shape in shapes):
        return (
            f"the image must have the model's size, {size}x{size}: pass H=size, W=size to "
            "load_image_normalize (its default, 320x320, is the course's DenseNet's)"
        )
    return ""
