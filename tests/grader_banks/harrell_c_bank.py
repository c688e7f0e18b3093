"""``harrell_c(time, event, risk)``: correct styles and wrong answers."""

import itertools

import numpy as np
import pandas as pd

# --- correct --------------------------------------------------------------------------------


def notebook_style(time, event, risk):
    time, event, risk = np.asarray(time), np.asarray(event), np.asarray(risk)
    n = len(time)
    concordant = 0.0
    comparable = 0.0
    for i in range(n):
        for j in range(n):
            i_first = event[i] and (time[i] < time[j] or (time[i] == time[j] and not event[j]))
            if i_first:
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable


def course_style_unordered_pairs(time, event, risk):
    """The course's loop over i < j, both orders handled inside, generalised."""
    y, scores, e = list(time), list(risk), list(event)
    n = len(y)
    concordant = permissible = ties = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            if e[i] or e[j]:
                if e[i] and e[j]:
                    if y[i] == y[j]:
                        continue  # two deaths at one time: no order
                    first, second = (i, j) if y[i] < y[j] else (j, i)
                else:
                    first, second = (i, j) if e[i] else (j, i)
                    if y[first] > y[second]:
                        continue  # censored before the death
                permissible += 1
                if scores[first] == scores[second]:
                    ties += 1
                elif scores[first] > scores[second]:
                    concordant += 1
    return (concordant + 0.5 * ties) / permissible


def vectorised(time, event, risk):
    t, e, r = (np.asarray(a, dtype=float) for a in (time, event, risk))
    e = e.astype(bool)
    first = e[:, None] & ((t[:, None] < t[None, :]) | ((t[:, None] == t[None, :]) & ~e[None, :]))
    score = (r[:, None] > r[None, :]) + 0.5 * (r[:, None] == r[None, :])
    return (first * score).sum() / first.sum()


def with_lifelines(time, event, risk):
    from lifelines.utils import concordance_index

    return concordance_index(np.asarray(time), -np.asarray(risk), np.asarray(event))


def with_scikit_survival(time, event, risk):
    from sksurv.metrics import concordance_index_censored

    return concordance_index_censored(
        np.asarray(event, dtype=bool), np.asarray(time, dtype=float), np.asarray(risk, float)
    )[0]


def with_the_package(time, event, risk):
    from medinterp.metrics import harrell_c

    return harrell_c(time, event, risk)


def with_itertools(time, event, risk):
    t, e, r = list(map(float, time)), list(map(bool, event)), list(map(float, risk))
    points = pairs = 0.0
    for i, j in itertools.permutations(range(len(t)), 2):
        if e[i] and (t[i] < t[j] or (t[i] == t[j] and not e[j])):
            pairs += 1
            points += (r[i] > r[j]) + 0.5 * (r[i] == r[j])
    return points / pairs


def sorted_by_time(time, event, risk):
    """Sort once; the people after a death (and those censored at its time) are its pool."""
    frame = pd.DataFrame({"t": np.asarray(time, float), "e": np.asarray(event, bool),
                          "r": np.asarray(risk, float)}).sort_values("t")  # fmt: skip
    total = count = 0.0
    for row in frame[frame.e].itertuples():
        pool = frame[(frame.t > row.t) | ((frame.t == row.t) & ~frame.e)]
        count += len(pool)
        total += (pool.r < row.r).sum() + 0.5 * (pool.r == row.r).sum()
    return total / count


def with_a_dataframe_cross_join(time, event, risk):
    people = pd.DataFrame({"t": list(time), "e": list(event), "r": list(risk)})
    pairs = people.merge(people, how="cross", suffixes=("_i", "_j"))
    first = pairs.e_i.astype(bool) & (
        (pairs.t_i < pairs.t_j) | ((pairs.t_i == pairs.t_j) & ~pairs.e_j.astype(bool))
    )
    chosen = pairs[first]
    return float(((chosen.r_i > chosen.r_j) + 0.5 * (chosen.r_i == chosen.r_j)).mean())


CORRECT = [
    notebook_style,
    course_style_unordered_pairs,
    vectorised,
    with_lifelines,
    with_scikit_survival,
    with_itertools,
    sorted_by_time,
    with_a_dataframe_cross_join,
]

# --- wrong ----------------------------------------------------------------------------------


def _pairs(time, event, risk, condition, tie=0.5, higher=lambda a, b: a > b, denominator=None):
    t, e, r = np.asarray(time, float), np.asarray(event).astype(bool), np.asarray(risk, float)
    concordant = comparable = 0.0
    for i in range(len(t)):
        for j in range(len(t)):
            if i != j and condition(t, e, i, j):
                comparable += 1
                concordant += 1.0 if higher(r[i], r[j]) else tie if r[i] == r[j] else 0.0
    return concordant / (denominator(len(t)) if denominator else comparable)


def _right(t, e, i, j):
    return e[i] and (t[i] < t[j] or (t[i] == t[j] and not e[j]))


def counts_censored_first_pairs(time, event, risk):
    return _pairs(time, event, risk, lambda t, e, i, j: (e[i] or e[j]) and t[i] < t[j])


def compares_equal_death_times(time, event, risk):
    """The course's own loop: two deaths at one time count as a pair."""
    y, scores, e = list(time), list(risk), list(event)
    concordant = permissible = ties = 0.0
    for i in range(len(y)):
        for j in range(i + 1, len(y)):
            if e[i] or e[j]:
                if e[i] and e[j]:
                    permissible += 1
                    if scores[i] == scores[j]:
                        ties += 1
                    elif (y[i] > y[j] and scores[i] < scores[j]) or (
                        y[i] < y[j] and scores[i] > scores[j]
                    ):
                        concordant += 1
                else:
                    censored, uncensored = (j, i) if e[i] else (i, j)
                    if y[uncensored] <= y[censored]:
                        permissible += 1
                        if scores[uncensored] == scores[censored]:
                            ties += 1
                        elif scores[uncensored] > scores[censored]:
                            concordant += 1
    return (concordant + 0.5 * ties) / permissible


def strict_times_only(time, event, risk):
    return _pairs(time, event, risk, lambda t, e, i, j: e[i] and t[i] < t[j])


def reversed_sign(time, event, risk):
    return _pairs(time, event, risk, _right, higher=lambda a, b: a < b)


def ties_in_risk_count_nothing(time, event, risk):
    return _pairs(time, event, risk, _right, tie=0.0)


def ties_in_risk_count_one(time, event, risk):
    return _pairs(time, event, risk, _right, tie=1.0)


def ignores_censoring(time, event, risk):
    return _pairs(time, np.ones(len(time), bool), risk, _right)


def divides_by_every_pair(time, event, risk):
    return _pairs(time, event, risk, _right, denominator=lambda n: n * (n - 1) / 2)


def flips_a_low_c(time, event, risk):
    c = _pairs(time, event, risk, _right)
    return max(c, 1 - c)


def as_a_percentage(time, event, risk):
    return 100 * _pairs(time, event, risk, _right)


def rounded(time, event, risk):
    return round(_pairs(time, event, risk, _right), 2)


def roc_auc_of_the_event(time, event, risk):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(np.asarray(event, dtype=int), np.asarray(risk))


def sorts_the_inputs_in_place(time, event, risk):
    time, risk = np.asarray(time), np.asarray(risk)
    event = np.asarray(event)
    order = np.argsort(time)
    c = _pairs(time, event, risk, _right)
    time.sort() if time.flags.writeable else None
    risk[:] = risk[order] if risk.flags.writeable else risk
    return c


def labels_not_positions(time, event, risk):
    n = len(time)
    concordant = comparable = 0.0
    for i in range(n):
        for j in range(n):
            if event[i] and (time[i] < time[j] or (time[i] == time[j] and not event[j])):
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable


def returns_the_counts(time, event, risk):
    c = _pairs(time, event, risk, _right)
    return c, len(time)


WRONG = {
    with_the_package: ("is your own code", "the package's own answer"),
    counts_censored_first_pairs: ("with censoring", "shorter time is censored"),
    compares_equal_death_times: ("ties in time", "two deaths at the same time"),
    strict_times_only: ("ties in time", "still alive at t"),
    reversed_sign: ("no censoring, no ties", "higher risk means an earlier death"),
    ties_in_risk_count_nothing: ("ties in risk", "one half, not 0"),
    ties_in_risk_count_one: ("ties in risk", "one half, not 1"),
    ignores_censoring: ("with censoring", "use event to tell them apart"),
    divides_by_every_pair: ("with censoring", "not by every pair"),
    flips_a_low_c: ("ranking backwards", "don't flip it"),
    as_a_percentage: ("no censoring, no ties", "not a percentage"),
    rounded: ("no censoring, no ties", "don't round C"),
    roc_auc_of_the_event: ("with censoring", "a pair (i, j) counts when i died"),
    sorts_the_inputs_in_place: ("leaves time and risk unchanged", "sort a copy"),
    labels_not_positions: ("pandas Series", "by position"),
    returns_the_counts: ("no censoring, no ties", "return C itself"),
}

EXERCISE = "harrell_c"


def grade(fn):
    from medinterp.grading import harrell_c_test

    return harrell_c_test(fn)
