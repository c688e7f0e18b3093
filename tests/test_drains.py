"""Chest drains in the phantoms: the generator's contract (issue 16, item 1)."""

import cv2
import numpy as np
import pytest

from medinterp import LABELS, phantoms

PNEUMOTHORAX = LABELS.index("Pneumothorax")


@pytest.fixture(scope="module")
def pair():
    """The same 40 patients with a drain each, and without any."""
    with_drains = phantoms.generate(40, seed=31, drain_probability=(1, 1), return_drains=True)
    without = phantoms.generate(40, seed=31, drain_probability=(0, 0), return_drains=True)
    return with_drains, without


def _dilate(mask, pixels):
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def test_no_drains_renders_todays_pixels(pair):
    today = phantoms.generate(40, seed=31)
    assert len(today) == 3  # no 4th array unless asked for
    explicit_none = phantoms.generate(40, seed=31, drain_probability=None, return_drains=True)
    _, without = pair
    for reference, none, zero in zip(today, explicit_none, without, strict=False):
        np.testing.assert_array_equal(none, reference)
        np.testing.assert_array_equal(zero, reference)
    assert not explicit_none[3].any() and not without[3].any()


def test_return_drains_shapes(pair):
    (images, labels, masks, drains), _ = pair
    assert drains.shape == images.shape == (40, 256, 256) and drains.dtype == bool
    assert labels.shape == (40, 14) and masks.shape == (40, 14, 256, 256)
    small = phantoms.generate(3, seed=31, size=64, drain_probability=(1, 1), return_drains=True)
    assert small[3].shape == (3, 64, 64) and small[3].any(axis=(1, 2)).all()


def test_same_patients_with_and_without_a_drain(pair):
    (images, labels, masks, drains), (images_0, labels_0, masks_0, _) = pair
    np.testing.assert_array_equal(labels, labels_0)
    assert drains.any(axis=(1, 2)).all()
    untreated = labels[:, PNEUMOTHORAX] == 0
    assert untreated.sum() > 25
    for i in np.flatnonzero(untreated):
        # Everything but the tube is the same patient, exposure and noise, pixel for pixel.
        change = images[i] != images_0[i]
        assert change.any()
        assert not change[~_dilate(drains[i], 4)].any(), i
        np.testing.assert_array_equal(masks[i], masks_0[i])


def test_masks_cover_the_tube(pair):
    (images, labels, _, drains), (images_0, _, _, _) = pair
    for i in np.flatnonzero(labels[:, PNEUMOTHORAX] == 0):
        change = np.abs(images[i].astype(float) - images_0[i].astype(float))
        # Nearly all of the change is on the mask or its 1-pixel rim (the blurred edge) ...
        assert change[_dilate(drains[i], 1)].sum() > 0.99 * change.sum(), i
        # ... and the tube is radio-opaque: brighter where the mask says it is.
        rise = images[i][drains[i]].astype(float).mean() - images_0[i][drains[i]].mean()
        assert rise > 20, (i, rise)
        # A tube, not a blob: long and thin (4-6 px wide at 256 px).
        assert 200 < drains[i].sum() < 2500, drains[i].sum()


def test_treated_pneumothorax_is_smaller_and_on_the_drains_side(pair):
    (_, labels, masks, drains), (_, _, masks_0, _) = pair
    treated = np.flatnonzero(labels[:, PNEUMOTHORAX] == 1)
    assert len(treated) >= 3
    for i in treated:
        before, after = masks_0[i, PNEUMOTHORAX], masks[i, PNEUMOTHORAX]
        assert after.any() and after.sum() < 0.75 * before.sum(), (i, after.sum(), before.sum())
        side = np.sign(np.mean(np.nonzero(after)[1]) - 128)
        assert np.sign(np.mean(np.nonzero(drains[i])[1]) - 128) == side, i


def test_drains_vary_in_side_and_course(pair):
    (_, labels, _, drains), _ = pair
    untreated = drains[labels[:, PNEUMOTHORAX] == 0]
    columns = np.array([np.mean(np.nonzero(d)[1]) for d in untreated])
    rows = np.array([np.mean(np.nonzero(d)[0]) for d in untreated])
    assert (columns < 128).sum() >= 5 and (columns > 128).sum() >= 5  # both sides
    assert rows.std() > 5 and len({d.tobytes() for d in untreated}) == len(untreated)


def test_drain_probability_follows_the_label():
    _, labels, _, drains = phantoms.generate(
        300, seed=32, drain_probability=(1.0, 0.0), return_drains=True
    )
    np.testing.assert_array_equal(drains.any(axis=(1, 2)), labels[:, PNEUMOTHORAX] == 1)
    _, labels, _, drains = phantoms.generate(
        300, seed=32, size=32, drain_probability=(0.9, 0.05), return_drains=True
    )
    has_drain, positive = drains.any(axis=(1, 2)), labels[:, PNEUMOTHORAX] == 1
    assert has_drain[positive].mean() > 0.7
    assert 0.01 < has_drain[~positive].mean() < 0.12


def test_drains_are_prefix_stable_and_own_their_stream():
    full = phantoms.generate(8, seed=33, drain_probability=(0.5, 0.5), return_drains=True)
    tail = phantoms.generate(3, seed=33, start=5, drain_probability=(0.5, 0.5), return_drains=True)
    for a, b in zip(full, tail, strict=True):
        np.testing.assert_array_equal(a[5:], b)
    # A patient who gets a drain at a lower probability gets the same drain at a higher one.
    low = phantoms.generate(8, seed=33, drain_probability=(0.3, 0.3), return_drains=True)[3]
    for low_mask, high_mask in zip(low, full[3], strict=True):
        if low_mask.any():
            np.testing.assert_array_equal(low_mask, high_mask)


def test_render_matches_generate():
    images, labels, masks, drains = phantoms.generate(
        3, seed=34, start=2, drain_probability=(1, 1), return_drains=True
    )
    image, label, mask, drain = phantoms.render(34, 4, drain_probability=(1, 1), return_drain=True)
    np.testing.assert_array_equal(image, images[2])
    np.testing.assert_array_equal(drain, drains[2])
    assert len(phantoms.render(34, 4, drain_probability=(1, 1))) == 3


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ((1.2, 0.0), ValueError, r"p_if_pneumothorax .*\[0, 1\]"),
        ((0.5, -0.1), ValueError, r"p_otherwise .*\[0, 1\]"),
        ((float("nan"), 0.0), ValueError, r"\[0, 1\]"),
        ((0.5,), ValueError, "pair"),
        ((0.5, 0.1, 0.2), ValueError, "pair"),
        (0.5, TypeError, "pair"),
        ("ab", TypeError, "pair"),
        ((True, 0.0), TypeError, "number"),
        (("0.9", 0.1), TypeError, "number"),
    ],
)
def test_bad_drain_probability_is_refused(value, error, match):
    with pytest.raises(error, match=match) as raised:
        phantoms.generate(1, seed=0, drain_probability=value)
    assert "drain_probability" in str(raised.value)
    with pytest.raises(error, match=match):
        phantoms.render(0, 0, drain_probability=value)


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="return_drains"):
        phantoms.generate(1, seed=0, drain_probability=(1, 1), return_drains="yes")
    with pytest.raises(TypeError, match="return_drain"):
        phantoms.render(0, 0, return_drain=1)
    for name, kwargs in (("n", {"n": 2.0}), ("seed", {"n": 1, "seed": "0"}),
                         ("size", {"n": 1, "size": 64.0})):  # fmt: skip
        with pytest.raises(TypeError, match=name):
            phantoms.generate(**kwargs)
    with pytest.raises(ValueError, match="size"):
        phantoms.generate(1, size=0)
    with pytest.raises(TypeError, match="findings"):
        phantoms.render(0, 0, findings="Mass")
