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
