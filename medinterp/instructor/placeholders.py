"""Students' copies with the course's per-line ``None`` placeholders, inside nbgrader.

nbgrader's own ``ClearSolutions`` replaces a ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
region with one stub (``raise NotImplementedError()``). The course instead leaves the shape
of the answer: every assignment becomes ``<target> = None``, compound statements (``for``,
``with``, ``if`` ...) keep their header lines so the student sees the structure, comments
stay, and bare calls disappear. :class:`PlaceholderSolutions` does that with :mod:`ast`, so
a statement spread over several lines becomes one placeholder line, never an orphan
continuation. ``nbgrader_config.py`` puts it in ``GenerateAssignment.preprocessors`` in
place of ``ClearSolutions``, with :class:`ClearWidgetState`.
"""

from __future__ import annotations

import ast
import textwrap

from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from traitlets import Unicode

__all__ = [
    "placeholder_code",
    "PlaceholderSolutions",
    "ClearWidgetState",
    "BEGIN_SOLUTION",
    "END_SOLUTION",
]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def placeholder_code(solution: str) -> str:
    """The placeholder version of one solution region's code (markers excluded).

    Parameters
    ----------
    solution : str
        The lines between the markers, with their indentation in the cell.

    Returns
    -------
    str
        Comments and blank lines as they were; an assignment as ``<target> = None`` (an
        augmented assignment ``<target> += None``, a ``return`` as ``return None``); a
        compound statement's header lines followed by its placeholder body; ``pass``,
        ``break`` and ``continue`` as they were; any other statement (a bare call, an
        import) removed. Each line keeps its indentation.

    Raises
    ------
    ValueError
        If the region is not complete Python statements.
    """
    lines = solution.split("\n")
    body = textwrap.dedent(solution)
    try:
        tree = ast.parse(body)
    except SyntaxError as error:
        raise ValueError(
            f"A solution region must hold whole Python statements; line {error.lineno} "
            f"does not parse ({error.msg}):\n{solution}"
        ) from None
    body_lines = body.split("\n")
    kept: dict[int, str] = {}  # 0-based line number -> text to keep at that line
    covered: set[int] = set()  # lines inside a statement (not comments between statements)

    def indent(number: int) -> str:
        line = lines[number]
        return line[: len(line) - len(line.lstrip())]

    def segment(node: ast.AST) -> str:
        return ast.get_source_segment(body, node)

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            first, last = node.lineno - 1, node.end_lineno - 1
            covered.update(range(first, last + 1))
            blocks = _blocks(node)
            if blocks:
                # Keep every line of the statement that is not inside one of its blocks:
                # the header(s), including `else:`/`except ...:` lines; then the blocks.
                inner = {n for block in blocks for s in block for n in _span(s)}
                for number in range(first, last + 1):
                    if number not in inner and body_lines[number].strip():
                        kept[number] = lines[number]
                for block in blocks:
                    before = len(kept)
                    visit(block)
                    if len(kept) == before:  # every statement was removed: keep it valid
                        kept[block[0].lineno - 1] = f"{indent(block[0].lineno - 1)}pass"
            elif isinstance(node, ast.Assign):
                targets = " = ".join(segment(target) for target in node.targets)
                kept[first] = f"{indent(first)}{targets} = None"
            elif isinstance(node, ast.AnnAssign):
                kept[first] = (
                    f"{indent(first)}{segment(node.target)}: {segment(node.annotation)} = None"
                )
            elif isinstance(node, ast.AugAssign):
                operator = _AUGMENTED[type(node.op)]
                kept[first] = f"{indent(first)}{segment(node.target)} {operator}= None"
            elif isinstance(node, ast.Return):
                kept[first] = f"{indent(first)}return None"
            elif isinstance(node, ast.Pass | ast.Break | ast.Continue):
                kept[first] = lines[first]

    visit(tree.body)
    out = []
    for number, line in enumerate(lines):
        if number in kept:
            out.append(kept[number])
        elif number not in covered:  # a comment or blank line between statements
            out.append(line)
    return "\n".join(out)


_AUGMENTED = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
    ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
}  # fmt: skip


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement (none for a simple one)."""
    blocks = []
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            blocks.append(block)
    for handler in getattr(node, "handlers", []):
        blocks.append(handler.body)
    for case in getattr(node, "cases", []):
        blocks.append(case.body)
    return blocks


def _span(node: ast.stmt) -> range:
    return range(node.lineno - 1, node.end_lineno)


def _replace_regions(source: str) -> tuple[str, bool]:
    """``source`` with every solution region replaced by its placeholders."""
    out, region, inside, replaced = [], [], False, False
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside:
                raise ValueError(f"Nested {BEGIN_SOLUTION} in cell:\n{source}")
            inside, replaced, region = True, True, []
        elif marker == END_SOLUTION:
            if not inside:
                raise ValueError(f"{END_SOLUTION} without {BEGIN_SOLUTION} in cell:\n{source}")
            inside = False
            if any(part.strip() for part in region):
                out.append(placeholder_code("\n".join(region)))
        elif inside:
            region.append(line)
        else:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN_SOLUTION} without {END_SOLUTION} in cell:\n{source}")
    return "\n".join(out), replaced


class PlaceholderSolutions(NbGraderPreprocessor):
    """nbgrader preprocessor: solution regions become the course's ``None`` placeholders.

    Same contract as nbgrader's ``ClearSolutions``: a region outside a solution cell is an
    error, and a solution cell without a region is replaced whole (by ``text_stub`` for
    Markdown, by a ``None`` comment line for code).
    """

    text_stub = Unicode(
        ClearSolutions.text_stub.default_value, help="What replaces a Markdown solution cell."
    ).tag(config=True)
    code_stub = Unicode(
        "# YOUR CODE HERE (replace this line)", help="What replaces a code solution cell."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        nb.metadata.pop("celltoolbar", None)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            cell.source, replaced = _replace_regions(cell.source)
        else:
            replaced = BEGIN_SOLUTION in cell.source
            if replaced:
                raise ValueError(
                    f"Markdown cell {cell_index} holds {BEGIN_SOLUTION}: mark the whole cell "
                    "as a solution cell instead."
                )
        if replaced and not utils.is_solution(cell):
            raise ValueError(
                f"Cell {cell_index} holds a solution region but is not an nbgrader solution "
                f"cell:\n{cell.source}"
            )
        if utils.is_solution(cell) and not replaced:
            cell.source = self.code_stub if cell.cell_type == "code" else self.text_stub
        return cell, resources


class ClearWidgetState(NbGraderPreprocessor):
    """nbgrader preprocessor: drop the notebook's saved widget state and cells' run times.

    Saved widget state can weigh far more than the cells (818 KB seen); a student's kernel
    rebuilds the widgets anyway. ``execution`` is the time stamps of the last run.
    """

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        return nb, resources
