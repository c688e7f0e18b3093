"""The house rules, checked on the code itself (see the README's layout table):

- arrows point one way: no import cycle among medinterp's modules;
- only the display layer and the widgets import matplotlib;
- no module imports another module's private (underscore) name;
- no module is over 400 lines unless its docstring says why;
- every public name the notebooks and the README import exists.
"""

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "medinterp"
DRAWING = ("medinterp.display", "medinterp.widgets")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path):
    """(imported module, imported names) for every import statement, nested ones included."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def _internal_edges(name: str, path: Path) -> set[str]:
    edges = set()
    for module, names in _imports(path):
        if not module.startswith("medinterp"):
            continue
        for imported in names or [None]:
            target = f"{module}.{imported}" if imported else module
            edges.add(target if target in MODULES else module)
    edges.discard(name)
    return {edge for edge in edges if edge in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_cycle():
    # A package's __init__ may re-export from its own modules; any other loop is a cycle.
    graph = {
        name: {t for t in _internal_edges(name, path) if not name.startswith(t + ".")}
        for name, path in MODULES.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_display_layer_and_widgets_import_matplotlib():
    offenders = [
        name
        for name, path in MODULES.items()
        if not name.startswith(DRAWING)
        and any(module.split(".")[0] == "matplotlib" for module, _ in _imports(path))
    ]
    assert offenders == []


def test_no_module_imports_another_modules_private_name():
    offenders = []
    for name, path in MODULES.items():
        for module, names in _imports(path):
            if module.startswith("medinterp") and module != name:
                offenders += [f"{name}: {module}.{n}" for n in names if n.startswith("_")]
        source = path.read_text()
        for match in re.finditer(r"\b(\w+)\._[a-z]\w*\(", source):
            owner = match.group(1)
            if owner in {"self", "cls", "super"} or owner not in source.split("import", 1)[-1]:
                continue
            if f"import {owner}" in source:  # a medinterp module imported by name
                offenders.append(f"{name}: {match.group(0)}")
    assert offenders == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    path = MODULES[name]
    lines = len(path.read_text().splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert lines <= MAX_LINES or "Why this module is long" in docstring, (
        f"{path.relative_to(ROOT)} has {lines} lines: split it by concern, or say at its top "
        "why it is long ('Why this module is long: ...')"
    )


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.split(".")[-1].startswith("_")))
def test_public_modules_declare_what_they_export(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        pytest.skip(f"{name} is a package docstring or a command-line tool") if (
            MODULES[name].name == "__init__.py" or "def main(" in MODULES[name].read_text()
        ) else pytest.fail(f"{name} has no __all__")
    missing = [item for item in exported if not hasattr(module, item)]
    assert missing == []


def _documented_imports():
    """``from medinterp... import names`` in the notebooks and the README's code."""
    sources = []
    for notebook in (ROOT / "notebooks").rglob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        sources += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    sources += re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = set()
    for source in sources:
        code = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("medinterp"):
                found |= {(node.module, alias.name) for alias in node.names}
    return sorted(found)


@pytest.mark.parametrize(("module", "name"), _documented_imports())
def test_every_name_the_notebooks_and_readme_use_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"from {module} import {name}"


def test_documented_imports_were_found():
    names = {name for _, name in _documented_imports()}
    assert {"grad_cam_test", "load_nhanes", "permutation_importance", "cindex"} <= names
