"""medinterp.saliency: the six methods and three baselines, their errors, and Integrated
Gradients' completeness."""

import numpy as np
import pytest

from medinterp.saliency import (
    ALL_METHODS,
    BASELINES,
    COMPLETENESS_TOLERANCE,
    METHODS,
    baseline_images,
    integrated_gradients_attributions,
    saliency_maps,
    score_model,
)

SIZE = 16


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 1.0, (2, SIZE, SIZE, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def shipped():
    from medinterp import phantoms
    from medinterp.xray import load_xray_model, preprocess

    images, labels, _ = phantoms.generate(2, seed=11)
    return load_xray_model(), preprocess(images), labels


def test_score_model_returns_the_logit(quadrant_model, images):
    logits = np.asarray(score_model(quadrant_model)(images))
    probabilities = np.asarray(quadrant_model(images))
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probabilities, atol=1e-6)
    np.testing.assert_allclose(logits[:, 0], images[:, :8, :8].sum((1, 2, 3)) / 64, rtol=1e-5)
    assert score_model(quadrant_model) is score_model(quadrant_model)  # built once


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_gives_unit_maps_per_image_and_class(quadrant_model, images, method):
    maps = saliency_maps(quadrant_model, images, [0, 1], method, random_state=0)
    assert maps.shape == (2, 2, SIZE, SIZE) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 and np.isfinite(maps).all()


@pytest.mark.parametrize("method", ["gradient", "smoothgrad", "integrated_gradients"])
def test_gradient_methods_see_only_the_quadrant_the_score_reads(quadrant_model, images, method):
    maps = saliency_maps(quadrant_model, images, [0, 1], method, random_state=0)
    outside = np.ones((SIZE, SIZE), bool)
    outside[:8, :8] = False
    assert np.all(maps[..., outside] == 0) and np.all(maps[..., ~outside] > 0)


def test_gradient_is_uniform_for_a_linear_score(quadrant_model, images):
    maps = saliency_maps(quadrant_model, images, 0, "gradient")
    np.testing.assert_allclose(maps[:, 0, :8, :8], 1.0, atol=1e-6)


def test_occlusion_scores_the_drop_of_the_class_it_explains(quadrant_model, images):
    maps = saliency_maps(quadrant_model, images, [0, 1], "occlusion", patch=4, stride=4)
    assert maps[:, 0, :8, :8].min() > 0 and maps[:, 0, 8:, :].max() == 0
    # Occluding bright pixels raises class 1's score: no positive evidence, an all-zero map.
    assert maps[:, 1].max() == 0


def test_integrated_gradients_is_exact_for_a_linear_score(quadrant_model, images):
    result = integrated_gradients_attributions(quadrant_model, images, [0, 1], n_steps=3)
    start = baseline_images(images, "black")
    np.testing.assert_allclose(
        result.attributions[:, 0, :8, :8], (images - start)[:, :8, :8] / 64, rtol=1e-4
    )
    np.testing.assert_allclose(
        result.attributions.sum((2, 3, 4)), result.image_scores - result.baseline_scores,
        atol=1e-5,
    )  # fmt: skip


def test_baselines_ignore_the_model(quadrant_model, images):
    for method in BASELINES:
        maps = saliency_maps(quadrant_model, images, [0, 1], method, random_state=3)
        np.testing.assert_array_equal(maps[:, 0], maps[:, 1])
    centre = saliency_maps(quadrant_model, images, 0, "centre")[0, 0]
    assert np.unravel_index(np.argmax(centre), centre.shape) in [(7, 7), (7, 8), (8, 7), (8, 8)]
    first = saliency_maps(quadrant_model, images, 0, "random", random_state=1)
    again = saliency_maps(quadrant_model, images, 0, "random", random_state=1)
    np.testing.assert_array_equal(first, again)
    flat = np.full((1, SIZE, SIZE, 3), 0.5, np.float32)
    assert saliency_maps(quadrant_model, flat, 0, "edges").max() == 0  # no edge, no map


def test_blurred_baseline_keeps_brightness_and_loses_detail(images):
    blurred = baseline_images(images, "blurred")
    assert blurred.shape == images.shape
    assert abs(blurred.mean() - images.mean()) < 0.05 and blurred.std() < images.std() / 2
    assert np.all(
        baseline_images(images, "black") == images.min(axis=(1, 2, 3))[:, None, None, None]
    )


# --- bad input ------------------------------------------------------------------------------


def test_unknown_method_lists_them(quadrant_model, images):
    with pytest.raises(ValueError, match="Unknown method 'lime'") as error:
        saliency_maps(quadrant_model, images, 0, "lime")
    for name in METHODS + BASELINES:
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("method", "options", "error", "words"),
    [
        ("smoothgrad", {"n_sample": 3}, TypeError, "takes only"),
        ("gradient", {"n_steps": 3}, TypeError, "takes no options"),
        ("smoothgrad", {"n_samples": 0}, ValueError, "n_samples"),
        ("smoothgrad", {"noise_level": 2.0}, ValueError, "noise_level"),
        ("smoothgrad", {"noise_level": "high"}, TypeError, "noise_level"),
        ("integrated_gradients", {"n_steps": 2.5}, TypeError, "n_steps"),
        ("integrated_gradients", {"baseline": "white"}, ValueError, "Valid baselines"),
        ("occlusion", {"patch": 99}, ValueError, "patch"),
        ("occlusion", {"stride": 0}, ValueError, "stride"),
        ("gradient", {"layer_name": "conv"}, ValueError, "layer_name"),
        ("random", {"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_bad_options_name_the_argument(quadrant_model, images, method, options, error, words):
    with pytest.raises(error, match=words):
        saliency_maps(quadrant_model, images, 0, method, **options)


@pytest.mark.parametrize(
    ("images_value", "classes", "error", "words"),
    [
        (np.zeros((1, SIZE, SIZE, 3), np.uint8), 0, TypeError, "float batch"),
        (np.zeros((SIZE, SIZE, 3), np.float32), 0, ValueError, "shape"),
        (np.full((1, SIZE, SIZE, 3), np.nan, np.float32), 0, ValueError, "NaN"),
        (np.zeros((1, SIZE, SIZE, 3), np.float32), 5, ValueError, "out of range"),
        (np.zeros((1, SIZE, SIZE, 3), np.float32), "Mass", TypeError, "LABELS.index"),
        (np.zeros((1, SIZE, SIZE, 3), np.float32), [], ValueError, "empty"),
    ],
)
def test_bad_images_and_classes(quadrant_model, images_value, classes, error, words):
    with pytest.raises(error, match=words):
        saliency_maps(quadrant_model, images_value, classes, "gradient")


def test_inputs_are_not_changed(quadrant_model, images):
    before = images.copy()
    for method in ("smoothgrad", "integrated_gradients", "occlusion"):
        saliency_maps(quadrant_model, images, 0, method, random_state=0)
    np.testing.assert_array_equal(images, before)


# --- the shipped model ----------------------------------------------------------------------


@pytest.mark.slow
def test_completeness_at_the_default_steps_and_convergence(shipped):
    model, batch, _ = shipped
    classes = [0, 5, 6]

    def errors(**options):
        result = integrated_gradients_attributions(model, batch, classes, **options)
        delta = result.image_scores - result.baseline_scores
        return np.abs(result.attributions.sum((2, 3, 4)) - delta) / (1 + np.abs(delta))

    for baseline in ("black", "blurred"):
        assert errors(baseline=baseline).max() <= COMPLETENESS_TOLERANCE, baseline
    assert errors(n_steps=128).max() < errors(n_steps=8).max()


@pytest.mark.slow
def test_gradcam_of_the_score_is_gradcam_of_the_probability_when_not_saturated(shipped):
    from medinterp.gradcam import GradCAM

    model, batch, _ = shipped
    ours = saliency_maps(model, batch, [0, 6], "gradcam")
    probability = GradCAM.for_model(model)(batch, [0, 6])
    np.testing.assert_allclose(ours, probability, atol=1e-3)


@pytest.mark.slow
def test_gradcam_plus_plus_differs_from_gradcam_and_is_seeded_smoothgrad(shipped):
    model, batch, _ = shipped
    plus = saliency_maps(model, batch, [6], "gradcam++")
    plain = saliency_maps(model, batch, [6], "gradcam")
    assert plus.shape == plain.shape and np.abs(plus - plain).max() > 0.05
    first = saliency_maps(model, batch[:1], [6], "smoothgrad", random_state=4, n_samples=3)
    again = saliency_maps(model, batch[:1], [6], "smoothgrad", random_state=4, n_samples=3)
    np.testing.assert_array_equal(first, again)
