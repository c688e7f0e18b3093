"""The course's c-index, kept as the slow, obviously right reference: a Python loop over every
permissible pair, O(n^2). Tests check the fast one against it; the benchmark times it."""

import itertools


def quadratic_cindex(y, scores):
    concordant = permissible = 0.0
    for i, j in itertools.combinations(range(len(y)), 2):
        if y[i] != y[j]:
            permissible += 1
            positive, negative = (i, j) if y[i] == 1 else (j, i)
            if scores[positive] > scores[negative]:
                concordant += 1
            elif scores[positive] == scores[negative]:
                concordant += 0.5
    return concordant / permissible


def quadratic_harrell_c(time, event, risk):
    """Harrell's C pair by pair: i's death comes first when i died and j's time is later, or
    equal and j was censored."""
    concordant = comparable = 0.0
    for i in range(len(time)):
        for j in range(len(time)):
            first = event[i] and (time[i] < time[j] or (time[i] == time[j] and not event[j]))
            if first:
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable
