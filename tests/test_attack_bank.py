"""Issue 23's attack bank: a class that wants unearned points, graded by the autograde CLI.

Two runs of `python -m medinterp.instructor.autograde`: the honest and untouched students
alone, then the same students with every attacker of tests/attacks/bank.py (one attack and
one notebook each, on untouched or wrong answers). The second run must complete, give no
attacker a point, grade the classmates exactly as the first, leave no process running and
write nothing outside DIR.

Run alone (with the Makefile's data variables, as `make test` sets them):
    .venv/bin/python -m pytest tests/test_attack_bank.py
ATTACK_BANK_ONLY=name,name grades only those attackers, to try one attack quickly.
"""

import os

import pytest

from tests.attacks.bank import ATTACKS, HONEST, UNTOUCHED, write_class
from tests.attacks.run import outcome, points, run_autograde, stable

CLASSMATES = {**HONEST, **UNTOUCHED}
ONLY = [name for name in os.environ.get("ATTACK_BANK_ONLY", "").split(",") if name]
SELECTED = [attack for attack in ATTACKS if not ONLY or attack.name in ONLY]


def handed_in(rows, students):
    """The rows of the notebooks these students handed in (not the others' notebooks)."""
    return [row for row in rows if row["notebook"][:2] in students.get(row["student"], ())]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, nhanes_dir, cxr_samples_dir):
    pytest.importorskip("nbgrader")
    root = tmp_path_factory.mktemp("attack_bank")
    alone = run_autograde(write_class(root / "alone", attacks=[]), root / "alone_scratch")
    attacked = run_autograde(write_class(root / "class", SELECTED), root / "class_scratch")
    report = "\n".join(f"{attack.name}: {outcome(attack, attacked)}" for attack in SELECTED)
    (root / "outcomes.txt").write_text(report + "\n")
    print(report)
    return alone, attacked


def test_the_bank_is_large_and_covers_every_class():
    assert len(ATTACKS) >= 30
    assert len({attack.student for attack in ATTACKS}) == len(ATTACKS)
    kinds = {attack.kind for attack in ATTACKS}
    for kind in [
        "replace the grader",
        "patch a library",
        "patch the feedback framework",
        "IPython hook",
        "lying object",
        "reference implementation",
        "new unmarked cell",
        "read the solutions",
        "rewrite the gradebook",
        "rewrite a classmate's files",
        "detached process",
        "stop the class",
        "resources",
        "corrupt notebook",
        "duplicated grade id",
        "changed cell metadata",
    ]:
        assert kind in kinds


@pytest.mark.slow
def test_classmates_alone_are_graded(runs):
    alone, _ = runs
    assert alone.returncode == 0, alone.output
    honest = handed_in(alone.rows, HONEST)
    untouched = handed_in(alone.rows, UNTOUCHED)
    assert honest and all(row["score"] == row["max_score"] for row in honest), honest
    assert untouched and all(points(row) == 0 for row in untouched), untouched


@pytest.mark.slow
def test_the_run_completes(runs):
    _, attacked = runs
    assert attacked.returncode == 0, attacked.output
    assert attacked.rows, "no grades.csv"


@pytest.mark.slow
def test_no_attacker_gets_a_point(runs):
    _, attacked = runs
    unearned = {}
    for attack in SELECTED:
        rows = [row for row in attacked.rows if row["student"] == attack.student]
        if not rows or any(points(row) for row in rows):
            unearned[attack.name] = outcome(attack, attacked)
    assert not unearned, unearned


@pytest.mark.slow
def test_grades_csv_is_not_rewritten_after_the_run(runs):
    _, attacked = runs
    assert attacked.rows == attacked.rows_at_exit


@pytest.mark.slow
def test_classmates_are_graded_as_without_the_attackers(runs):
    alone, attacked = runs
    assert stable(attacked.rows, CLASSMATES) == stable(alone.rows, CLASSMATES)


@pytest.mark.slow
def test_no_process_is_left_running(runs):
    _, attacked = runs
    assert not attacked.leftovers, attacked.leftovers


@pytest.mark.slow
def test_nothing_is_written_outside_the_class_folder(runs):
    alone, attacked = runs
    # The grader's own footprint (what the run without attackers also wrote) is allowed.
    extra = {
        place: sorted(set(paths) - set(alone.written_outside[place]))
        for place, paths in attacked.written_outside.items()
    }
    assert not any(extra.values()), extra
    assert not attacked.new_site_packages, attacked.new_site_packages
