import cv2
import numpy as np
import pytest

from medinterp import phantoms
from medinterp.labels import LABELS
from medinterp.phantoms.anatomy import sample_anatomy
from medinterp.phantoms.findings import RENDERERS


@pytest.fixture(scope="module")
def batch():
    return phantoms.generate(60, seed=11)


def test_shapes_and_types(batch):
    images, labels, masks = batch
    assert images.shape == (60, 256, 256) and images.dtype == np.uint8
    assert labels.shape == (60, 14) and set(np.unique(labels)) <= {0, 1}
    assert masks.shape == (60, 14, 256, 256) and masks.dtype == bool
    assert len(LABELS) == 14 and LABELS[0] == "Cardiomegaly" and LABELS[-1] == "Consolidation"


def test_masks_exist_exactly_for_present_findings(batch):
    _, labels, masks = batch
    np.testing.assert_array_equal(masks.any(axis=(2, 3)), labels.astype(bool))


def test_deterministic_and_prefix_stable(batch):
    again = phantoms.generate(60, seed=11)
    for a, b in zip(batch, again, strict=True):
        np.testing.assert_array_equal(a, b)
    images, labels, masks = phantoms.generate(5, seed=11, start=20)
    np.testing.assert_array_equal(images, batch[0][20:25])
    np.testing.assert_array_equal(masks, batch[2][20:25])
    other = phantoms.generate(5, seed=12)[0]
    assert not np.array_equal(other, batch[0][:5])


def test_patients_vary(batch):
    images = batch[0].astype(float)
    differences = [np.abs(images[i] - images[i + 1]).mean() for i in range(10)]
    assert min(differences) > 5  # size, position, rotation, exposure and noise differ


def test_prevalence_is_plausible():
    labels = phantoms.generate(400, seed=5)[1]
    normal = (labels.sum(axis=1) == 0).mean()
    assert 0.22 < normal < 0.38
    assert (labels.sum(axis=1) >= 2).mean() > 0.1  # multi-label
    prevalence = labels.mean(axis=0)
    assert prevalence.min() > 0.02 and prevalence.max() < 0.3


ANATOMY_CHANGING = ("Cardiomegaly", "Emphysema", "Atelectasis")


@pytest.mark.parametrize("label", [label for label in LABELS if label not in ANATOMY_CHANGING])
def test_mask_aligns_with_drawn_finding(label):
    """The same patient with and without the finding: the change is where the mask is."""
    index = LABELS.index(label)
    inside_shares = []
    for patient in range(6):
        with_finding, labels, masks = phantoms.render(21, patient, findings=[label])
        without, _, _ = phantoms.render(21, patient, findings=[])
        assert labels[index] == 1 and labels.sum() == 1
        mask = masks[index]
        assert mask.any()
        change = np.abs(with_finding.astype(float) - without.astype(float))
        near_mask = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        inside_shares.append(change[near_mask].sum() / change.sum())
    assert np.median(inside_shares) > 0.8, inside_shares


@pytest.mark.parametrize(("label", "direction"), [("Emphysema", -1), ("Atelectasis", +1)])
def test_anatomy_changing_findings_change_their_mask(label, direction):
    """Hyperlucent lungs get darker; an atelectatic opacity gets brighter, inside the mask."""
    index = LABELS.index(label)
    for patient in range(6):
        with_finding, _, masks = phantoms.render(21, patient, findings=[label])
        without, _, _ = phantoms.render(21, patient, findings=[])
        mask = masks[index]
        change = with_finding[mask].astype(float).mean() - without[mask].astype(float).mean()
        assert direction * change > 8, (patient, change)


def test_cardiomegaly_means_cardiothoracic_ratio_above_half():
    for patient in range(20):
        rng = np.random.default_rng(patient)
        enlarged = sample_anatomy(rng, ["Cardiomegaly"])
        normal = sample_anatomy(np.random.default_rng(patient), [])
        assert enlarged.cardiothoracic_ratio() > 0.5 > normal.cardiothoracic_ratio()


def test_mass_and_nodule_sizes_follow_the_3cm_rule():
    for patient in range(15):
        for label, low, high in (("Mass", 30, 60), ("Nodule", 8, 30)):
            mask = phantoms.render(4, patient, findings=[label])[2][LABELS.index(label)]
            diameter_mm = 2 * np.sqrt(mask.sum() / np.pi) * phantoms.MM_PER_PIXEL
            assert low <= diameter_mm <= high, (label, patient, diameter_mm)


def test_unknown_finding_lists_labels():
    with pytest.raises(ValueError, match="Valid labels"):
        phantoms.render(0, 0, findings=["Fracture"])


def test_every_label_has_exactly_one_renderer():
    assert list(RENDERERS) == list(LABELS)
    assert all(callable(draw) for draw in RENDERERS.values())
    assert len(set(RENDERERS.values())) == len(LABELS)  # no label drawn as another


@pytest.mark.parametrize("call", [phantoms.generate, phantoms.render])
def test_a_negative_seed_is_named(call):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer.*got -1"):
        call(2, seed=-1) if call is phantoms.generate else call(-1, 0)
