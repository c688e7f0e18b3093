"""The graders' shared feedback: named checks, expected vs got, and a student's crash.

A grading run prints ``Testing <exercise>``, then one line per check (``✔``/``✘`` and its
name); under a failed check, what was expected, what came back and, when the mistake is
recognised, a hint that names it. It ends with ``All tests passed`` or how many checks
failed. Three outcomes are kept apart:

- *not attempted*: the function is ``None``, or its START/END CODE HERE block is still the
  template (every line there assigns ``None``); the function is not run;
- *crashed*: the student's code raised; the error and the student's own line are shown,
  never called "not attempted";
- *wrong*: the checks.

Messages are capped at a few short lines, numbers are rounded to what matters, Keras
progress bars and warnings are silenced while the student's code runs, and global state
the grader touches (NumPy's legacy random state, a notebook global it swaps) is restored.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
import textwrap
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from numbers import Real

import numpy as np

from medinterp.global_swap import package_object, replaced_global, reported_calls
from medinterp.grading.package_answers import PACKAGE_ANSWERS

__all__ = [
    "FAIL",
    "PASS",
    "Check",
    "Exercise",
    "StudentCrash",
    "brief",
    "check_tolerance",
    "last_checks",
    "numpy_random_state",
    "replaced_global",
    "run_exercise",
    "template_untouched",
]

PASS, FAIL = "\u2714", "\u2718"
MAX_TEXT = 160  # characters of one expected or got value
MAX_HINT = 240  # characters of one hint
MAX_FRAMES = 2  # source lines shown for a crash
_BLOCK = re.compile(r"### START CODE HERE.*?### END CODE HERE", re.DOTALL)
_PLACEHOLDER = re.compile(r"^\s*([^#\s].*?=\s*None|return None|pass)\s*(#.*)?$")
_COMPOUND = re.compile(r"^\s*(with|for|if|elif|else|while|try|except|finally)\b.*:\s*(#.*)?$")
# Keras prints "1/1 ━━━━ 0s 40ms/step" for every predict(); students' prints stay.
_PROGRESS_BAR = re.compile(r"^[\s\x08\r]*(\x1b\[[0-9;]*m)*\d+/\d+\b.*(step|\u2501)")


def brief(value, digits: int = 3, max_length: int = MAX_TEXT) -> str:
    """``value`` as one short line: floats rounded to ``digits`` decimals, long text cut."""
    if isinstance(value, (float, np.floating)):
        text = _number(float(value), digits)
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size <= 8:
        text = "[" + ", ".join(_number(float(v), digits) for v in value.ravel()) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {brief(v, digits)}" for k, v in value.items()) + "}"
    elif isinstance(value, (list, tuple)) and all(
        isinstance(v, (float, np.floating)) for v in value
    ):
        text = "[" + ", ".join(_number(float(v), digits) for v in value) + "]"
    else:
        text = str(value)
    text = " ".join(text.split())  # one line
    return text if len(text) <= max_length else text[: max_length - 1] + "\u2026"


def _number(value: float, digits: int) -> str:
    if not np.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.1e}"
    text = f"{value:.{digits}f}"
    return "0" + text[text.index(".") :] if text.startswith("-0.") and float(text) == 0 else text


@dataclass
class Check:
    """One named check: passed or not, and what to show when not."""

    name: str
    passed: bool
    expected: object = None
    got: object = None
    hint: str = ""


class StudentCrash(Exception):
    """The student's function raised; ``error`` is their exception and ``hint``, when a
    grader recognises the mistake behind it, names that mistake."""

    def __init__(self, error: BaseException, hint: str = ""):
        super().__init__(str(error))
        self.error, self.hint = error, hint


class Exercise:
    """One grading run: calls the student's function and collects checks."""

    def __init__(self, name: str, fn: Callable):
        self.name, self.fn, self.checks = name, fn, []
        self.package_calls: set[str] = set()  # the package's answers the student's code called
        self._running = 0  # calls of the student's code in progress

    def call(self, *args, **kwargs):
        """Call the student's function; its exceptions become :class:`StudentCrash`."""
        return self.attempt(self.fn, *args, **kwargs)

    def attempt(self, function, *args, **kwargs):
        """Call something the student made (e.g. the model their function returned)."""
        try:
            with self.student_code():
                return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every student error is feedback
            raise StudentCrash(error) from error

    @contextmanager
    def student_code(self) -> Iterator[None]:
        """Mark the student's code running: the package's answers it calls are noted (the
        grader's own calls of them are not)."""
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1

    def note_package_call(self, name: str) -> None:
        if self._running:
            self.package_calls.add(name)

    def check(self, name: str, passed, expected=None, got=None, hint: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), expected, got, hint))
        return bool(passed)

    def report(self) -> bool:
        shown_hints = set()
        for check in self.checks:
            print(f"{PASS if check.passed else FAIL} {check.name}")
            if check.passed:
                continue
            if check.expected is not None or check.got is not None:
                expected, got = _distinct(check.expected, check.got)
                print(f"    expected: {expected}\n    got:      {got}")
            if check.hint in shown_hints:
                print("    hint: as above")
            elif check.hint:
                print(f"    hint: {brief(check.hint, max_length=MAX_HINT)}")
                shown_hints.add(check.hint)
        failed = sum(not check.passed for check in self.checks)
        if failed:
            print(f"{failed} of {len(self.checks)} tests failed for {self.name}.")
        else:
            print("All tests passed")
        return not failed


def _distinct(expected, got) -> tuple[str, str]:
    """``brief`` texts of both, with more decimals when 3 would make them look equal."""
    for digits in (3, 4, 6, 8):
        texts = brief(expected, digits), brief(got, digits)
        if texts[0] != texts[1]:
            break
    return texts


def template_untouched(fn) -> list[str]:
    """The template lines of ``fn``'s START/END CODE HERE block if it is still untouched.

    Untouched means every code line there assigns ``None`` or opens a ``with``/``for``/``if``
    block (what ``make release`` leaves). Returns ``[]`` when the student wrote
    something, or when the source cannot be read.
    """
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    placeholders = []
    for block in _BLOCK.findall(source):
        for line in block.splitlines()[1:-1]:
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or _COMPOUND.match(line):
                continue
            if not _PLACEHOLDER.match(line):
                return []
            placeholders.append(stripped)
    return placeholders


def _placeholders_left(fn) -> list[str]:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    return [
        line.strip()
        for block in _BLOCK.findall(source)
        for line in block.splitlines()[1:-1]
        if _PLACEHOLDER.match(line)
    ]


def _student_frames(fn, error: BaseException) -> list[str]:
    """The student's line that failed and, if deeper, the line that raised."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    theirs = [
        frame
        for frame in frames
        if code is not None and frame.filename == code.co_filename and frame.name == code.co_name
    ]
    shown = theirs[:1]
    if frames and (not theirs or frames[-1] is not theirs[0]):
        shown.append(frames[-1])
    lines = []
    for frame in shown[:MAX_FRAMES]:
        where = "your code" if frame in theirs else frame.filename.rsplit("/", 1)[-1]
        lines.append(f"line {frame.lineno} of {frame.name} ({where}): {(frame.line or '').strip()}")
    return lines


def _crash_report(name: str, fn, error: BaseException, hint: str = "") -> None:
    # Up to two lines of the error's own words: library messages put their advice at the end.
    head = f"{FAIL} {name} crashed: "
    message = brief(f"{type(error).__name__}: {error}", max_length=2 * MAX_TEXT - len(head))
    lines = textwrap.wrap(head + message, width=MAX_TEXT, subsequent_indent="    ")
    print("\n".join(lines))
    for line in _student_frames(fn, error):
        print(f"    {brief(line)}")
    if hint:
        print(f"    hint: {brief(hint, max_length=MAX_HINT)}")
    left = _placeholders_left(fn)
    if left:
        print(f"    {len(left)} line(s) between START and END CODE HERE still assign None, e.g.:")
        print(f"      {brief(left[0])}")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence progress bars and library warnings; keep what the student prints."""
    keras = sys.modules.get("keras")
    interactive = None
    if keras is not None:
        interactive = keras.config.is_interactive_logging_enabled()
        keras.config.disable_interactive_logging()
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    absl_logger = logging.getLogger("absl")
    absl_level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)  # Keras routes non-interactive progress here
    captured = StringIO()
    try:
        with warnings.catch_warnings(), redirect_stdout(captured):
            warnings.simplefilter("ignore")
            yield
    finally:
        tf_logger.setLevel(level)
        absl_logger.setLevel(absl_level)
        if interactive:
            keras.config.enable_interactive_logging()
        kept = [line for line in captured.getvalue().splitlines() if not _PROGRESS_BAR.match(line)]
        if kept:
            print("\n".join(kept[:10] + (["..."] if len(kept) > 10 else [])))


def run_exercise(name: str, fn, body: Callable[[Exercise], None]) -> bool:
    """Run ``body(exercise)`` on the student's ``fn`` and print the feedback.

    Returns True when every check passed; never raises for anything the student's function
    does or returns. :func:`last_checks` gives the run's checks afterwards.
    """
    _last_checks.clear()
    print(f"Testing {name}")
    if fn is None:
        print(f"{FAIL} {name}: not attempted (got None instead of a function).")
        return False
    if not callable(fn):
        print(f"{FAIL} {name}: expected a function, got {brief(type(fn).__name__)}.")
        return False
    template = template_untouched(fn)
    if template:
        print(f"{FAIL} {name}: not attempted yet. Replace the None placeholders between")
        print("    ### START CODE HERE ### and ### END CODE HERE ###, starting with:")
        print(f"      {brief(template[0])}")
        return False
    exercise = Exercise(name, fn)
    _last_checks.append(exercise.checks)
    answers = PACKAGE_ANSWERS.get(name, ())
    exercise.package_calls |= {n for n in answers if package_object(n) is fn}  # fn is one
    # A function run elsewhere (the autograder's worker) reports its calls from there.
    restore = (lambda: None) if hasattr(fn, "package_calls") else reported_calls(
        answers, exercise.note_package_call, [getattr(fn, "__globals__", {})]
    )  # fmt: skip
    try:
        with _quiet():
            body(exercise)
    except StudentCrash as crash:
        _crash_report(name, fn, crash.error, crash.hint)
        return False
    except Exception as error:  # noqa: BLE001 - a grader answers True/False, always
        print(f"{FAIL} {name}: the grader itself failed ({brief(type(error).__name__)}: ")
        print(f"    {brief(error)}). This is not your mistake; please report it.")
        return False
    finally:
        restore()
    if hasattr(fn, "package_calls"):
        exercise.package_calls |= set(fn.package_calls())
    called = sorted(exercise.package_calls & set(answers))
    if called:
        exercise.check(
            "is your own code", False, "your own code", f"a call of {called[0]}",
            "that is the package's own answer to this exercise: write yours without it",
        )  # fmt: skip
    return exercise.report()


_last_checks: list[list[Check]] = []


def last_checks() -> list[Check]:
    """The checks of the latest :func:`run_exercise` (none when the function was not
    attempted); a crash leaves the checks made before it. The autograder reads them."""
    return list(_last_checks[0]) if _last_checks else []


@contextmanager
def numpy_random_state(seed: int) -> Iterator[None]:
    """Seed NumPy's legacy global generator (``np.random.permutation``) for reproducible
    grading, and give the caller's state back afterwards."""
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002 - the course's code draws from the global generator
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def check_tolerance(tolerance, name: str = "tolerance") -> float:
    """Validate a grader's own tolerance argument (a positive number below 1)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, Real):
        raise TypeError(f"{name} must be a number in (0, 1), got {tolerance!r}")
    tolerance = float(tolerance)
    if not 0 < tolerance < 1:
        raise ValueError(f"{name} must be in (0, 1), got {tolerance}")
    return tolerance
