"""The attack bank: a class of students who want points they have not earned.

Each `Attack` is one student (`atk_<name>`) who hands in one notebook whose answers are
untouched (or wrong), plus the attack. Any point such a student gets is unearned. Beside them
sit honest students (answers written from the exercise text, tests/attacks/solutions.py) and
an untouched student; they must be graded exactly as in a class without the attackers.

Student ids sort so that the attackers (`atk_*`) are graded after `aa_honest` and before
`honest` and `untouched`: an attack on the class can reach both a classmate graded before it
and one graded after it. The attacks that change how everyone after them is graded
(`tamper_*`) come after `honest` and before `untouched`, so that they cannot mask the other
attacks' outcomes; the ones that rewrite classmates' grades or files spare the attackers for
the same reason.
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import payloads
from .notebooks import (
    NOTEBOOKS,
    append_source,
    cell,
    cell_index,
    code_cell,
    dumps,
    duplicate,
    insert_after,
    insert_before,
    lean,
    released,
    set_source,
)
from .solutions import ANSWERS


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str  # the class of attack, as issue 23 lists them
    notebook: str  # "01", "05", ...
    doc: str
    build: Callable[[dict], "dict | bytes"]
    # "tamper" for attacks on everyone graded after them: their ids sort after the other
    # attackers' (and `honest`), before `untouched`, so they cannot mask another attack.
    prefix: str = "atk"

    @property
    def student(self):
        return f"{self.prefix}_{self.name}"

    @property
    def filename(self):
        return f"{NOTEBOOKS[self.notebook]}.ipynb"

    def content(self):
        """The submitted file's bytes."""
        result = self.build(lean(released(self.notebook)))
        return result if isinstance(result, bytes) else dumps(result).encode()


def in_answer(grade_id, code):
    """The attack's code at the end of an untouched answer cell."""

    def build(notebook):
        append_source(notebook, grade_id, code)
        return notebook

    return build


def as_answer(grade_id, code):
    """The attack's code in place of the answer cell's template."""

    def build(notebook):
        set_source(notebook, grade_id, code)
        return notebook

    return build


def new_cell_after(grade_id, code):
    """The attack's code in a new cell without nbgrader metadata, answers untouched."""

    def build(notebook):
        insert_after(notebook, grade_id, code_cell(code, "attack-cell"))
        return notebook

    return build


def new_cell_before(grade_id, code):
    def build(notebook):
        insert_before(notebook, grade_id, code_cell(code, "attack-cell"))
        return notebook

    return build


def _truncated(notebook):
    text = dumps(notebook).encode()
    return text[: len(text) // 2]


def _pasted_test_cell(notebook):
    copy = duplicate(cell(notebook, "permute_feature"))
    copy["id"] = "pasted-copy"
    notebook["cells"].insert(cell_index(notebook, "permute_feature") + 1, copy)
    return notebook


def _marked(grade_id, **changes):
    def build(notebook):
        cell(notebook, grade_id)["metadata"]["nbgrader"].update(changes)
        return notebook

    return build


def _without_test_cells(notebook):
    notebook["cells"] = [
        c for c in notebook["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")
    ]
    return notebook


def _without_grader_metadata(notebook):
    for c in notebook["cells"]:
        meta = c["metadata"].get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            del c["metadata"]["nbgrader"]
    return notebook


def _unknown_kernel(notebook):
    notebook["metadata"]["kernelspec"] = {
        "name": "attack-bank-kernel",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


PF = "permute_feature_solution"  # 05's first answer cell

ATTACKS = [
    # Replacing the grader, so that the hidden `assert x_test is medinterp.grading.x_test`
    # still holds.
    Attack(
        "grader_attribute",
        "replace the grader",
        "05",
        "medinterp.grading's *_test functions replaced by ones that return True",
        in_answer(PF, payloads.GRADER_ATTRIBUTE),
    ),
    Attack(
        "grader_sys_modules",
        "replace the grader",
        "05",
        "a fake medinterp.grading module in sys.modules and on the package",
        in_answer(PF, payloads.GRADER_SYS_MODULES),
    ),
    Attack(
        "grader_import_hook",
        "replace the grader",
        "05",
        "builtins.__import__ hands later imports of medinterp a passing stand-in",
        in_answer(PF, payloads.GRADER_IMPORT_HOOK),
    ),
    Attack(
        "grader_meta_path",
        "replace the grader",
        "05",
        "an importlib finder re-imports medinterp.grading with passing graders",
        in_answer(PF, payloads.GRADER_META_PATH),
    ),
    Attack(
        "grader_code_swap",
        "replace the grader",
        "05",
        "each grader keeps its identity but its __code__ becomes `return True`",
        in_answer(PF, payloads.GRADER_CODE_SWAP),
    ),
    # Patching what the grader relies on.
    Attack(
        "numpy_allclose",
        "patch a library",
        "05",
        "numpy's allclose/isclose/array_equal and numpy.testing asserts always agree",
        in_answer(PF, payloads.NUMPY_ALLCLOSE),
    ),
    Attack(
        "pandas_equals",
        "patch a library",
        "05",
        "DataFrame.equals, Series.equals and pandas.testing asserts always agree",
        in_answer(PF, payloads.PANDAS_EQUALS),
    ),
    Attack(
        "numpy_reductions",
        "patch a library",
        "05",
        "np.abs and np.max return 0, so every measured error is 0",
        in_answer(PF, payloads.NUMPY_REDUCTIONS),
    ),
    Attack(
        "builtins",
        "patch a library",
        "05",
        "builtins.abs returns 0 and builtins.all returns True",
        in_answer(PF, payloads.BUILTINS),
    ),
    Attack(
        "feedback_framework",
        "patch the feedback framework",
        "05",
        "every function or method of medinterp.grading named like check/fail/compare returns None",
        in_answer(PF, payloads.FEEDBACK_FRAMEWORK),
    ),
    # IPython hooks registered in an answer cell.
    Attack(
        "input_transformer",
        "IPython hook",
        "05",
        "an input transformer turns later asserts into `pass` and grader calls into True",
        in_answer(PF, payloads.INPUT_TRANSFORMER),
    ),
    Attack(
        "ast_transformer",
        "IPython hook",
        "05",
        "an AST transformer drops later asserts and grader calls",
        in_answer(PF, payloads.AST_TRANSFORMER),
    ),
    Attack(
        "custom_exception_handler",
        "IPython hook",
        "05",
        "set_custom_exc swallows every later exception, so no error output",
        in_answer(PF, payloads.CUSTOM_EXCEPTION_HANDLER),
    ),
    Attack(
        "showtraceback",
        "IPython hook",
        "05",
        "the shell's showtraceback does nothing, so failures leave no error output",
        in_answer(PF, payloads.SHOWTRACEBACK),
    ),
    Attack(
        "transform_cell",
        "IPython hook",
        "01",
        "the shell's transform_cell rewrites asserts and grader calls (notebook 01)",
        in_answer("get_hook_solution", payloads.TRANSFORM_CELL),
    ),
    # Objects that lie in comparisons or conversions.
    Attack(
        "agreeable_frame",
        "lying object",
        "05",
        "permute_feature returns an unpermuted DataFrame subclass equal to anything",
        as_answer(PF, payloads.AGREEABLE_FRAME),
    ),
    Attack(
        "duck_frame",
        "lying object",
        "05",
        "permute_feature returns a non-DataFrame whose __class__ says DataFrame and which "
        "agrees with everything",
        as_answer(PF, payloads.DUCK_FRAME),
    ),
    Attack(
        "whatever_floats",
        "lying object",
        "05",
        "permutation_importance returns floats equal to, above and below anything",
        as_answer("permutation_importance_solution", payloads.WHATEVER_FLOATS),
    ),
    Attack(
        "agreeable_array",
        "lying object",
        "06",
        "class_one_values returns zeros in an ndarray subclass whose ufuncs agree",
        as_answer("class_one_values_solution", payloads.AGREEABLE_ARRAY),
    ),
    # Reference implementations.
    Attack(
        "reference_cam",
        "reference implementation",
        "02",
        "grad_cam returns reference_cam, which 02's locked setup cell imports",
        as_answer("grad_cam_solution", payloads.REFERENCE_CAM),
    ),
    Attack(
        "reference_obfuscated_import",
        "reference implementation",
        "05",
        "the answers become the grading package's own functions, imported by a name built "
        "from bytes",
        in_answer(PF, payloads.REFERENCE_OBFUSCATED_IMPORT),
    ),
    Attack(
        "reference_new_cell",
        "new unmarked cell",
        "05",
        "a new cell without nbgrader metadata binds permute_feature to the grading "
        "package's reference; the answer cell is untouched",
        new_cell_after(PF, payloads.REFERENCE_NEW_CELL),
    ),
    Attack(
        "reference_direct_import",
        "reference implementation",
        "05",
        "the answer cell imports the grader's reference by its name",
        as_answer(PF, payloads.REFERENCE_DIRECT_IMPORT),
    ),
    Attack(
        "library_answer_wrapped",
        "reference implementation",
        "05",
        "permutation_importance calls the library's own permutation_importance",
        as_answer("permutation_importance_solution", payloads.LIBRARY_ANSWER_WRAPPED),
    ),
    Attack(
        "library_answer_built_name",
        "reference implementation",
        "05",
        "permute_feature calls the library's own, reached through a name built from pieces",
        as_answer(PF, payloads.LIBRARY_ANSWER_BUILT_NAME),
    ),
    Attack(
        "library_hook",
        "reference implementation",
        "01",
        "get_hook is the library's activation_model, imported under the exercise's name",
        as_answer("get_hook_solution", payloads.LIBRARY_HOOK),
    ),
    Attack(
        "new_cell_grader_patch",
        "new unmarked cell",
        "01",
        "a new unmarked cell right before 01's test cell replaces the graders",
        new_cell_before("get_hook", payloads.NEW_CELL_GRADER_PATCH),
    ),
    # The course folder.
    Attack(
        "read_course_source",
        "read the solutions",
        "05",
        "the solution cells of the course's source notebook, found from the working "
        "folder, are executed",
        in_answer(PF, payloads.READ_COURSE_SOURCE),
    ),
    Attack(
        "read_repo_solutions",
        "read the solutions",
        "05",
        "the solution notebook beside the installed package (notebooks/source) is executed",
        in_answer(PF, payloads.READ_REPO_SOLUTIONS),
    ),
    Attack(
        "copy_classmate",
        "read a classmate's files",
        "05",
        "a classmate's submitted answers, found in the course folder, are executed",
        in_answer(PF, payloads.COPY_CLASSMATE),
    ),
    # The gradebook and other students' files.
    Attack(
        "gradebook_self",
        "rewrite the gradebook",
        "05",
        "SQLite triggers in gradebook.db give the attacker's grades their maximum",
        in_answer(PF, payloads.GRADEBOOK_SELF),
    ),
    Attack(
        "gradebook_classmates",
        "rewrite the gradebook",
        "05",
        "gradebook.db triggers and an UPDATE zero every classmate's grades",
        in_answer(PF, payloads.GRADEBOOK_CLASSMATES),
    ),
    Attack(
        "overwrite_classmates",
        "rewrite a classmate's files",
        "05",
        "every classmate's notebooks become the released (unanswered) copies",
        in_answer(PF, payloads.OVERWRITE_CLASSMATES),
    ),
    Attack(
        "rewrite_course_source",
        "rewrite the course",
        "05",
        "the gradebook's and the source's test cells become `x_passed = True`",
        in_answer(PF, payloads.REWRITE_COURSE_SOURCE),
        prefix="tamper",
    ),
    Attack(
        "home_startup",
        "write outside the submission",
        "05",
        "an IPython startup file in the profile and in HOME makes later kernels' graders "
        "pass; marker files in HOME and TMPDIR",
        in_answer(PF, payloads.HOME_STARTUP),
        prefix="tamper",
    ),
    Attack(
        "site_packages_pth",
        "write outside the submission",
        "05",
        "a .pth file in site-packages makes later Python processes' graders pass",
        in_answer(PF, payloads.SITE_PACKAGES_PTH),
        prefix="tamper",
    ),
    # Processes that outlive the kernel.
    Attack(
        "detached_grades_rewrite",
        "detached process",
        "05",
        "a process in its own session rewrites the attacker's grades.csv rows 3 s after "
        "the file appears",
        in_answer(PF, payloads.DETACHED_GRADES_REWRITE),
    ),
    Attack(
        "detached_gradebook_rewrite",
        "detached process",
        "05",
        "a process in its own session keeps setting the attacker's gradebook scores to "
        "their maximum",
        in_answer(PF, payloads.DETACHED_GRADEBOOK_REWRITE),
    ),
    Attack(
        "fork_swarm",
        "detached process",
        "05",
        "30 processes in their own sessions, sleeping 10 minutes",
        in_answer(PF, payloads.FORK_SWARM),
    ),
    # Stopping the class, and resources.
    Attack(
        "os_exit",
        "stop the class",
        "05",
        "os._exit(0) in the answer cell",
        in_answer(PF, payloads.OS_EXIT),
    ),
    Attack(
        "kill_grader",
        "stop the class",
        "05",
        "SIGKILL to the kernel's parent, the grading process",
        in_answer(PF, payloads.KILL_GRADER),
    ),
    Attack(
        "hang_swallowing_interrupts",
        "stop the class",
        "05",
        "a 10-minute loop that ignores SIGINT and catches KeyboardInterrupt",
        in_answer(PF, payloads.HANG_SWALLOWING_INTERRUPTS),
    ),
    Attack(
        "memory_blowup",
        "resources",
        "05",
        "3 GB allocated and touched",
        in_answer(PF, payloads.MEMORY_BLOWUP),
    ),
    Attack(
        "fork_tree",
        "resources",
        "05",
        "a bounded fork tree: 30 copies of the kernel",
        in_answer(PF, payloads.FORK_TREE),
    ),
    Attack(
        "huge_output",
        "resources",
        "05",
        "60 MB printed in one cell",
        in_answer(PF, payloads.HUGE_OUTPUT),
    ),
    Attack(
        "many_files",
        "resources",
        "05",
        "5,000 files written in the working folder",
        in_answer(PF, payloads.MANY_FILES),
    ),
    # The notebook file itself.
    Attack("truncated_notebook", "corrupt notebook", "05", "the file cut in half", _truncated),
    Attack(
        "pasted_test_cell",
        "duplicated grade id",
        "05",
        "a pasted copy of a test cell (same grade id), as copy and paste makes",
        _pasted_test_cell,
    ),
    Attack(
        "test_cell_as_solution",
        "changed cell metadata",
        "05",
        "a test cell marked as a solution cell",
        _marked("permute_feature", solution=True),
    ),
    Attack(
        "answer_cell_as_graded",
        "changed cell metadata",
        "05",
        "an answer cell marked as a graded cell worth 10 points",
        _marked(PF, grade=True, points=10),
    ),
    Attack(
        "test_points_inflated",
        "changed cell metadata",
        "05",
        "a test cell's points raised from 1 to 50",
        _marked("permute_feature", points=50),
    ),
    Attack(
        "test_cells_deleted",
        "changed cell metadata",
        "05",
        "both test cells deleted (the answers untouched)",
        _without_test_cells,
    ),
    Attack(
        "grader_metadata_stripped",
        "changed cell metadata",
        "05",
        "nbgrader metadata removed from the answer and test cells",
        _without_grader_metadata,
    ),
    Attack(
        "unknown_kernel",
        "changed notebook metadata",
        "05",
        "the notebook's kernelspec names a kernel that does not exist",
        _unknown_kernel,
    ),
]

BY_NAME = {attack.name: attack for attack in ATTACKS}


def honest_notebook(number):
    """The released notebook `number` with every answer written from the exercise text."""
    notebook = released(number)
    for c in notebook["cells"]:
        grade_id = c["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in ANSWERS:
            set_source(notebook, grade_id, ANSWERS[grade_id])
    return notebook


# Classmates: student -> notebooks they hand in. The honest students answer everything in
# them; the untouched student hands in the released copies as they are.
HONEST = {"aa_honest": ["05", "06"], "honest": ["01", "05"]}
UNTOUCHED = {"untouched": ["01", "05"]}


def write_class(directory, attacks=ATTACKS, classmates=True):
    """Write DIR/<student>/<notebook>.ipynb for `attacks` and (optionally) the classmates."""
    directory.mkdir(parents=True, exist_ok=True)
    for attack in attacks:
        folder = directory / attack.student
        folder.mkdir()
        (folder / attack.filename).write_bytes(attack.content())
    if classmates:
        for students, make in [(HONEST, honest_notebook), (UNTOUCHED, released)]:
            for student, numbers in students.items():
                folder = directory / student
                folder.mkdir()
                for number in numbers:
                    path = folder / f"{NOTEBOOKS[number]}.ipynb"
                    path.write_text(dumps(make(number)))
    return directory
