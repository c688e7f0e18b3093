"""``permutation_importance(X, y, model, metric, num_samples=100)``: correct styles and
wrong answers. Answers call ``permute_feature`` as the notebook's do; the grader swaps in
its reference while grading, so these answers are graded on their own code."""
# ruff: noqa: NPY002 - the course's style draws from NumPy's global generator

import statistics

import numpy as np
import pandas as pd


def permute_feature(df, feature):
    permuted = df.copy()
    permuted[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
    return permuted


# --- correct --------------------------------------------------------------------------------


def course_style(X, y, model, metric, num_samples=100):
    importances = pd.DataFrame(index=["importance"], columns=X.columns)
    baseline_performance = metric(y, model.predict_proba(X)[:, 1])
    for feature in X.columns:
        feature_performance_arr = np.zeros(num_samples)
        for sample in range(num_samples):
            permuted_X = permute_feature(X, feature)
            feature_performance_arr[sample] = metric(y, model.predict_proba(permuted_X)[:, 1])
        importances.loc["importance", feature] = baseline_performance - np.mean(
            feature_performance_arr
        )
    return importances.astype(float)


def list_comprehensions(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    values = [
        baseline
        - np.mean(
            [
                metric(y, model.predict_proba(permute_feature(X, f))[:, 1])
                for _ in range(num_samples)
            ]
        )
        for f in X.columns
    ]
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def dict_of_importances(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    result = {}
    for feature in X.columns:
        scores = []
        for _ in range(num_samples):
            scores.append(metric(y, model.predict_proba(permute_feature(X, feature))[:, 1]))
        result[feature] = baseline - statistics.mean(scores)
    return pd.DataFrame(result, index=["importance"])


def own_shuffle_on_numpy(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    out = pd.DataFrame(index=["importance"], columns=X.columns, dtype=float)
    for j, feature in enumerate(X.columns):
        drops = []
        for _ in range(num_samples):
            values = X.to_numpy().copy()
            np.random.shuffle(values[:, j])
            permuted = pd.DataFrame(values, index=X.index, columns=X.columns)
            drops.append(baseline - metric(y, model.predict_proba(permuted)[:, 1]))
        out[feature] = np.mean(drops)  # the mean of signed drops is baseline - mean score
    return out


def generator_and_series(X, y, model, metric, num_samples=100):
    rng = np.random.default_rng()
    baseline = metric(y, model.predict_proba(X)[:, 1])
    importance = pd.Series(index=X.columns, dtype=float)
    for feature in X.columns:
        performance = np.empty(num_samples)
        for i in range(num_samples):
            permuted = X.copy()
            permuted[feature] = rng.permutation(X[feature].to_numpy())
            performance[i] = metric(y, model.predict_proba(permuted)[:, 1])
        importance[feature] = baseline - performance.mean()
    return importance.to_frame("importance").T


def at_accessor(X, y, model, metric, num_samples=100):
    importances = pd.DataFrame(0.0, index=["importance"], columns=X.columns)
    baseline = metric(y, model.predict_proba(X)[:, 1])
    for feature in X.columns:
        total = 0.0
        for _ in range(num_samples):
            total += metric(y, model.predict_proba(permute_feature(X, feature))[:, 1])
        importances.at["importance", feature] = baseline - total / num_samples
    return importances


def numpy_input_to_model(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X.to_numpy())[:, 1])
    values = []
    for feature in X.columns:
        scores = [
            metric(y, model.predict_proba(permute_feature(X, feature).to_numpy())[:, 1])
            for _ in range(num_samples)
        ]
        values.append(baseline - np.mean(scores))
    return pd.DataFrame(np.array(values)[None, :], index=["importance"], columns=X.columns)


def keyword_arguments_and_y_values(X, y, model, metric, num_samples=100):
    y_true = np.asarray(y)
    baseline = metric(y_true=y_true, scores=model.predict_proba(X)[:, 1])
    importances = {}
    for feature in X.columns:
        scores = np.array([
            metric(y_true=y_true, scores=model.predict_proba(permute_feature(X, feature))[:, 1])
            for _ in range(num_samples)
        ])  # fmt: skip
        importances[feature] = [baseline - scores.mean()]
    return pd.DataFrame(importances, index=["importance"])


def one_stacked_call_per_feature(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    importances = pd.DataFrame(index=["importance"], columns=X.columns, dtype=float)
    for feature in X.columns:
        copies = pd.concat([permute_feature(X, feature) for _ in range(num_samples)])
        scores = model.predict_proba(copies)[:, 1].reshape(num_samples, len(X))
        importances[feature] = baseline - np.mean([metric(y, row) for row in scores])
    return importances


def one_stacked_call_for_everything(X, y, model, metric, num_samples=100):
    copies = [X] + [permute_feature(X, f) for f in X.columns for _ in range(num_samples)]
    scores = model.predict_proba(np.vstack([c.to_numpy() for c in copies]))[:, 1]
    scores = scores.reshape(len(copies), len(X))
    baseline = metric(y, scores[0])
    drops = baseline - np.array([metric(y, row) for row in scores[1:]])
    means = drops.reshape(X.shape[1], num_samples).mean(axis=1)
    return pd.DataFrame([means], index=["importance"], columns=X.columns)


CORRECT = [
    course_style,
    one_stacked_call_per_feature,
    one_stacked_call_for_everything,
    list_comprehensions,
    dict_of_importances,
    own_shuffle_on_numpy,
    generator_and_series,
    at_accessor,
    numpy_input_to_model,
    keyword_arguments_and_y_values,
]


def wraps_the_package(X, y, model, metric, num_samples=100):
    importance = __import__("medinterp.imp" + "ortance", fromlist=["_"])  # hidden from a reader
    return importance.permutation_importance(X, y, model, metric, num_samples=num_samples)


# --- wrong ----------------------------------------------------------------------------------


def _loop(X, y, model, metric, num_samples, combine, score=lambda m, X: m.predict_proba(X)[:, 1]):
    baseline = metric(y, score(model, X))
    values = []
    for feature in X.columns:
        scores = [metric(y, score(model, permute_feature(X, feature))) for _ in range(num_samples)]
        values.append(combine(baseline, np.array(scores)))
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def takes_abs(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: abs(b - s.mean()))


def reversed_sign(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: s.mean() - b)


def mean_of_absolute_drops(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: np.mean(np.abs(b - s)))


def ratio_to_baseline(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: (b - s.mean()) / b)


def no_subtraction(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: s.mean())


def hard_labels(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: b - s.mean(),
                 score=lambda m, X: m.predict(X))  # fmt: skip


def negative_class(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, num_samples, lambda b, s: b - s.mean(),
                 score=lambda m, X: m.predict_proba(X)[:, 0])  # fmt: skip


def ignores_num_samples(X, y, model, metric, num_samples=100):
    return _loop(X, y, model, metric, 10, lambda b, s: b - s.mean())


def one_permutation_reused(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    values = []
    for feature in X.columns:
        permuted = permute_feature(X, feature)  # drawn once, scored num_samples times
        scores = [metric(y, model.predict_proba(permuted)[:, 1]) for _ in range(num_samples)]
        values.append(baseline - np.mean(scores))
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def never_permutes(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    values = [
        baseline - np.mean([metric(y, model.predict_proba(X)[:, 1]) for _ in range(num_samples)])
        for _ in X.columns
    ]
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def permutes_whole_rows(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    values = []
    for _feature in X.columns:
        scores = [
            metric(y, model.predict_proba(X.sample(frac=1).reset_index(drop=True))[:, 1])
            for _ in range(num_samples)
        ]
        values.append(baseline - np.mean(scores))
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def mutates_X(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    values = []
    for feature in X.columns:
        original = X[feature].to_numpy().copy()
        scores = []
        for _ in range(num_samples):
            X[feature] = np.random.permutation(original)
            scores.append(metric(y, model.predict_proba(X)[:, 1]))
        values.append(baseline - np.mean(scores))
    return pd.DataFrame([values], index=["importance"], columns=X.columns)


def stacked_rows_misread(X, y, model, metric, num_samples=100):
    baseline = metric(y, model.predict_proba(X)[:, 1])
    importances = pd.DataFrame(index=["importance"], columns=X.columns, dtype=float)
    for feature in X.columns:
        copies = pd.concat([permute_feature(X, feature) for _ in range(num_samples)])
        # Wrong axis order: each "copy" mixes people from every permuted copy.
        scores = model.predict_proba(copies)[:, 1].reshape(len(X), num_samples).T
        importances[feature] = baseline - np.mean([metric(y, row) for row in scores])
    return importances


def columns_shifted(X, y, model, metric, num_samples=100):
    result = course_style(X, y, model, metric, num_samples)
    return pd.DataFrame(
        np.roll(result.to_numpy(), 1, axis=1), index=result.index, columns=result.columns
    )


def returns_series(X, y, model, metric, num_samples=100):
    return course_style(X, y, model, metric, num_samples).loc["importance"]


def transposed(X, y, model, metric, num_samples=100):
    return course_style(X, y, model, metric, num_samples).T


WRONG = {
    wraps_the_package: ("is your own code", "the package's own answer"),
    takes_abs: ("baseline - mean permuted score", "abs()"),
    reversed_sign: ("baseline - mean permuted score", "the other way round"),
    mean_of_absolute_drops: ("baseline - mean permuted score", "the absolute drops"),
    ratio_to_baseline: ("baseline - mean permuted score", "don't divide by the baseline"),
    no_subtraction: ("baseline - mean permuted score", "you returned the mean score"),
    hard_labels: ("scores predict_proba(X)[:, 1]", "not the hard labels"),
    negative_class: ("scores predict_proba(X)[:, 1]", "positive class"),
    ignores_num_samples: ("num_samples permuted scores per feature", "range(num_samples)"),
    one_permutation_reused: ("a new permutation for every sample", "inside the sample loop"),
    never_permutes: ("num_samples permuted scores per feature", "score the permuted copy"),
    permutes_whole_rows: ("num_samples permuted scores per feature", "one column at a time"),
    mutates_X: ("leaves X and y unchanged", "never change X"),
    stacked_rows_misread: ("scores predict_proba(X)[:, 1]", "blocks of len(X) rows"),
    columns_shifted: ("baseline - mean permuted score", "another feature's column"),
    returns_series: ("returns a DataFrame", "one-row DataFrame"),
    transposed: ("index ['importance']", "one value per column"),
}

EXERCISE = "permutation_importance"


def grade(fn):
    from medinterp.grading import permutation_importance_test
    from medinterp.metrics import cindex

    return permutation_importance_test(fn, cindex)
