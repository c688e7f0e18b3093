"""``permute_feature(df, feature)``: correct styles and wrong answers."""
# ruff: noqa: NPY002 - the course's style draws from NumPy's global generator

import random

import numpy as np

from medinterp.importance import permute_feature as package_permute_feature

GLOBAL_RNG = np.random.default_rng(7)

# --- correct --------------------------------------------------------------------------------


def course_style(df, feature):
    permuted_df = df.copy(deep=True)
    permutation = np.random.permutation(len(df))
    permuted_df[feature] = df[feature].to_numpy()[permutation]
    return permuted_df


def pandas_sample_values(df, feature):
    permuted = df.copy()
    permuted[feature] = df[feature].sample(frac=1).values
    return permuted


def permutation_of_values(df, feature):
    permuted = df.copy()
    permuted[feature] = np.random.permutation(df[feature].values)
    return permuted


def shuffle_numpy_copy(df, feature):
    values = df[feature].to_numpy().copy()
    np.random.shuffle(values)
    out = df.copy()
    out[feature] = values
    return out


def loc_assignment(df, feature):
    out = df.copy()
    out.loc[:, feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
    return out


def generator_passed_in(df, feature, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    out = df.copy()
    out[feature] = rng.permutation(df[feature].to_numpy())
    return out


def global_generator(df, feature):
    out = df.copy()
    out[feature] = GLOBAL_RNG.permutation(df[feature].to_numpy())
    return out


def python_random_shuffle(df, feature):
    values = df[feature].tolist()
    random.shuffle(values)
    out = df.copy()
    out[feature] = values
    return out


def assign_with_reset_and_set_index(df, feature):
    out = df.copy()
    shuffled = df[feature].sample(frac=1).reset_index(drop=True)
    shuffled.index = df.index
    out[feature] = shuffled
    return out


def package_function(df, feature):
    return package_permute_feature(df, feature)


def iloc_then_values(df, feature):
    permuted = df.copy()
    permutation = np.random.permutation(len(df))
    permuted[feature] = df[feature].iloc[permutation].to_numpy()
    return permuted


def loc_with_the_index_labels(df, feature):
    permuted = df.copy()
    shuffled_labels = df.index[np.random.permutation(len(df))]
    permuted[feature] = df.loc[shuffled_labels, feature].to_numpy()
    return permuted


CORRECT = [
    course_style,
    pandas_sample_values,
    permutation_of_values,
    shuffle_numpy_copy,
    loc_assignment,
    generator_passed_in,
    global_generator,
    python_random_shuffle,
    assign_with_reset_and_set_index,
    iloc_then_values,
    loc_with_the_index_labels,
]

# --- wrong ----------------------------------------------------------------------------------


def mutates_input(df, feature):
    df[feature] = df[feature].to_numpy()[np.random.permutation(len(df))]
    return df


def permutes_rows(df, feature):
    return df.sample(frac=1)


def permutes_all_columns(df, feature):
    out = df.copy()
    for column in df.columns:
        out[column] = df[column].to_numpy()[np.random.permutation(len(df))]
    return out


def with_replacement(df, feature):
    out = df.copy()
    out[feature] = np.random.choice(df[feature].to_numpy(), len(df), replace=True)
    return out


def fixed_column(df, feature):
    out = df.copy()
    out["age"] = df["age"].to_numpy()[np.random.permutation(len(df))]
    return out


def no_shuffle(df, feature):
    return df.copy()


def returns_series(df, feature):
    return df[feature].sample(frac=1)


def series_realigned(df, feature):
    out = df.copy()
    out[feature] = df[feature].sample(frac=1)  # realigned on the index: nothing moves
    return out


def series_reset_index(df, feature):
    out = df.copy()
    out[feature] = df[feature].sample(frac=1).reset_index(drop=True)  # NaN off a RangeIndex
    return out


def series_iloc_assigned(df, feature):
    permuted = df.copy()
    permutation = np.random.permutation(len(df))
    permuted[feature] = df[feature].iloc[permutation]  # realigned on the index: nothing moves
    return permuted


def loc_with_positions(df, feature):
    permuted = df.copy()
    permutation = np.random.permutation(len(df))
    permuted[feature] = df.loc[permutation, feature].to_numpy()  # positions as index labels
    return permuted


def loc_with_positions_series(df, feature):
    permuted = df.copy()
    permuted[feature] = df.loc[np.random.permutation(len(df)), feature]
    return permuted


def sorts(df, feature):
    out = df.copy()
    out[feature] = np.sort(df[feature].to_numpy())
    return out


def rolls(df, feature):
    out = df.copy()
    out[feature] = np.roll(df[feature].to_numpy(), 3)
    return out


def reverses(df, feature):
    out = df.copy()
    out[feature] = df[feature].to_numpy()[::-1]
    return out


def fixed_random_state(df, feature):
    out = df.copy()
    out[feature] = np.random.RandomState(42).permutation(df[feature].to_numpy())
    return out


def seeds_global(df, feature):
    np.random.seed(0)
    out = df.copy()
    out[feature] = np.random.permutation(df[feature].to_numpy())
    return out


def writes_indices(df, feature):
    out = df.copy()
    out[feature] = np.random.permutation(len(df))
    return out


def resets_index(df, feature):
    out = df.copy().reset_index(drop=True)
    out[feature] = np.random.permutation(out[feature].to_numpy())
    return out


WRONG = {
    package_function: ("is your own code", "the package's own answer"),
    mutates_input: ("leaves the input unchanged", "work on a copy"),
    permutes_rows: ("keeps the rows' index", "keep every row where it is"),
    permutes_all_columns: ("other columns untouched", "not whole rows"),
    with_replacement: ("its own values, each once", "with replacement"),
    fixed_column: ("permutes the feature it is given", "use the feature argument"),
    no_shuffle: ("order changed", "nothing moved"),
    returns_series: ("returns a DataFrame", "whole DataFrame"),
    series_realigned: ("order changed", "realigned it on the index"),
    series_iloc_assigned: ("order changed", "realigned it on the index"),
    loc_with_positions: ("selects the rows by position", "reads the permutation as index labels"),
    loc_with_positions_series: ("selects the rows by position", "as index labels"),
    series_reset_index: ("its own values, each once", "aligns an assigned Series on the index"),
    sorts: ("is random", "sorting or np.roll"),
    rolls: ("is random", "sorting or np.roll"),
    reverses: ("is random", "sorting or np.roll"),
    fixed_random_state: ("two calls give two different orders", "don't fix a seed"),
    seeds_global: ("two calls give two different orders", "don't fix a seed"),
    writes_indices: ("its own values, each once", "permutation's positions"),
    resets_index: ("keeps the rows' index", "keep every row where it is"),
}

EXERCISE = "permute_feature"


def grade(fn):
    from medinterp.grading import permute_feature_test

    return permute_feature_test(fn)
