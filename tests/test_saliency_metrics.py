"""Saliency metrics: each scores a right map high and a wrong one low."""

import numpy as np
import pytest

from medinterp.saliency_metrics import map_ssim, otsu_mask, pixel_auprc, threshold_iou


@pytest.fixture
def mask():
    mask = np.zeros((64, 64), bool)
    mask[10:26, 8:24] = True  # a finding on the left, 6 % of the image
    return mask


def _blob(centre, shape=(64, 64), sigma=6.0):
    rows, columns = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((rows - centre[0]) ** 2 + (columns - centre[1]) ** 2) / (2 * sigma**2))


def test_auprc_high_on_the_finding_and_near_the_area_share_on_the_wrong_side(mask):
    assert pixel_auprc(_blob((18, 16)), mask) > 0.8
    assert pixel_auprc(mask.astype(float), mask) == pytest.approx(1.0)
    wrong_side = pixel_auprc(_blob((18, 48)), mask)
    assert wrong_side < 2 * mask.mean()
    random = np.random.default_rng(0).random(mask.shape)
    assert pixel_auprc(random, mask) == pytest.approx(mask.mean(), abs=0.02)


def test_iou_high_on_the_finding_and_zero_on_the_wrong_side(mask):
    assert threshold_iou(mask.astype(float), mask) == pytest.approx(1.0)
    assert threshold_iou(_blob((18, 16)), mask) > 0.4
    assert threshold_iou(_blob((18, 48)), mask) == 0.0
    assert threshold_iou(np.zeros(mask.shape), mask) == 0.0  # a constant map marks nothing
    assert not otsu_mask(np.ones((4, 4))).any()


def test_ssim_one_for_the_same_map_and_low_for_unrelated_ones(mask):
    blob = _blob((18, 16))
    assert map_ssim(blob, blob) == pytest.approx(1.0)
    noise = np.random.default_rng(1).random(mask.shape)
    assert map_ssim(blob, noise) < 0.2
    assert map_ssim(blob, _blob((18, 48))) < map_ssim(blob, _blob((20, 18)))


@pytest.mark.parametrize(
    ("function", "arguments", "error", "words"),
    [
        (pixel_auprc, (np.zeros((4, 4)), np.zeros((4, 4), bool)), ValueError, "empty"),
        (pixel_auprc, (np.zeros((4, 5)), np.ones((4, 4), bool)), ValueError, "same shape"),
        (threshold_iou, (np.full((4, 4), np.nan), np.ones((4, 4), bool)), ValueError, "NaN"),
        (map_ssim, (np.zeros((4, 4)), np.zeros((4, 5))), ValueError, "one shape"),
    ],
)
def test_bad_input(function, arguments, error, words):
    with pytest.raises(error, match=words):
        function(*arguments)
