"""Notebook transformations the attacks and the honest students are built from.

Everything starts from the released student notebooks in notebooks/NN_*.ipynb, read as plain
JSON (a corrupt or oddly marked notebook must be writable too, so no nbformat validation).
"""

import copy
import json
from pathlib import Path

RELEASED = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = {
    "01": "01_hooks_and_gradients",
    "02": "02_gradcam",
    "04": "04_shortcut_learning",
    "05": "05_permutation_importance",
    "06": "06_shap",
}


def released(number):
    """The released student notebook `number` ("01", "05", ...) as a JSON dict."""
    return json.loads((RELEASED / f"{NOTEBOOKS[number]}.ipynb").read_text())


def _lines(text):
    return text.splitlines(keepends=True)


def cell_index(notebook, grade_id):
    for index, cell in enumerate(notebook["cells"]):
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def cell(notebook, grade_id):
    return notebook["cells"][cell_index(notebook, grade_id)]


def set_source(notebook, grade_id, source):
    cell(notebook, grade_id)["source"] = _lines(source)


def append_source(notebook, grade_id, code):
    """Add `code` at the end of a cell (the answer stays as it was: untouched)."""
    target = cell(notebook, grade_id)
    target["source"] = _lines("".join(target["source"]).rstrip("\n") + "\n\n" + code)


def code_cell(source, cell_id, metadata=None):
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata or {},
        "outputs": [],
        "source": _lines(source),
    }


def insert_after(notebook, grade_id, new_cell):
    notebook["cells"].insert(cell_index(notebook, grade_id) + 1, new_cell)


def insert_before(notebook, grade_id, new_cell):
    notebook["cells"].insert(cell_index(notebook, grade_id), new_cell)


def lean(notebook):
    """Drop the free code cells (no nbgrader metadata), which a student may delete.

    They only show results (and skip themselves until the exercises pass), but they cost
    seconds each; the locked setup, answer and test cells all stay.
    """
    notebook["cells"] = [
        c for c in notebook["cells"] if c["cell_type"] != "code" or "nbgrader" in c["metadata"]
    ]
    return notebook


def duplicate(notebook):
    return copy.deepcopy(notebook)


def dumps(notebook):
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
