"""Deletion/insertion curves and the randomisation check: right maps score well, wrong ones
and maps that ignore the model score badly."""

import numpy as np
import pytest

from medinterp.faithfulness import deletion_insertion, randomisation_check


@pytest.fixture
def bright_quadrant():
    image = np.zeros((16, 16, 3), np.float32)
    image[:8, :8] = 4.0  # the quadrant the model reads is bright
    return image


def test_the_right_map_deletes_fast_and_inserts_fast(quadrant_model, bright_quadrant):
    right = np.zeros((16, 16))
    right[:8, :8] = 1.0
    wrong = 1.0 - right  # everything but what the model reads
    maps = np.stack([right, wrong])
    curves = deletion_insertion(quadrant_model, bright_quadrant, 0, maps, fill="mean")
    assert curves.fractions[0] == 0 and curves.fractions[-1] == 1
    assert curves.deletion.shape == (2, 17) and curves.deletion_auc.shape == (2,)
    assert curves.deletion_auc[0] < curves.deletion_auc[1] - 0.02
    assert curves.insertion_auc[0] > curves.insertion_auc[1] + 0.02
    # Both curves end where every pixel is removed or inserted, whatever the map.
    np.testing.assert_allclose(curves.deletion[:, -1], curves.insertion[:, 0], atol=1e-6)


def test_deletion_rejects_mismatched_maps(quadrant_model, bright_quadrant):
    with pytest.raises(ValueError, match="saliency"):
        deletion_insertion(quadrant_model, bright_quadrant, 0, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="Valid fills"):
        deletion_insertion(quadrant_model, bright_quadrant, 0, np.zeros((16, 16)), fill="noise")
    with pytest.raises(ValueError, match="n_steps"):
        deletion_insertion(quadrant_model, bright_quadrant, 0, np.zeros((16, 16)), n_steps=0)


@pytest.mark.slow
def test_gradcam_passes_randomisation_and_edges_fail():
    from medinterp import phantoms
    from medinterp.xray import load_xray_model, preprocess

    images, _, _ = phantoms.generate(2, seed=11)
    table = randomisation_check(load_xray_model(), preprocess(images), [0, 6],
                                ["gradcam", "edges"])  # fmt: skip
    assert table.loc["gradcam", "passed"] and table.loc["gradcam", "spearman"] < 0.5
    assert not table.loc["edges", "passed"]
    assert table.loc["edges", "spearman"] == pytest.approx(1.0)
    assert table.loc["edges", "ssim"] == pytest.approx(1.0)
