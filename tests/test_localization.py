"""Scoring maps against masks: strict and tolerant pointing game, centre baseline, ceiling,
peak distance, energy in the mask, and bad input."""

import cv2
import numpy as np
import pytest

from medinterp.localization import (
    center_pointing_game,
    energy_in_mask,
    peak_distance,
    pointing_ceiling,
    pointing_game,
    reachable_peaks,
)


def test_pointing_game_and_energy():
    cam = np.zeros((8, 8))
    cam[2, 3] = 1.0
    cam[6, 6] = 0.5
    mask = np.zeros((8, 8), bool)
    mask[1:4, 2:5] = True
    assert pointing_game(cam, mask) is True
    assert pointing_game(cam, ~mask) is False
    assert energy_in_mask(cam, mask) == pytest.approx(1 / 1.5)
    assert energy_in_mask(np.zeros((8, 8)), mask) == 0.0
    assert pointing_game(np.zeros((8, 8)), mask) is False
    with pytest.raises(ValueError, match="same shape"):
        pointing_game(cam, mask[:4])


def _upsampled(grid_cam, input_size=128, output_size=256):
    """The path evaluate_localization takes: GradCAM's resize to the input, then to the mask."""
    size = (input_size, input_size)
    at_input = cv2.resize(grid_cam.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    at_input /= at_input.max()
    return cv2.resize(at_input, (output_size, output_size), interpolation=cv2.INTER_LINEAR)


def test_reachable_peaks_one_per_grid_node_at_the_node():
    peaks = reachable_peaks((16, 16), (128, 128), (256, 256))
    rows, columns = np.nonzero(peaks)
    # One pixel per node (not every pixel), inside the node's own 16 px cell.
    assert len(rows) == 16 * 16
    cells = rows // 16 * 16 + columns // 16
    assert sorted(cells) == list(range(256))
    # Inside the image a node's peak is its cell centre (16 k + 7.5), not a corner. On the
    # border the resize replicates the edge node, and the first pixel of that plateau wins.
    inner = (rows > 15) & (rows < 240) & (columns > 15) & (columns < 240)
    assert np.abs(rows[inner] % 16 - 7.5).max() <= 0.5
    assert np.abs(columns[inner] % 16 - 7.5).max() <= 0.5
    assert set(rows[rows < 16]) == {0}
    with pytest.raises(ValueError):
        peaks[0, 0] = True  # shared between callers, so read-only


def test_pointing_ceiling_bounds_every_map():
    rng = np.random.default_rng(3)
    on_node, between_nodes = np.zeros((256, 256), bool), np.zeros((256, 256), bool)
    on_node[38:42, 38:42] = True  # holds the peak pixel of node (2, 2)
    between_nodes[14:18, 30:34] = True  # a 4 px square on a cell corner
    assert pointing_ceiling(on_node, (16, 16), (128, 128)) is True
    assert pointing_ceiling(between_nodes, (16, 16), (128, 128)) is False
    assert pointing_ceiling(between_nodes, (64, 64), (128, 128)) is True
    hits = 0
    for _ in range(200):
        cam = _upsampled(rng.random((16, 16)))
        y, x = rng.integers(20, 236, size=2)
        mask = np.zeros((256, 256), bool)
        cv2.circle(mask.view(np.uint8), (int(x), int(y)), int(rng.integers(2, 12)), 1, -1)
        if pointing_game(cam, mask):
            hits += 1
            assert pointing_ceiling(mask, (16, 16), (128, 128)), (y, x)
    assert hits > 0  # the property was exercised
    with pytest.raises(ValueError, match="2-D"):
        pointing_ceiling(np.zeros((2, 8, 8), bool), (4, 4), (8, 8))


def test_peak_distance():
    cam = np.zeros((8, 8))
    cam[0, 0] = 1.0
    mask = np.zeros((8, 8), bool)
    mask[0, 5:] = True
    assert peak_distance(cam, mask) == pytest.approx(5.0, abs=1e-3)
    mask[3, 0] = True
    assert peak_distance(cam, mask) == pytest.approx(3.0, abs=1e-3)
    assert peak_distance(cam, np.ones((8, 8), bool)) == 0.0
    assert peak_distance(np.zeros((8, 8)), mask) == np.inf
    with pytest.raises(ValueError, match="empty"):
        peak_distance(cam, np.zeros((8, 8), bool))


def _one_peak(shape, y, x):
    cam = np.zeros(shape, np.float32)
    cam[y, x] = 1.0
    return cam


def test_tolerant_pointing_game_counts_near_misses_only():
    mask = np.zeros((64, 64), bool)
    mask[30:34, 30:34] = True
    beside = _one_peak(mask.shape, 32, 44)  # 11 px right of the mask's edge (column 33)
    far = _one_peak(mask.shape, 32, 60)  # 27 px away
    assert pointing_game(beside, mask) is False
    assert pointing_game(beside, mask, tolerance=15) is True
    assert pointing_game(beside, mask, tolerance=10) is False
    assert pointing_game(far, mask, tolerance=15) is False
    # Tolerance never turns a hit into a miss, and an all-zero map points nowhere.
    inside = _one_peak(mask.shape, 31, 31)
    assert pointing_game(inside, mask, tolerance=15) is True
    assert pointing_game(np.zeros((64, 64)), mask, tolerance=100) is False


def test_center_baseline_points_at_the_centre():
    centre, corner = np.zeros((64, 64), bool), np.zeros((64, 64), bool)
    centre[28:36, 28:36] = True
    corner[:8, :8] = True
    assert center_pointing_game(centre) is True
    assert center_pointing_game(corner) is False
    assert center_pointing_game(corner, tolerance=40) is True  # 32 px diagonal away from (7, 7)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c, m: pointing_game(c, m, tolerance=-1), ValueError, ">= 0"),
        (lambda c, m: pointing_game(c, m, tolerance=np.nan), ValueError, "finite"),
        (lambda c, m: pointing_game(c, m, tolerance="15"), TypeError, "number of pixels"),
        (lambda c, m: pointing_game(np.where(c > 0, np.nan, c), m), ValueError, "NaN"),
        (lambda c, m: energy_in_mask(np.full(c.shape, np.nan), m), ValueError, "NaN"),
        (lambda c, m: peak_distance(c, m[None]), ValueError, "2-D"),
        (lambda c, m: pointing_game(c, m.astype(float) * 2), ValueError, "boolean"),
        (lambda c, m: pointing_game(c.astype(str), m), TypeError, "numbers"),
        (lambda c, m: center_pointing_game(m, tolerance=-3), ValueError, ">= 0"),
        (lambda c, m: reachable_peaks((16,), (128, 128), (256, 256)), ValueError, "grid_shape"),
        (lambda c, m: reachable_peaks((16, 0), (128, 128), (256, 256)), ValueError, "positive"),
    ],
)
def test_bad_input_is_refused(call, error, message):
    """A NaN map used to win the pointing game and score 0 energy; now it is refused."""
    cam = _one_peak((8, 8), 2, 2)
    mask = np.zeros((8, 8), bool)
    mask[1:4, 1:4] = True
    with pytest.raises(error, match=message):
        call(cam, mask)
