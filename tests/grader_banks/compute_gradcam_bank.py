"""``compute_gradcam(model, img, mean, std, data_dir, df, labels, selected_labels,
layer_name)``: correct styles and wrong answers. Like a notebook cell, they call the
module-level ``grad_cam`` and ``show_gradcam``; the grader swaps both while grading."""

import os
from pathlib import Path

import numpy as np

from medinterp.display.gradcam import show_gradcam
from medinterp.gradcam import grad_cam
from medinterp.xray import load_image, load_image_normalize


def _size(model):
    return model.inputs[0].shape[1]


# --- correct --------------------------------------------------------------------------------


def course_style(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"):
    size = model.inputs[0].shape[1]
    image = load_image_normalize(os.path.join(data_dir, img), mean, std, H=size, W=size)
    predictions = model.predict(image)  # progress bar and all, as students write it
    cams = [grad_cam(model, image, labels.index(label), layer_name) for label in selected_labels]
    probabilities = [predictions[0][labels.index(label)] for label in selected_labels]
    ground_truth = [df[df["Image"] == img][label].iloc[0] for label in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def loop_and_append(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image_normalize(Path(data_dir) / img, mean, std, H=_size(model), W=_size(model))
    predictions = model.predict(image, verbose=0)
    cams, probabilities, ground_truth = [], [], []
    for label in selected_labels:
        index = labels.index(label)
        cams.append(grad_cam(model, image, index, layer_name))
        probabilities.append(float(predictions[0, index]))
        ground_truth.append(int(df.loc[df["Image"] == img, label].values[0]))
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def keyword_call(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"):
    image = load_image_normalize(f"{data_dir}/{img}", mean, std, _size(model), _size(model))
    predictions = model.predict_on_batch(image)
    row = df.set_index("Image").loc[img]
    return show_gradcam(
        image=image[0],
        cams=np.stack(
            [grad_cam(model, image, labels.index(s), layer_name) for s in selected_labels]
        ),
        probabilities=np.array([predictions[0][labels.index(s)] for s in selected_labels]),
        labels=selected_labels,
        ground_truth=row[list(selected_labels)].tolist(),
    )


def calls_the_model(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    predictions = model(image, training=False).numpy()
    positions = {label: i for i, label in enumerate(labels)}
    cams = [grad_cam(model, image, positions[s], layer_name) for s in selected_labels]
    return show_gradcam(
        image[0], cams, [predictions[0][positions[s]] for s in selected_labels], selected_labels,
        [bool(df[df.Image == img][s].item()) for s in selected_labels],
    )  # fmt: skip


def normalises_by_hand(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    raw = load_image(os.path.join(data_dir, img), _size(model), _size(model))
    image = ((raw - mean) / std)[np.newaxis]
    predictions = model.predict(image, verbose=0)[0]
    row = df[df["Image"] == img]
    probabilities, cams, truth = {}, {}, {}
    for label in selected_labels:
        probabilities[label] = predictions[labels.index(label)]
        cams[label] = grad_cam(model, image, labels.index(label), layer_name)
        truth[label] = row[label].iloc[0]
    return show_gradcam(
        image[0],
        [cams[s] for s in selected_labels],
        [probabilities[s] for s in selected_labels],
        selected_labels,
        [truth[s] for s in selected_labels],
    )


def ground_truth_as_arrays(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    predictions = model.predict(image, verbose=0)
    ground_truth = [
        df[df["Image"] == img][label].values for label in selected_labels
    ]  # arrays of 1
    cams = np.array([grad_cam(model, image, labels.index(s), layer_name) for s in selected_labels])
    probabilities = predictions[0][[labels.index(s) for s in selected_labels]]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def enumerate_style(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    predictions = model.predict(image, verbose=0)
    chosen = [i for i, label in enumerate(labels) if label in selected_labels]
    order = {labels[i]: i for i in chosen}
    cams = [grad_cam(model, image, order[s], layer_name=layer_name) for s in selected_labels]
    probabilities = [predictions[0][order[s]] for s in selected_labels]
    index = df.index[df["Image"] == img][0]
    ground_truth = [df.at[index, s] for s in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth=ground_truth)


def package_gradcam_engine(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    from medinterp.gradcam import GradCAM

    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    engine = GradCAM(model, layer_name)
    indices = [labels.index(s) for s in selected_labels]
    cams = engine(image, indices)[0]
    probabilities = engine.predictions[0][indices]
    ground_truth = df[df["Image"] == img][list(selected_labels)].iloc[0].tolist()
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def string_folder(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"):
    """The course's string concatenation, on a folder turned into a string first."""
    size = model.inputs[0].shape[1]
    image = load_image_normalize(str(data_dir) + os.sep + img, mean, std, H=size, W=size)
    predictions = model.predict(image, verbose=0)
    cams = [grad_cam(model, image, labels.index(label), layer_name) for label in selected_labels]
    probabilities = [predictions[0, labels.index(label)] for label in selected_labels]
    ground_truth = [df[df["Image"] == img][label].item() for label in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def one_row_frame(model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"):
    size = model.inputs[0].shape[1]
    image = load_image_normalize(data_dir / img, mean, std, H=size, W=size)
    predictions = model.predict(image, verbose=0).ravel()
    row = df[df["Image"] == img].iloc[0]
    indices = [labels.index(label) for label in selected_labels]
    return show_gradcam(
        image[0], [grad_cam(model, image, j, layer_name) for j in indices],
        list(predictions[indices]), selected_labels, list(row[list(selected_labels)]),
    )  # fmt: skip


CORRECT = [
    course_style,
    string_folder,
    one_row_frame,
    loop_and_append,
    keyword_call,
    calls_the_model,
    normalises_by_hand,
    ground_truth_as_arrays,
    enumerate_style,
    package_gradcam_engine,
]

# --- wrong ----------------------------------------------------------------------------------


def _variant(
    normalize=True,
    by_position=False,
    reverse=False,
    give_back=True,
    layer=None,
    first_three=False,
    truth="own row",
    per_label_figure=False,
):
    def compute_gradcam(
        model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
    ):
        if not normalize:
            mean, std = 0.0, 1.0
        image = load_image_normalize(
            os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
        )
        predictions = model.predict(image, verbose=0)
        chosen = list(reversed(selected_labels)) if reverse else list(selected_labels)
        chosen = list(labels[:3]) if first_three else chosen
        used_layer = layer or layer_name
        cams, probabilities = [], []
        for position, label in enumerate(chosen):
            index = position if by_position else labels.index(label)
            cams.append(grad_cam(model, image, index, used_layer))
            probabilities.append(predictions[0][index])
        if truth == "own row":
            ground_truth = [df[df["Image"] == img][s].iloc[0] for s in chosen]
        elif truth == "first row":
            ground_truth = [df[s].iloc[0] for s in chosen]
        else:
            ground_truth = None
        if per_label_figure:
            for k in range(len(chosen)):
                figure = show_gradcam(
                    image[0], cams[k : k + 1], probabilities[k : k + 1], chosen[k : k + 1]
                )
            return figure
        figure = show_gradcam(image[0], cams, probabilities, chosen, ground_truth)
        return figure if give_back else None

    return compute_gradcam


not_normalised = _variant(normalize=False)
indexes_by_position = _variant(by_position=True)
labels_reversed = _variant(reverse=True)
returns_nothing = _variant(give_back=False)
ignores_layer_name = _variant(layer="relu")
first_three_labels = _variant(first_three=True)
no_ground_truth = _variant(truth=None)
ground_truth_from_first_row = _variant(truth="first row")
one_figure_per_label = _variant(per_label_figure=True)


def uses_load_image(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image(os.path.join(data_dir, img), _size(model), _size(model))[np.newaxis]
    predictions = model.predict(image, verbose=0)
    cams = [grad_cam(model, image, labels.index(s), layer_name) for s in selected_labels]
    probabilities = [predictions[0][labels.index(s)] for s in selected_labels]
    ground_truth = [df[df["Image"] == img][s].iloc[0] for s in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def one_map_for_all(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    predictions = model.predict(image, verbose=0)
    cam = grad_cam(model, image, labels.index(selected_labels[0]), layer_name)
    cams = [cam for _ in selected_labels]
    probabilities = [predictions[0][labels.index(s)] for s in selected_labels]
    ground_truth = [df[df["Image"] == img][s].iloc[0] for s in selected_labels]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


def _course_with(path=None, size=True, truth=None, probability=None):
    def compute_gradcam(
        model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
    ):
        side = {"H": _size(model), "W": _size(model)} if size else {}
        where = path(data_dir, img) if path else os.path.join(data_dir, img)
        image = load_image_normalize(where, mean, std, **side)
        predictions = model.predict(image, verbose=0)
        cams = [grad_cam(model, image, labels.index(s), layer_name) for s in selected_labels]
        pick = probability or (lambda p, j: p[0][j])
        probabilities = [pick(predictions, labels.index(s)) for s in selected_labels]
        read = truth or (lambda rows, s: rows[s].iloc[0])
        ground_truth = [read(df[df["Image"] == img], s) for s in selected_labels]
        return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)

    return compute_gradcam


ground_truth_series = _course_with(truth=lambda rows, s: rows[s])
ground_truth_one_row_frames = _course_with(truth=lambda rows, s: rows[[s]])
probability_columns = _course_with(probability=lambda p, j: p[:, j])
default_size = _course_with(size=False)
path_plus_string = _course_with(path=lambda folder, img: folder + img)
string_without_separator = _course_with(path=lambda folder, img: str(folder) + img)


def ground_truth_from_predictions(
    model, img, mean, std, data_dir, df, labels, selected_labels, layer_name="relu"
):
    """The truth read off the model (p > 0.5): right wherever the model is right."""
    image = load_image_normalize(
        os.path.join(data_dir, img), mean, std, H=_size(model), W=_size(model)
    )
    predictions = model.predict(image, verbose=0)
    cams = [grad_cam(model, image, labels.index(s), layer_name) for s in selected_labels]
    probabilities = [predictions[0][labels.index(s)] for s in selected_labels]
    ground_truth = [int(p > 0.5) for p in probabilities]
    return show_gradcam(image[0], cams, probabilities, selected_labels, ground_truth)


for _name, _function in list(globals().items()):
    if callable(_function) and getattr(_function, "__name__", "") == "compute_gradcam":
        _function.__name__ = _name  # name each variant for the reports

WRONG = {
    ground_truth_series: ("ground truth", "one-row Series"),
    ground_truth_one_row_frames: ("ground truth", ".iloc[0]"),
    probability_columns: ("labels and probabilities", "not a column predictions[:, j]"),
    default_size: ("crashed", "pass H=size, W=size"),
    path_plus_string: ("crashed", "data_dir is a pathlib.Path"),
    string_without_separator: ("crashed", "lost its separator"),
    not_normalised: ("labels and probabilities", "normalise the image"),
    uses_load_image: ("labels and probabilities", "normalise the image"),
    indexes_by_position: ("labels and probabilities", "labels.index(label)"),
    labels_reversed: ("labels and probabilities", "pass selected_labels, in their order"),
    first_three_labels: ("labels and probabilities", "pass selected_labels, in their order"),
    returns_nothing: ("returns its figure", "return show_gradcam(...)"),
    one_figure_per_label: ("calls show_gradcam once", "once for all labels"),
    ignores_layer_name: ("maps at layer conv3_block8_concat", "pass layer_name on to grad_cam"),
    no_ground_truth: ("ground truth", "pass ground_truth"),
    ground_truth_from_first_row: ("ground truth", "img's own row"),
    ground_truth_from_predictions: ("ground truth", "the model's prediction, not the truth"),
    one_map_for_all: ("maps at layer", "for each label"),
}

EXERCISE = "compute_gradcam"


def grade(fn):
    from medinterp.grading import compute_gradcam_test

    return compute_gradcam_test(fn)
