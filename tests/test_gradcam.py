"""GradCAM engine (hooks on every model structure, exactness, batching, bad input) and the
randomisation sanity check that runs on it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from medinterp.gradcam import (
    GradCAM,
    activation_model,
    conv_layer_names,
    grad_cam,
    last_conv_layer,
)
from medinterp.sanity import cam_similarity, randomize_weights, randomized_in_place


def _conv_stack(x, prefix=""):
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name=prefix + "conv_a")(x)
    x = keras.layers.MaxPooling2D(2, name=prefix + "pool")(x)
    return keras.layers.Conv2D(6, 3, padding="same", activation="relu", name=prefix + "conv_b")(x)


@pytest.fixture(scope="module")
def functional():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = _conv_stack(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(4, activation="sigmoid", name="head")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def sequential():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a"),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_b"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(4, activation="sigmoid", name="head"),
        ]
    )


@pytest.fixture(scope="module")
def nested():
    """A base model used as one layer of a classifier, like DenseNet121 in the course."""
    keras.utils.set_random_seed(2)
    base_inputs = keras.Input((32, 32, 3))
    base = keras.Model(base_inputs, _conv_stack(base_inputs, "base_"), name="base")
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            base,
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(4, activation="sigmoid", name="head"),
        ]
    )


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(3, 32, 32, 3)).astype("float32")


def reference_cam(model, layer_model, image, category):
    """Independent GradCAM: the textbook steps with a fresh tape and numpy."""
    with tf.GradientTape() as tape:
        maps, predictions = layer_model(image)
        score = predictions[0, category]
    gradients = tape.gradient(score, maps).numpy()[0]
    maps = maps.numpy()[0]
    weights = gradients.mean(axis=(0, 1))
    cam = np.maximum((maps * weights).sum(axis=-1), 0)
    cam = tf.image.resize(cam[..., None], image.shape[1:3], method="bilinear").numpy()[..., 0]
    return cam / cam.max() if cam.max() > 0 else cam


def test_conv_layer_names_and_last(functional, sequential, nested):
    assert conv_layer_names(functional) == ["conv_a", "pool", "conv_b"]
    assert last_conv_layer(functional) == "conv_b"
    assert conv_layer_names(sequential) == ["conv_a", "conv_b"]
    assert "base_conv_b" in conv_layer_names(nested)
    assert last_conv_layer(nested) == "base_conv_b"


@pytest.mark.parametrize("fixture", ["functional", "sequential"])
def test_activation_model_outputs_layer_and_predictions(request, fixture, images):
    model = request.getfixturevalue(fixture)
    hook = activation_model(model, "conv_b")
    maps, predictions = hook(images)
    assert maps.shape[-1] == 6 and maps.shape[0] == 3
    np.testing.assert_allclose(predictions, model(images), atol=1e-6)
    assert activation_model(model, "conv_b") is hook  # cached


def test_activation_model_reaches_into_nested_model(nested, images):
    hook = activation_model(nested, "base_conv_b")
    maps, predictions = hook(images)
    assert tuple(maps.shape) == (3, 16, 16, 6)
    np.testing.assert_allclose(predictions, nested(images), atol=1e-6)
    inner_maps = keras.Model(
        nested.layers[0].inputs[0], nested.layers[0].get_layer("base_conv_b").output
    )(images)
    np.testing.assert_allclose(maps, inner_maps, atol=1e-6)


@pytest.mark.parametrize("fixture", ["functional", "sequential", "nested"])
def test_grad_cam_matches_independent_reference(request, fixture, images):
    model = request.getfixturevalue(fixture)
    layer = last_conv_layer(model)
    hook = activation_model(model, layer)
    for category in range(4):
        image = images[:1]
        cam = grad_cam(model, image, category, layer)
        assert cam.shape == (32, 32) and cam.dtype == np.float32
        assert cam.min() >= 0 and cam.max() <= 1
        np.testing.assert_allclose(cam, reference_cam(model, hook, image, category), atol=1e-4)


@pytest.mark.parametrize("fixture", ["functional", "sequential", "nested"])
def test_batched_equals_single(request, fixture, images):
    model = request.getfixturevalue(fixture)
    layer = last_conv_layer(model)
    engine = GradCAM(model)
    classes = [3, 0, 2]
    cams = engine(images, classes)
    assert cams.shape == (3, 3, 32, 32)
    for i in range(3):
        for j, category in enumerate(classes):
            single = grad_cam(model, images[i : i + 1], category, layer)
            np.testing.assert_allclose(cams[i, j], single, atol=1e-4)
    np.testing.assert_allclose(engine.predictions, model(images), atol=1e-6)


def test_batched_engine_is_shared_per_model(functional):
    assert GradCAM.for_model(functional) is GradCAM.for_model(functional, "conv_b")
    assert GradCAM.for_model(functional, "conv_a") is not GradCAM.for_model(functional)


def test_all_zero_cam_is_zeros_not_nan(functional, images):
    dead = keras.models.clone_model(functional)
    dead.set_weights([np.zeros_like(w) for w in functional.get_weights()])
    cam = grad_cam(dead, images[:1], 0, "conv_b")
    assert not np.isnan(cam).any() and (cam == 0).all()
    assert not np.isnan(GradCAM(dead)(images, [0, 1])).any()


@pytest.mark.parametrize("fixture", ["functional", "sequential", "nested"])
def test_the_logit_keeps_the_map_where_the_sigmoid_saturates(request, fixture, images):
    """A bias of +40 saturates every sigmoid (p = 1.0 in float32): the probability's gradient
    and map vanish. The logit's gradient does not depend on the bias, so its map is the
    unsaturated model's map (the probability's gradient is the logit's times the slope, one
    positive number, which dividing by the maximum removes)."""
    model = request.getfixturevalue(fixture)
    saturated = keras.models.clone_model(model)
    weights = model.get_weights()
    saturated.set_weights(weights[:-1] + [weights[-1] + 40.0])
    assert (saturated(images[:1]).numpy() == 1.0).all()
    layer = last_conv_layer(model)
    for category in range(4):
        assert (grad_cam(saturated, images[:1], category, layer) == 0).all()
        logit = grad_cam(saturated, images[:1], category, layer, score="logit")
        plain = grad_cam(model, images[:1], category, layer)
        assert logit.max() == 1
        np.testing.assert_allclose(logit, plain, atol=1e-4)


def test_logit_needs_a_sigmoid_head_and_score_is_checked(functional, images):
    linear = keras.Model(functional.inputs, functional.get_layer("gap").output)
    with pytest.raises(ValueError, match="score='logit' needs a model whose last layer"):
        grad_cam(linear, images[:1], 0, "conv_b", score="logit")
    with pytest.raises(ValueError, match=r"score must be one of \('probability', 'logit'\)"):
        grad_cam(functional, images[:1], 0, "conv_b", score="logits")


def test_relu_keeps_only_positive_evidence(functional, images):
    """Negating the class weights flips the evidence: the two maps cannot overlap."""
    flipped = keras.models.clone_model(functional)
    weights = functional.get_weights()
    flipped.set_weights(weights[:-2] + [-weights[-2], -weights[-1]])
    for category in range(4):
        # conv_a has the input's resolution, so no interpolation blurs the two maps' borders.
        a = grad_cam(functional, images[:1], category, "conv_a")
        b = grad_cam(flipped, images[:1], category, "conv_a")
        assert a.max() == b.max() == 1
        assert not ((a > 0) & (b > 0)).any()


def test_unknown_layer_lists_conv_layers(functional, images):
    with pytest.raises(ValueError, match=r"Valid conv layer names: \['conv_a', 'pool', 'conv_b'\]"):
        grad_cam(functional, images[:1], 0, "conv5_block16_concat")


def test_non_spatial_layer_is_refused(functional, images):
    with pytest.raises(ValueError, match="not a spatial"):
        activation_model(functional, "gap")


@pytest.mark.parametrize(
    ("image", "category", "error", "message"),
    [
        (np.zeros((32, 32, 3)), 0, ValueError, "rank 3"),
        (np.zeros((1, 30, 32, 3)), 0, ValueError, r"expects \(n, 32, 32, 3\)"),
        (np.zeros((1, 32, 32, 1)), 0, ValueError, r"expects \(n, 32, 32, 3\)"),
        (np.zeros((2, 32, 32, 3)), 0, ValueError, "batch size must be 1"),
        (np.zeros((1, 32, 32, 3)), 4, ValueError, r"out of range: the model has 4 outputs, 0..3"),
        (np.zeros((1, 32, 32, 3)), -1, ValueError, "out of range"),
        (np.zeros((1, 32, 32, 3)), "Mass", TypeError, "LABELS.index"),
        (np.zeros((1, 32, 32, 3)), 1.0, TypeError, "must be an integer"),
        (np.full((1, 32, 32, 3), 200, np.uint8), 0, ValueError, "preprocess"),
        (np.full((1, 32, 32, 3), np.nan), 0, ValueError, "NaN or infinite"),
        (np.full((1, 32, 32, 3), np.inf), 0, ValueError, "NaN or infinite"),
        (np.full((1, 32, 32, 3), "a"), 0, TypeError, "float array"),
    ],
)
def test_bad_input(functional, image, category, error, message):
    with pytest.raises(error, match=message):
        grad_cam(functional, image, category, "conv_b")


def test_batched_bad_classes(functional, images):
    engine = GradCAM(functional)
    with pytest.raises(ValueError, match="out of range"):
        engine(images, [0, 9])
    with pytest.raises(ValueError, match="empty"):
        engine(images, [])


def test_unbuilt_sequential_gets_clear_error():
    model = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D()])
    with pytest.raises(ValueError, match="no defined input"):
        conv_layer_names(model)


@pytest.mark.slow
def test_densenet121_course_layer_shape():
    from medinterp.xray import densenet121_model

    model = densenet121_model()
    assert model.inputs[0].shape[1:] == (320, 320, 3)
    assert model.outputs[0].shape[-1] == 14
    hook = activation_model(model, "conv5_block16_concat")
    assert tuple(hook.outputs[0].shape[1:]) == (10, 10, 1024)
    image = np.random.default_rng(0).normal(size=(1, 320, 320, 3)).astype("float32")
    cams = GradCAM(model, "conv5_block16_concat")(image, [0, 13])
    assert cams.shape == (1, 2, 320, 320)
    np.testing.assert_allclose(
        cams[0, 1], grad_cam(model, image, 13, "conv5_block16_concat"), atol=1e-4
    )


def test_randomize_weights_cascades_and_leaves_model_alone(functional, images):
    before = [w.copy() for w in functional.get_weights()]
    randomized = randomize_weights(functional, "conv_b", random_state=0)
    after = functional.get_weights()
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    kept = randomized.get_layer("conv_a").get_weights()
    np.testing.assert_array_equal(kept[0], functional.get_layer("conv_a").get_weights()[0])
    for name in ("conv_b", "head"):
        assert not np.array_equal(
            randomized.get_layer(name).get_weights()[0], functional.get_layer(name).get_weights()[0]
        )
    again = randomize_weights(functional, "conv_b", random_state=0)
    np.testing.assert_array_equal(again.get_weights()[-2], randomized.get_weights()[-2])
    with pytest.raises(ValueError, match="Valid layer names"):
        randomize_weights(functional, "nope")


def test_randomized_in_place_gives_the_copys_weights_then_restores_them(functional, images):
    trained = [w.copy() for w in functional.get_weights()]
    copy = randomize_weights(functional, "conv_b", random_state=3)
    with randomized_in_place(functional, "conv_b", random_state=3) as randomized:
        assert randomized is functional
        for a, b in zip(functional.get_weights(), copy.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(functional(images), copy(images), rtol=1e-6)
    for a, b in zip(functional.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="inside"):
        with randomized_in_place(functional, "conv_b"):
            raise RuntimeError("an error inside the block")
    for a, b in zip(functional.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="Valid layer names"):
        with randomized_in_place(functional, "nope"):
            pass


def test_cam_similarity():
    rng = np.random.default_rng(0)
    cam = rng.random((16, 16))
    assert cam_similarity(cam, cam) == pytest.approx(1.0)
    assert cam_similarity(cam, 1 - cam) == pytest.approx(-1.0)
    assert abs(cam_similarity(cam, rng.random((16, 16)))) < 0.2
    assert cam_similarity(cam, np.zeros((16, 16))) == 0.0
