"""``class_one_values(raw)``: correct styles and wrong answers."""

import numpy as np

# --- correct --------------------------------------------------------------------------------


def course_style(raw):
    values = raw[1] if isinstance(raw, list) else np.asarray(raw)[:, :, 1]
    return values


def ellipsis_index(raw):
    if isinstance(raw, list):
        return raw[1]
    return raw[..., 1]


def take_last_axis(raw):
    if isinstance(raw, (list, tuple)):
        return np.asarray(raw[1])
    return np.take(raw, 1, axis=-1)


def stack_the_list(raw):
    array = np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw)
    return array[:, :, 1]


def by_dimension(raw):
    array = np.asarray(raw)
    if isinstance(raw, list):
        return array[1]
    if array.ndim == 3:
        return array[:, :, -1]
    raise ValueError("unknown format")


def move_class_axis_first(raw):
    array = np.asarray(raw) if isinstance(raw, list) else np.moveaxis(raw, -1, 0)
    return array[1]


def try_the_array_first(raw):
    try:
        return raw[:, :, 1]
    except TypeError:  # a list has no 3-D indexing
        return raw[1]


def pops_from_a_copy(raw):
    if isinstance(raw, list):
        return list(raw).pop(1)
    return np.asarray(raw)[..., 1]


def explanation_style_take(raw):
    array = np.stack(raw, axis=-1) if isinstance(raw, list) else raw
    return np.take(array, indices=1, axis=2)


def float64_copy(raw):
    chosen = raw[1] if type(raw) is list else raw[:, :, 1]
    return np.array(chosen, dtype=np.float64, copy=True)


CORRECT = [
    course_style,
    ellipsis_index,
    take_last_axis,
    stack_the_list,
    by_dimension,
    move_class_axis_first,
    try_the_array_first,
    float64_copy,
    pops_from_a_copy,
    explanation_style_take,
]

# --- wrong ----------------------------------------------------------------------------------


def old_indexing_always(raw):
    return np.asarray(raw[1])


def new_indexing_always(raw):
    return np.asarray(raw)[:, :, 1]


def class_zero(raw):
    return raw[0] if isinstance(raw, list) else raw[:, :, 0]


def class_zero_in_the_array_only(raw):
    return raw[1] if isinstance(raw, list) else raw[:, :, 0]


def sums_the_classes(raw):
    return np.sum(np.stack(raw, -1) if isinstance(raw, list) else raw, axis=-1)


def averages_the_classes(raw):
    return np.mean(np.stack(raw, -1) if isinstance(raw, list) else raw, axis=-1)


def absolute_values(raw):
    return np.abs(raw[1] if isinstance(raw, list) else raw[:, :, 1])


def transposed(raw):
    return (raw[1] if isinstance(raw, list) else raw[:, :, 1]).T


def returns_raw(raw):
    return raw


def first_person_only(raw):
    return (raw[1] if isinstance(raw, list) else raw[:, :, 1])[:1]


def overwrites_the_other_class(raw):
    values = raw[1] if isinstance(raw, list) else raw[:, :, 1]
    values = np.array(values)
    if isinstance(raw, list):
        raw[0] = values
    else:
        raw[:, :, 0] = values
    return values


def difference_of_classes(raw):
    array = np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw)
    return array[:, :, 1] - array[:, :, 0]


def pops_class_one(raw):
    if isinstance(raw, list):
        return raw.pop(1)
    return raw[:, :, 1]


def deletes_class_zero(raw):
    if isinstance(raw, list):
        del raw[0]
        return raw[0]
    return raw[..., 1]


def ellipsis_always(raw):
    return raw[..., 1]


def new_indexing_without_asarray(raw):
    return raw[:, :, 1]


def asarray_then_ellipsis(raw):
    return np.asarray(raw)[..., 1]


def text(raw):
    return "class 1"


WRONG = {
    old_indexing_always: ("3-D array (shap >= 0.45)", "raw[1] on shap >= 0.45"),
    new_indexing_always: ("list of per-class arrays", "tells the two formats apart"),
    class_zero: ("class 1's values", "explain class 0"),
    class_zero_in_the_array_only: ("3-D array (shap >= 0.45)", "explain class 0"),
    sums_the_classes: ("class 1's values", "don't combine the two classes"),
    averages_the_classes: ("class 1's values", "don't combine the two classes"),
    absolute_values: ("class 1's values", "keep the sign"),
    transposed: ("class 1's values", "(people, features)"),
    returns_raw: ("class 1's values", "return class 1's values as they are"),
    first_person_only: ("class 1's values", "return class 1's values as they are"),
    text: ("returns numbers", "an array"),
    pops_class_one: ("list of per-class arrays (shap < 0.45): leaves raw unchanged", "raw.pop()"),
    deletes_class_zero: ("leaves raw unchanged", "change the caller's list"),
    ellipsis_always: ("list of per-class arrays", "shap < 0.45's list takes one index"),
    new_indexing_without_asarray: ("list of per-class arrays", "isinstance(raw, list)"),
    asarray_then_ellipsis: ("list of per-class arrays", "puts the class first"),
    overwrites_the_other_class: ("leaves raw unchanged", "don't write into raw"),
    difference_of_classes: ("class 1's values", "don't combine the two classes"),
}

EXERCISE = "class_one_values"


def grade(fn):
    from medinterp.grading import class_one_values_test

    return class_one_values_test(fn)
