"""How a grader's answer on a bank entry is judged (shared by pytest and the summary)."""

from medinterp.grading import FAIL


def judge_correct(passed: bool, out: str) -> str:
    """'' when a correct answer passed cleanly, else what went wrong."""
    if passed is not True:
        return "rejected: " + " | ".join(line for line in out.splitlines() if FAIL in line)
    if "All tests passed" not in out:
        return "passed without 'All tests passed'"
    return ""


def judge_wrong(passed: bool, out: str, check: str, hint: str) -> str:
    """'' when a wrong answer was rejected by the check named ``check`` and the feedback
    contains ``hint``, else what went wrong."""
    if passed is not False:
        return "ACCEPTED"
    failing = [line for line in out.splitlines() if line.startswith(FAIL)]
    if not any(check in line for line in failing):
        return f"no failing check names {check!r}: {failing}"
    if hint not in out:
        return f"feedback lacks {hint!r}"
    if "All tests passed" in out or "Traceback" in out:
        return "contradictory output"
    return ""
