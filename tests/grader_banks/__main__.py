"""Run every grader over its bank and print what it accepted and rejected.

    python tests/grader_banks [bank ...]

A line per answer: ``ok`` when a correct answer passed or a wrong answer was rejected by
the check that names its mistake, ``BAD`` otherwise, with the grader's time. Exit status 1
if any answer is BAD.
"""

import contextlib
import importlib
import io
import sys
import time
from pathlib import Path

# The repository's medinterp (not an installed copy), and the banks beside this file.
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[1])]

from grader_banks import BANKS  # noqa: E402
from grader_banks.judge import judge_correct, judge_wrong  # noqa: E402


def main(names) -> int:
    bad = 0
    for name in names:
        bank = importlib.import_module(f"grader_banks.{name}")
        rows = [(fn, None) for fn in bank.CORRECT] + list(bank.WRONG.items())
        accepted_wrong = rejected_correct = 0
        for fn, expectation in rows:
            buffer = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(buffer):
                passed = bank.grade(fn)
            seconds = time.perf_counter() - start
            out = buffer.getvalue()
            if expectation is None:
                problem = judge_correct(passed, out)
                rejected_correct += bool(problem)
            else:
                problem = judge_wrong(passed, out, *expectation)
                accepted_wrong += passed
            bad += bool(problem)
            kind = "correct" if expectation is None else "wrong  "
            print(f"{'BAD' if problem else 'ok '} {bank.EXERCISE:24} {kind} {fn.__name__:36} "
                  f"{'pass' if passed else 'fail'} {seconds:5.2f} s {problem}")  # fmt: skip
        print(
            f"== {bank.EXERCISE}: {len(bank.CORRECT)} correct, {len(bank.WRONG)} wrong; "
            f"{rejected_correct} correct rejected, {accepted_wrong} wrong accepted\n"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or BANKS))
