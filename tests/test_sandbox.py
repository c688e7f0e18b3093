"""The grading sandbox, the plain-data channel and the trusted verdict (issue 23).

Each test is a wrong or hostile submission the sandbox or the verdict must stop, beside
answers it must accept. The namespace tests need root on Linux (CI and containers run as
root); elsewhere they are skipped and the rest still runs.
"""

import os
import sys
import tempfile
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from medinterp.instructor import sandbox
from medinterp.instructor.plaindata import Encoder, ProtocolError, decode
from medinterp.instructor.verdict import answer_cells, judge, plan

ROOT = Path(__file__).resolve().parents[1]
NB05 = ROOT / "notebooks" / "05_permutation_importance.ipynb"
needs_namespaces = pytest.mark.skipif(not sandbox.isolated(), reason="needs root and unshare")


def _run(code: str, **kwargs):
    return sandbox.run([sys.executable, "-c", code], **kwargs)


# --- the sandbox ------------------------------------------------------------------------


@needs_namespaces
def test_the_sandbox_sees_only_its_folder_and_the_environment(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    code = f"""
import os
print(os.getuid() != 0, os.getcwd())
for path in [{str(secret)!r}, {str(ROOT / "notebooks" / "source")!r}, "/work/shared/x"]:
    print(path, os.path.exists(path))
print("root holds", sorted(os.listdir("/root")) if os.path.isdir("/root") else [])
import medinterp
print("package", os.path.isdir(os.path.dirname(medinterp.__file__)))
"""
    returncode, output, _, reason = _run(code, timeout=120)
    assert returncode == 0, output
    lines = output.splitlines()
    assert lines[0] == "True /tmp"
    assert f"{secret} False" in lines
    assert f"{ROOT / 'notebooks' / 'source'} False" in lines
    # /root holds at most the way to the Python environment (pyenv installs it there).
    environment = {Path(p).relative_to("/root").parts[0]
                   for p in (sys.prefix, sys.base_prefix) if p.startswith("/root/")}  # fmt: skip
    assert f"root holds {sorted(environment)}" in lines
    assert "package True" in lines


@needs_namespaces
def test_a_hidden_folder_is_empty_inside():
    import medinterp.grading

    grading = Path(medinterp.grading.__file__).parent
    code = f"""
import os
print(sorted(os.listdir({str(grading)!r})))
import medinterp.importance
try:  # an empty folder imports as an empty namespace package: its modules are gone
    from medinterp.grading.importance_exercises import reference_permute_feature
except ImportError as error:
    print(type(error).__name__)
"""
    returncode, output, _, _ = _run(code, timeout=120, hidden=[str(grading)])
    assert returncode == 0, output
    assert output.splitlines() == ["[]", "ModuleNotFoundError"]


@needs_namespaces
def test_no_network_and_no_write_outside_its_folder(tmp_path):
    marker = f"medinterp-test-{uuid.uuid4().hex}"
    code = f"""
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("network reached")
except OSError as error:
    print("no network")
for folder in ["/var/tmp", "/dev/shm", {str(tmp_path)!r}, {str(ROOT)!r}]:
    try:
        open(folder + "/{marker}", "w").write("x")
        print("wrote", folder)
    except OSError:
        print("refused", folder)
open("/tmp/{marker}", "w").write("mine")
"""
    returncode, output, collected, _ = _run(code, timeout=60, collect=[marker])
    assert "no network" in output and "network reached" not in output
    assert "wrote /var/tmp" not in output and f"wrote {tmp_path}" not in output
    assert f"wrote {ROOT}" not in output
    assert collected == {marker: b"mine"}  # its own folder: the only writable place
    for folder in ("/tmp", "/var/tmp", "/dev/shm", str(tmp_path), str(ROOT)):
        assert not Path(folder, marker).exists(), folder


@needs_namespaces
def test_every_process_is_gone_when_the_run_ends():
    marker = uuid.uuid4().hex
    code = f"""
import os, subprocess
subprocess.Popen(["sleep", "300", "{marker}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    os.execvp("sleep", ["sleep", "301", "{marker}"])
print("detached")
"""
    returncode, output, _, _ = _run(code, timeout=60)
    assert "detached" in output
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, marker)]
    assert left == []


def _cmdline_has(process: Path, marker: str) -> bool:
    try:
        return marker in (process / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def test_a_hang_is_stopped_and_named():
    returncode, _, _, reason = _run("while True:\n    pass\n", timeout=3)
    assert returncode is None and "time limit" in reason


def test_exit_memory_and_output_are_limited():
    returncode, _, _, reason = _run("import os\nos._exit(7)", timeout=60)
    assert returncode == 7 and reason == "exited with status 7"
    limits = sandbox.Limits(
        memory_bytes=256 * sandbox.MiB, address_space_bytes=sandbox.GiB, output_bytes=1000
    )
    blow_up = "import numpy as np\nx = np.ones(2 * 10**8)\nprint('allocated')"  # 1.6 GB
    returncode, output, _, _ = _run(blow_up, limits=limits, timeout=60)
    assert returncode != 0 and "allocated" not in output
    returncode, output, _, _ = _run("print('x' * 100_000)", limits=limits, timeout=60)
    assert returncode == 0 and len(output) == 1000


def test_limits_must_be_positive_integers():
    with pytest.raises(ValueError, match="memory_bytes"):
        sandbox.Limits(memory_bytes=0)


# --- plain data only ---------------------------------------------------------------------


def _round_trip(value):
    blobs = []
    data = Encoder(lambda v, b: pytest.fail(f"{v!r} should cross as data")).encode(value, blobs)
    return decode(data, blobs, lambda d: pytest.fail(f"unexpected {d}"))


def test_frames_series_arrays_and_numbers_cross_as_they_are():
    frame = pd.DataFrame(
        {"age": [20.5, 30.0], "sex": np.array([1, 2]), "name": ["a", "b"]},
        index=pd.Index([1007, 2003], name="person"),
    )
    got = _round_trip(frame)
    pd.testing.assert_frame_equal(got, frame)
    series = pd.Series([0.1, 0.2], index=["x", "y"], name="importance")
    pd.testing.assert_series_equal(_round_trip(series), series)
    values = [np.float32(1.5), 3, float("nan"), (1, "a"), {"k": np.arange(3)}, None, True]
    got = _round_trip(values)
    assert got[0] == np.float32(1.5) and type(got[0]) is np.float32
    assert got[1] == 3 and np.isnan(got[2]) and got[3] == (1, "a")
    assert np.array_equal(got[4]["k"], np.arange(3)) and got[5] is None and got[6] is True


def test_a_pickled_array_is_refused():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError, match="bad array"):
        decode({"t": "array", "i": 0}, [buffer.getvalue()], lambda d: None)
    with pytest.raises(ProtocolError):
        decode({"t": "json", "v": {"nested": "object"}}, [], lambda d: None)


# --- the trusted verdict -----------------------------------------------------------------


def _submission(tmp_path: Path, answers: dict, extra_cells=()) -> Path:
    notebook = nbformat.read(NB05, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        if grade_id == "setup_02":
            cell.source += "\nimport numpy\nnumpy.TAMPERED_SETUP = True\n"  # must not run
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    path = tmp_path / NB05.name
    nbformat.write(notebook, path)
    return path


def test_the_worker_runs_the_released_locked_cells_not_the_students(tmp_path):
    exercises, cells = plan(NB05)
    path = _submission(tmp_path, {"permute_feature_solution": "def permute_feature(df, f):\n"
                                  "    return df\n"}, extra_cells=["SNEAKY = 1"])  # fmt: skip
    code, texts = answer_cells(cells, path)
    joined = "\n".join(code)
    assert "TAMPERED_SETUP" not in joined and "SNEAKY" not in joined
    assert "load_nhanes()" not in joined  # the lesson's data loading is not the answers'
    assert "from medinterp.grading" not in joined
    assert texts["permute_feature_solution"].startswith("def permute_feature(df, f)")
    assert [e.grade_id for e in exercises] == ["permute_feature", "permutation_importance"]


CORRECT_PERMUTE = """
def permute_feature(df, feature):
    permuted = df.copy()
    permuted[feature] = np.random.permutation(df[feature].to_numpy())
    return permuted
"""
# Each one a wrong answer dressed up to pass: patch what the grader uses, or lie.
FORGERIES = {
    "patches numpy": "import numpy\nnumpy.array_equal = lambda *a, **k: False\n"
    "numpy.allclose = lambda *a, **k: True\ndef permute_feature(df, feature):\n    return df\n",
    "replaces the grader via sys.modules": "import sys, types\n"
    "fake = types.ModuleType('medinterp.grading')\nfake.permute_feature_test = lambda fn: True\n"
    "sys.modules['medinterp.grading'] = fake\n"
    "sys.modules['medinterp.grading.importance_exercises'] = fake\n"
    "def permute_feature(df, feature):\n    return df\n",
    "patches pandas equality": "import pandas\npandas.DataFrame.equals = lambda *a: True\n"
    "def permute_feature(df, feature):\n    return df.sort_values(feature)\n",
    "returns an object that equals anything": "class Liar:\n    def __eq__(self, other):\n"
    "        return True\n    def __getattr__(self, name):\n        return self\n"
    "def permute_feature(df, feature):\n    return Liar()\n",
    # The grader's reference and the library's own answer pass every check: neither is the
    # student's work (the first is not in the worker's file system at all).
    "imports the grader's reference": "from medinterp.grading.importance_exercises import "
    "reference_permute_feature as permute_feature\n",
    "calls the library's answer through a built name": "_m = __import__('medinterp.imp' + "
    "'ortance', fromlist=['_'])\ndef permute_feature(df, feature):\n"
    "    return getattr(_m, 'permute_' + 'feature')(df, feature)\n",
}


@pytest.mark.slow
def test_forgeries_fail_outside_and_a_correct_answer_passes(tmp_path):
    exercises, cells = plan(NB05)
    permute = [e for e in exercises if e.grade_id == "permute_feature"]
    for name, answer in {"correct": CORRECT_PERMUTE, **FORGERIES}.items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        path = _submission(folder, {"permute_feature_solution": answer})
        verdict = judge(permute, cells, path, timeout=60)["permute_feature"]
        assert verdict.passed == (name == "correct"), f"{name}: {verdict.feedback}"
        assert verdict.points == (1.0 if name == "correct" else 0.0), name


# --- a class with attackers, graded in two shards and merged -----------------------------

sys.path.insert(0, str(Path(__file__).parent))
from test_autograde import NB05 as NB05_NAME  # noqa: E402
from test_autograde import _solution_answers, _write_submission  # noqa: E402

MARKER = f"medinterp-attack-{uuid.uuid4().hex}"
PF, PI = "permute_feature_solution", "permutation_importance_solution"
# The grader the notebook's hidden test checks with `is` is replaced on the real module, so
# the notebook's own tests pass: only the trusted verdict can refuse it.
MONKEYPATCHED_GRADER = (
    "import medinterp.grading as grading\n"
    "grading.permute_feature_test = lambda fn: True\n"
    "permute_feature_test = grading.permute_feature_test\n"
    "def permute_feature(df, feature):\n    return df\n"
)
EXITS = "import os\nos._exit(3)\n"
SWALLOWS_INTERRUPTS = (
    "def permute_feature(df, feature):\n    while True:\n        try:\n"
    "            pass\n        except BaseException:\n            pass\n"
)
SCRIBBLES = (
    "import os, subprocess, pathlib\n"
    f"for folder in ['/tmp', '/var/tmp', os.path.expanduser('~'), '..', '../..']:\n"
    "    try:\n"
    f"        pathlib.Path(folder, '{MARKER}').write_text('x')\n"
    "    except OSError:\n        pass\n"
    f"subprocess.Popen(['sleep', '600', '{MARKER}'], start_new_session=True)\n"
    "def permute_feature(df, feature):\n    return df\n"
)


def _attack_class(folder: Path) -> dict:
    course = _solution_answers(NB05_NAME)
    others = {k: v for k, v in course.items() if k != PF}
    students = {
        "ada": dict(course),
        "mal": {PF: MONKEYPATCHED_GRADER},
        "sam": {PF: SCRIBBLES},
        "ulf": {PF: SWALLOWS_INTERRUPTS, **others},
        "zed": {PF: EXITS, **others},
    }
    for student, changes in students.items():
        _write_submission(folder / student, NB05_NAME, changes)
    return students


@pytest.fixture(scope="module")
def sharded_class(tmp_path_factory):
    from medinterp.instructor.autograde import autograde, merge_shards

    folder = tmp_path_factory.mktemp("attacked")
    _attack_class(folder)
    # The sandboxes' folders go here (this run's only: other graders may share the machine).
    sandboxes = tmp_path_factory.mktemp("sandboxes")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"], tempfile.tempdir = str(sandboxes), None
    try:
        shards = [autograde(folder, ROOT / "notebooks/source", timeout=30, config_dir=ROOT,
                            shard=(i, 2), jobs=2) for i in (1, 2)]  # fmt: skip
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
    merged = merge_shards(folder, 2)
    return folder, shards, merged, sorted(p.name for p in sandboxes.iterdir())


@pytest.mark.slow
def test_attackers_get_nothing_and_the_honest_student_everything(sharded_class):
    folder, shards, merged, _ = sharded_class
    grades = pd.read_csv(folder / "grades.csv", keep_default_na=False).set_index("student")
    assert sorted(grades.index) == ["ada", "mal", "sam", "ulf", "zed"]
    assert {len(shard.grades) for shard in shards} == {2, 3}  # each shard graded its share
    assert grades.loc["ada", "score"] == 3 and grades.loc["ada", "forged"] == ""
    assert grades.loc["ada", "reason"] == ""
    assert grades.loc["ada", "checks"] == "permute_feature 9/9; permutation_importance 7/7"
    # The notebook's own tests passed; the trusted grader refused.
    assert grades.loc["mal", "score"] == 0 and grades.loc["mal", "forged"] == "permute_feature"
    assert grades.loc["sam", "score"] == 0
    # os._exit: the whole notebook scores 0, with the reason.
    assert grades.loc["zed", "score"] == 0 and "status 3" in grades.loc["zed", "reason"]
    # A loop that swallows interrupts: that exercise 0 and named, the other one graded.
    assert grades.loc["ulf", "permute_feature"] == 0
    assert "time limit" in grades.loc["ulf", "reason"]
    assert {p.parent.name for p in merged.feedback} == set(grades.index)
    assert "Your grade: 3 of 3" in (folder / "feedback" / "ada" / f"{NB05_NAME}.html").read_text()
    assert "status 3" in (folder / "feedback" / "zed" / f"{NB05_NAME}.html").read_text()


@pytest.mark.slow
def test_nothing_left_running_and_nothing_written_outside(sharded_class):
    folder, _, _, left = sharded_class
    assert left == []  # every sandbox's folder is gone
    running = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, MARKER)]
    assert running == []
    for place in ("/tmp", "/var/tmp", os.path.expanduser("~"), str(folder), str(folder.parent)):
        assert not Path(place, MARKER).exists(), place


# --- records, points per check, forged ------------------------------------------------------


def _graded_run(verdicts: dict, claimed: bool = True) -> dict:
    """What grading one student left: nbgrader's graded notebook (test cells without an
    error if ``claimed``) and the trusted verdicts for notebook 05."""
    notebook = nbformat.read(NB05, as_version=4)
    if not claimed:
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                                       evalue="", traceback=[])]  # fmt: skip
    ran = nbformat.writes(notebook).encode()
    return {"run": {"notebooks": {NB05.stem: ran}, "reason": "", "log": ""},
            "verdicts": {NB05.stem: verdicts}, "verdict_reason": ""}  # fmt: skip


def _verdict(passed: bool, names: list[str], run: int = 9) -> dict:
    return {"passed": passed, "points": 0.0, "checks_passed": len(names), "checks_run": run,
            "passed_checks": names, "feedback": "", "reason": ""}  # fmt: skip


def test_points_per_check_forged_and_the_checks_column():
    from medinterp.instructor.results import build_records, grades_table

    plans = {NB05.stem: plan(NB05)}
    found = {"sha256": "0", "readable": True, "tampered_cells": [], "flags": []}
    collected = {student: {NB05.stem: found} for student in ("ada", "ben", "cy")}
    names = ["returns a DataFrame", "leaves the input unchanged", "other columns untouched"]
    graded = {
        "ada": _graded_run({"permute_feature": _verdict(True, names, 3),
                            "permutation_importance": _verdict(True, names[:1], 1)}),
        "ben": _graded_run({"permute_feature": _verdict(False, names[:2], 3),
                            "permutation_importance": _verdict(False, [], 1)}),
        "cy": _graded_run({"permute_feature": _verdict(False, names[:2], 3),
                           "permutation_importance": _verdict(False, [], 1)}, claimed=False),
    }  # fmt: skip
    all_or_nothing = grades_table(build_records(collected, graded, plans, {}), plans)
    by_student = all_or_nothing.set_index("student")
    assert list(by_student["score"]) == [3.0, 0.0, 0.0]
    # ben's notebook claimed both passes the trusted grader refused; cy's claimed none.
    assert by_student.loc["ben", "forged"] == "permute_feature;permutation_importance"
    assert by_student.loc["cy", "forged"] == "" and by_student.loc["ada", "forged"] == ""
    assert by_student.loc["ben", "checks"] == "permute_feature 2/3; permutation_importance 0/1"
    check_points = {"permute_feature": {names[0]: 0.25, names[1]: 0.25, names[2]: 0.5}}
    partial = grades_table(build_records(collected, graded, plans, check_points), plans)
    partial = partial.set_index("student")
    assert partial.loc["ben", "permute_feature"] == 0.5
    assert partial.loc["ben", "permutation_importance"] == 0.0  # not listed: all or nothing
    assert partial.loc["ada", "score"] == 3.0
