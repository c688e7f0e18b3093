"""Issue 23's attack bank: notebooks of students who want points they have not earned.

`bank` lists the attacks (one student and one notebook each) and writes a class;
`payloads` holds their code; `solutions` the honest students' answers; `run` grades a class
with the autograde CLI and reads the outcome. tests/test_attack_bank.py is the test;
`python -m tests.attacks OUT` grades the bank once and prints a table of outcomes.
"""
