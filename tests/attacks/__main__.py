"""Grade the bank once and print what each attack got: `python -m tests.attacks OUT`.

OUT must not exist. `--attacks a,b` grades only those attacks; `--no-classmates` leaves
out the honest and untouched students.
"""

import argparse
from pathlib import Path

from .bank import ATTACKS, BY_NAME, write_class
from .run import outcome, run_autograde


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--attacks", help="comma-separated names (default: all)")
    parser.add_argument("--no-classmates", action="store_true")
    parser.add_argument("--timeout", type=int, default=90)
    arguments = parser.parse_args()
    attacks = [BY_NAME[n] for n in arguments.attacks.split(",")] if arguments.attacks else ATTACKS
    directory = write_class(arguments.out / "class", attacks, not arguments.no_classmates)
    run = run_autograde(directory, arguments.out / "scratch", arguments.timeout)
    print(f"exit {run.returncode} after {run.seconds:.0f} s")
    print(run.output[-1500:])
    print("| class | attack | notebook | outcome |\n| --- | --- | --- | --- |")
    for attack in attacks:
        print(f"| {attack.kind} | `{attack.name}` | {attack.notebook} | {outcome(attack, run)} |")
    for row in run.rows:
        if not row["student"].startswith("atk_"):
            print("classmate:", {k: v for k, v in row.items() if v})
    print("left running:", run.leftovers)
    print("written outside DIR:", run.written_outside, run.new_site_packages)


main()
